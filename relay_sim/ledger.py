"""A relay ledger whose report seq never goes back, not even after the simulator is killed.

PROTOCOL.md: a device's ``seq`` only grows, and the hub drops every report at
or below the highest seq it stored as a repeat. So a restarted simulator must
continue above every seq it may have used before, even one it used just before
a SIGKILL.

Writing the state file before every report would cost a durable write per
report. Instead the ledger reserves a block of seqs ahead, durably, and hands
out seqs from it; only the seq that crosses into a new block waits for a
write. After a SIGKILL the next run starts above the whole reserved block: it
skips the unused rest (the hub accepts gaps; it only needs growth) and never
reuses one. A clean stop records the exact last seq instead, so no gap appears.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from protocol.relay_session import RelayLedger

SEQ_BLOCK: Final = 1000  # one state-file write per this many reports


class ReservingLedger(RelayLedger):
    """A ``RelayLedger`` that continues after ``last_seq`` and calls ``reserve(n)`` before
    using any seq above ``reserved``; ``reserve`` must return only once ``n`` is durable.

    ``reserved`` defaults to ``last_seq``: nothing reserved yet. A caller that
    has already made a block durable (the fleet does so for all its devices in
    one write at start) passes its end.
    """

    def __init__(
        self,
        last_seq: int,
        reserve: Callable[[int], None],
        block: int = SEQ_BLOCK,
        *,
        reserved: int | None = None,
    ) -> None:
        super().__init__(last_seq=last_seq)
        self.reserved = last_seq if reserved is None else max(reserved, last_seq)
        self._reserve = reserve
        self._block = block

    def next_seq(self) -> int:
        if self.last_seq >= self.reserved:
            # Durable first: a seq handed out before its reservation is written
            # could be handed out again after a crash.
            self._reserve(self.last_seq + self._block)
            self.reserved = self.last_seq + self._block
        return super().next_seq()
