"""The shared queue: how a cluster node's engine gives up and takes queued messages.

On one node the engine owns every message, and this does nothing. In a cluster
(``hub.cluster``) a node keeps in memory only what it can place with its own
relays: a queued message it cannot place now is *withdrawn* to PostgreSQL
(``owner_node`` NULL), in the same transaction that wakes the nodes holding
that account's relays, and any node with room *claims* it: one statement locks
the oldest of the account's shared messages with ``FOR UPDATE SKIP LOCKED``
(two claimers never wait for each other) and sets ``owner_node`` only where it
is still NULL and the message still queued (a compare-and-set). A claimed
message is then dispatched like any other, through this node's dispatcher.

Invariant: a message in a node's memory has that node as ``owner_node`` in
storage (or a write saying so is in flight); a shared one is in no memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from hub.clock import Clock
from hub.cluster.coordination import Coordination
from hub.messaging.dispatcher import Dispatcher
from hub.messaging.live import LiveMessages
from hub.messaging.message import PRIORITY, LiveMessage
from hub.messaging.moves import Moves
from hub.store.interface import Row, Statement, StorageUnavailable, Store, Tx

log = logging.getLogger(__name__)

# The dispatcher's lanes in SQL: a claim takes an account's OTPs first.
_LANE = (
    "CASE kind "
    + " ".join(f"WHEN '{kind}' THEN {lane}" for kind, lane in PRIORITY.items())
    + f" ELSE {PRIORITY['sms']} END"
)
_CLAIM = (
    "WITH picked AS (SELECT id FROM messages"
    " WHERE account_id = ? AND state = 'queued' AND owner_node IS NULL"
    " AND (requested_device_id IS NULL OR requested_device_id = ANY(?))"
    f" ORDER BY {_LANE}, id LIMIT ? FOR UPDATE SKIP LOCKED)"
    " UPDATE messages m SET owner_node = ? FROM picked"
    " WHERE m.id = picked.id AND m.state = 'queued' AND m.owner_node IS NULL"
    " RETURNING m.*"
)


class SharedQueue:
    def __init__(
        self,
        coordination: Coordination,
        store: Store,
        clock: Clock,
        ack_timeout_s: float,
        poll_s: float,
        dispatcher: Dispatcher,
        moves: Moves,
        live: LiveMessages,
        run_round: Callable[[str], None],
    ) -> None:
        self._coordination = coordination
        self._store = store
        self._clock = clock
        self._ack_timeout_s = ack_timeout_s
        self._poll_s = poll_s
        self._dispatcher = dispatcher
        self._moves = moves
        self._live = live
        self._run_round = run_round
        self._hinted: set[str] = set()  # accounts whose shared messages may wait for us
        self._claiming: dict[str, bool] = {}  # account → offered again while its claim ran
        self._tasks: set[asyncio.Task[None]] = set()
        self._polling: asyncio.Task[None] | None = None

    @property
    def node(self) -> str | None:
        """This node's id; None on one node (then nothing here does anything)."""
        return self._coordination.node_id

    async def join(self) -> None:
        """Take this node's lease and start listening (a cluster node only)."""
        if self.node is None:
            return
        await self._coordination.start(self.offered)
        self._polling = asyncio.create_task(self._poll_forever(), name="shared-queue-poll")

    async def leave(self) -> None:
        if self._polling is not None:
            self._polling.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._polling
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._coordination.close()

    # --- giving up

    def keep(self, messages: list[LiveMessage]) -> list[Statement]:
        """Statements marking new messages this node holds as its own."""
        if self.node is None or not messages:
            return []
        ids = [m.id for m in messages]
        return [("UPDATE messages SET owner_node = ? WHERE id = ANY(?)", (self.node, ids))]

    def withdraw(self, account_id: str) -> list[Statement]:
        """Hand the account's queued messages this node could not place to the shared
        queue: they leave memory now; the statements say so and wake other nodes."""
        if self.node is None:
            return []
        left = self._dispatcher.withdraw_queued(account_id)
        if not left:
            return []
        for message in left:
            self._moves.withdrawn(message)
            self._live.remove(message)
        ids = [m.id for m in left]
        return [
            # A new message is inserted unowned: for it this changes nothing.
            (
                "UPDATE messages SET owner_node = NULL WHERE id = ANY(?) AND owner_node = ?",
                (ids, self.node),
            ),
            *self._coordination.wake_holders(account_id),
        ]

    # --- taking

    def offered(self, account_id: str | None) -> None:
        """The account's shared messages may wait for this node (None: any account's)."""
        if account_id is None:
            for account in self._dispatcher.online_accounts():
                self.offered(account)
            return
        if not self._dispatcher.online_count(account_id):
            return  # no relay of it here (any more)
        self._hinted.add(account_id)
        self.refill(account_id)

    def refill(self, account_id: str) -> None:
        """Claim what this node's relays of the account have room for, if any may wait."""
        if self.node is None or account_id not in self._hinted:
            return
        if account_id in self._claiming:
            self._claiming[account_id] = True  # claim again once this one is in
            return
        room = self._dispatcher.free_slots(account_id) - self._moves.queued_count(account_id)
        if room <= 0:
            return
        self._claiming[account_id] = False
        devices = self._dispatcher.online_devices(account_id)
        task = asyncio.create_task(self._claim(account_id, room, devices))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _claim(self, account_id: str, room: int, devices: list[str]) -> None:
        node = self.node

        def claim(tx: Tx) -> list[Row]:
            return tx.execute(_CLAIM, (account_id, devices, room, node)).fetchall()

        try:
            rows = await self._store.write(claim)
        except StorageUnavailable as exc:  # the poll asks again
            log.warning("claiming queued messages of %s failed: %s", account_id, exc)
            rows = []
        offered_again = self._claiming.pop(account_id, False)
        if len(rows) < room and not offered_again:
            self._hinted.discard(account_id)
        deadline = self._clock.monotonic() + self._ack_timeout_s
        claimed = sorted((self._live.from_row(row) for row in rows), key=_lane_order)
        for message in claimed:
            self._live.add(message)
            self._moves.resume(message, deadline)
        self._run_round(account_id)

    def relay_online(self, account_id: str, device_id: str) -> None:
        """The device's socket said hello here: record the session, then claim for it."""
        written = self._coordination.relay_online(account_id, device_id)
        if written is None:
            return

        def recorded(fut: asyncio.Future[int]) -> None:
            if not fut.cancelled() and fut.exception() is None:
                self.offered(account_id)

        written.add_done_callback(recorded)

    def relay_offline(self, device_id: str) -> None:
        self._coordination.relay_offline(device_id)

    async def _poll_forever(self) -> None:
        # Notifications are not stored: one sent while this node reconnected its
        # LISTEN, or racing a hello, is found here.
        while True:
            await self._clock.sleep(self._poll_s)
            self.offered(None)


def _lane_order(message: LiveMessage) -> tuple[int, str]:
    return message.priority, message.id
