"""How many inbound SMS a relay may have stored: a rate per device, a total per account.

A phone's ``received`` reports are the one thing a relay writes to disk on its
own initiative, and the disk is shared by every account: a forging phone once
stored 3,000 of them in 0.38 s. ``InboundGate.admit`` is asked synchronously,
before the report's write is queued (and before anything awaits), so a flood
arriving in one turn of the event loop is counted frame by frame.

A report the gate refuses is still receipted: its seq is stored as the device's
``last_seq`` like any other, so the phone drops it from its outbox instead of
replaying it forever, but its text is not stored and no event is emitted.
The operator learns of it from one warning a minute per device and reason.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from typing import Final

from hub.clock import Clock
from hub.limits.token_bucket import TokenBucket
from hub.store.interface import Store

log = logging.getLogger(__name__)

WARN_EVERY_S: Final = 60.0


@dataclass(slots=True)
class _Dropped:
    warned_at: float
    since_warning: int = 0


class InboundGate:
    def __init__(self, clock: Clock, per_minute: int, burst: int, max_stored: int) -> None:
        self._clock = clock
        self._per_minute = per_minute
        self._burst = burst
        self._max_stored = max_stored
        self._buckets: dict[str, TokenBucket] = {}  # device → its bucket
        self._stored: Counter[str] = Counter()  # account → inbound SMS stored or being written
        self._dropped: dict[tuple[str, str], _Dropped] = {}  # (device, reason) → count

    async def load(self, store: Store) -> None:
        """Count what each account has stored (at start, and after a rebuild)."""
        rows = await store.fetchall(
            "SELECT account_id, COUNT(*) AS n FROM inbound_messages GROUP BY account_id"
        )
        self._stored = Counter({row["account_id"]: int(row["n"]) for row in rows})

    def stored(self, account_id: str) -> int:
        return self._stored[account_id]

    def admit(self, account_id: str, device_id: str) -> bool:
        """True: store this inbound SMS (it is counted now). False: receipt it, store nothing."""
        now = self._clock.monotonic()
        bucket = self._buckets.get(device_id)
        if bucket is None:
            bucket = TokenBucket.full(self._burst, self._per_minute / 60.0, now)
            self._buckets[device_id] = bucket
        if bucket.take(now):  # seconds until the next one: over the rate
            self._drop(device_id, "rate", now)
            return False
        if self._stored[account_id] >= self._max_stored:
            self._drop(device_id, "quota", now)
            return False
        self._stored[account_id] += 1
        return True

    def _drop(self, device_id: str, reason: str, now: float) -> None:
        key = (device_id, reason)
        dropped = self._dropped.get(key)
        if dropped is not None and now - dropped.warned_at < WARN_EVERY_S:
            dropped.since_warning += 1
            return
        earlier = dropped.since_warning if dropped is not None else 0
        self._dropped[key] = _Dropped(warned_at=now)
        more = f" ({earlier} more dropped since the last warning)" if earlier else ""
        if reason == "rate":
            log.warning(
                "relay %s reports inbound SMS faster than [relay] inbound_per_minute = %d"
                " (burst %d): the excess is receipted but not stored%s",
                device_id, self._per_minute, self._burst, more,
            )  # fmt: skip
        else:
            log.warning(
                "relay %s: its account keeps [limits] max_stored_inbound = %d inbound SMS;"
                " new ones are receipted but not stored%s",
                device_id, self._max_stored, more,
            )  # fmt: skip
