"""Recovery: putting memory back in line with storage.

On start, and whenever storage failed a write (locked, full, broken) so that
memory may be ahead of it, the engine rebuilds its live messages from storage.
After such a failure it first halts: every relay socket is closed (1011) and
new ones are refused (1013) until storage takes a write again; then memory is
reloaded exactly as after a restart, and relays reconnect and replay what was
not receipted. A write that fails for its own data (the writer rolls back that
op alone) costs no more than itself: the messages it carried are re-read from
storage, nothing else stops.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from hub.clock import Clock
from hub.limits.inbound import InboundGate
from hub.messaging.background import Background
from hub.messaging.dispatcher import Dispatcher
from hub.messaging.live import LiveMessages
from hub.messaging.message import LiveMessage
from hub.messaging.moves import Moves
from hub.relay.registry import RelayRegistry
from hub.store.interface import StorageUnavailable, Store
from protocol.close_codes import CloseCode
from protocol.lifecycle import State

log = logging.getLogger(__name__)


class Recovery:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        ack_timeout_s: float,
        dispatcher: Dispatcher,
        moves: Moves,
        live: LiveMessages,
        relays: RelayRegistry,
        inbound: InboundGate,
        background: Background,
        run_round: Callable[[str], None],
    ) -> None:
        self._store = store
        self._clock = clock
        self._ack_timeout_s = ack_timeout_s
        self._dispatcher = dispatcher
        self._moves = moves
        self._live = live
        self._relays = relays
        self._inbound = inbound
        self._background = background
        self._run_round = run_round
        self.rebuilding = False  # halted after a failed write: memory is being reloaded
        self.failure_cause = "unavailable"  # what halted the hub (for 503s)
        self._rebuilt = asyncio.Event()
        self._rebuilt.set()

    async def load(self) -> int:
        """Load every message still moving; returns how many."""
        # A job dispatched before the restart gets a fresh ack deadline: its relay
        # may reconnect and take it (same attempt) before it goes back to the queue.
        deadline = self._clock.monotonic() + self._ack_timeout_s
        await self._inbound.load(self._store)  # after a rebuild: only what was committed
        count = 0
        for message in await self._live.load_live():
            count += 1
            self._moves.resume(message, deadline)
        return count

    async def ready(self) -> None:
        """Return once no rebuild is under way (at once, normally)."""
        await self._rebuilt.wait()

    def write_failed(self, error: BaseException, messages: list[LiveMessage]) -> None:
        if self._background.closing or self.rebuilding:
            return
        # The store tells a failure of storage itself as StorageUnavailable; any
        # other error is the op's own data.
        if isinstance(error, StorageUnavailable):
            log.error("a write failed (%r); reloading state from storage", str(error))
            self.failure_cause = error.cause
            self._halt()
            return
        # Only this write's op rolled back: only its messages may be ahead of storage.
        log.warning(
            "a write failed for its own data (%s: %r); re-reading %d message(s) from storage",
            type(error).__name__, str(error), len(messages),
        )  # fmt: skip
        for message in messages:
            message.writes_in_flight += 1  # kept among the live messages until read back
        self._background.spawn(self._reread(messages))

    async def _reread(self, messages: list[LiveMessage]) -> None:
        """Put storage's copy of each message in place of memory's, after a failed write."""
        try:
            await self._store.barrier()  # writes submitted before this one have ended
            rows = [await self._live.stored_row(m.id) for m in messages]
        except StorageUnavailable as exc:
            rows = []
            self.write_failed(exc, [])  # storage itself failed now: halt
        for index, message in enumerate(messages):
            message.writes_in_flight -= 1
            # A rebuild reloads every message; a write still in flight carries the
            # whole row, so storage catches up with memory without help.
            alone = message.writes_in_flight == 0 and self._live.holds(message)
            if rows and alone and not self.rebuilding:
                row = rows[index]
                self._moves.restore(message, None if row is None else self._live.from_row(row))
                if message.state is State.DISPATCHED:
                    message.ack_deadline = self._clock.monotonic() + self._ack_timeout_s
            self._live.forget_if_done(message)
        for account_id in {m.account_id for m in messages}:
            self._run_round(account_id)

    def _halt(self) -> None:
        """Memory may be ahead of storage: stop everything and rebuild from storage."""
        if self.rebuilding:
            return
        self.rebuilding = True
        self._relays.close_all(CloseCode.INTERNAL, "storage unavailable; reconnect shortly")
        self._rebuilt = asyncio.Event()
        self._background.spawn(self._rebuild())

    async def _rebuild(self) -> None:
        delay = 0.1
        while True:
            try:
                # A real write, not an empty barrier: that one commits even on a
                # full disk, and relays let back in would fail and halt again.
                await self._store.probe()
                self._live.clear()
                self._moves.clear()
                self._dispatcher.reset()
                resumed = await self.load()
                break
            except StorageUnavailable as exc:
                self.failure_cause = exc.cause
                log.warning("storage still unavailable (%s); retrying in %.1f s", exc, delay)
                await self._clock.sleep(delay)
                delay = min(delay * 2, 5.0)
        self.rebuilding = False
        self._rebuilt.set()
        log.warning("state reloaded from storage: %d unfinished message(s)", resumed)
