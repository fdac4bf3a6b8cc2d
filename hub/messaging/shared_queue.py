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
import concurrent.futures
import contextlib
import functools
import logging
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from hub.clock import Clock
from hub.cluster.coordination import Coordination, Heard, OnControl
from hub.messaging.dispatcher import Dispatcher
from hub.messaging.live import LiveMessages
from hub.messaging.message import PRIORITY, LiveMessage, statements_of
from hub.messaging.moves import Moves
from hub.store.interface import Row, Statement, StorageUnavailable, Store, Tx
from protocol.lifecycle import State

log = logging.getLogger(__name__)
T = TypeVar("T")
_ON_LOOP_TIMEOUT_S = 5.0  # the loop answers in microseconds unless it is stopping


class Rounds(Protocol):
    """What the shared queue needs of the engine's dispatch rounds."""

    def place(self, account_id: str) -> list[LiveMessage]: ...

    def release_jobs(self, messages: list[LiveMessage], future: asyncio.Future[Any]) -> None: ...


# The dispatcher's lanes in SQL: a claim takes an account's OTPs first.
_LANE = (
    "CASE kind "
    + " ".join(f"WHEN '{kind}' THEN {lane}" for kind, lane in PRIORITY.items())
    + f" ELSE {PRIORITY['sms']} END"
)
CLAIM = (
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
        rounds: Callable[[], Rounds],
        resend: Callable[[str], None] = lambda device_id: None,
        fenced: Callable[[], None] = lambda: None,
    ) -> None:
        self._coordination = coordination
        self._store = store
        self._clock = clock
        self._ack_timeout_s = ack_timeout_s
        self._poll_s = poll_s
        self._dispatcher = dispatcher
        self._moves = moves
        self._live = live
        self._rounds_of = rounds  # the engine's dispatch rounds (built after this)
        self._resend = resend  # re-send a device's dispatched jobs if its socket is here
        self._fenced = fenced  # this node was reaped: halt and drop memory
        self._hinted: set[str] = set()  # accounts whose shared messages may wait for us
        self._claiming: dict[str, bool] = {}  # account → offered again while its claim ran
        self._tasks: set[asyncio.Task[None]] = set()
        self._polling: asyncio.Task[None] | None = None

    @property
    def _rounds(self) -> Rounds:
        return self._rounds_of()

    @property
    def node(self) -> str | None:
        """This node's id; None on one node (then nothing here does anything)."""
        return self._coordination.node_id

    async def join(self, on_control: OnControl) -> None:
        """Take this node's lease and start listening (a cluster node only)."""
        if self.node is None:
            return
        await self._coordination.start(Heard(self.offered, on_control, self.adopted, self._fenced))
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
        """Claim and dispatch in one transaction: the op locks and takes the rows,
        asks the event loop to place them (the dispatcher lives there), and writes
        the dispatches before the one COMMIT; jobs go out after it."""
        loop = asyncio.get_running_loop()
        node = self.node
        taken: list[LiveMessage] = []
        committed: list[asyncio.Future[int]] = []

        def claim(tx: Tx) -> int:
            rows = tx.execute(CLAIM, (account_id, devices, room, node)).fetchall()
            if rows:
                place = functools.partial(self._place, account_id, rows, taken, committed[0])
                for sql, params in on_loop(loop, place):
                    tx.execute(sql, params)
            return len(rows)

        future = self._store.submit(claim)
        committed.append(future)
        # Registered before the dispatch write's own callbacks, so a claim that
        # rolled back is forgotten before anything re-reads it.
        future.add_done_callback(lambda fut: self._unclaim_if_failed(taken, fut))
        try:
            count = await future
        except Exception as exc:  # the poll, a hello or a notification asks again
            log.warning("claiming queued messages of %s failed: %s", account_id, exc)
            count = 0
        offered_again = self._claiming.pop(account_id, False)
        # Claimed ones this node could not place went straight back: asking again
        # now would take them again, so only a new offer (or the poll) does.
        gave_back = any(m.state is State.QUEUED for m in taken)
        if (count < room or gave_back) and not offered_again:
            self._hinted.discard(account_id)
        self.refill(account_id)

    def _place(
        self,
        account_id: str,
        rows: list[Row],
        taken: list[LiveMessage],
        future: asyncio.Future[int],
    ) -> list[Statement]:
        """On the event loop, inside the claim's transaction: the claimed rows join
        the queue, a round places what it can; the statements that say so."""
        deadline = self._clock.monotonic() + self._ack_timeout_s
        for message in sorted((self._live.from_row(row) for row in rows), key=_lane_order):
            self._live.add(message)
            self._moves.resume(message, deadline)
            taken.append(message)
        moved = self._rounds.place(account_id)
        statements = statements_of(moved)
        self._live.track(moved, statements, future)
        future.add_done_callback(functools.partial(self._rounds.release_jobs, moved))
        return statements + self.withdraw(account_id)

    def _unclaim_if_failed(self, taken: list[LiveMessage], future: asyncio.Future[int]) -> None:
        error = None if future.cancelled() else future.exception()
        if error is None or isinstance(error, StorageUnavailable):
            return  # committed; or storage failed, and the rebuild reloads only what is ours
        for message in taken:  # the claim rolled back: they were never ours
            self._moves.restore(message, None)
            self._live.remove(message)

    def may_dispatch(self) -> bool:
        """False on a cluster node whose lease may have run out (it may be reaped)."""
        return self._coordination.may_dispatch()

    # --- rescue: jobs of a reaped node

    def adopted(self, rows: list[Row], due: bool) -> None:
        """This node took over these jobs of a reaped node (``hub.cluster.reaper``):
        they join memory held by their phone. ``due``: the phone came back to no
        node within the grace, so they are timed out now and the sweep requeues
        them; otherwise the phone's socket is here and gets its dispatched jobs
        again with the same attempt (the phone dedupes)."""
        mono = self._clock.monotonic()
        deadline = mono if due else mono + self._ack_timeout_s
        phones: set[str] = set()
        for row in rows:
            if self._live.get(row["id"]) is not None:
                continue  # a report read it in meanwhile: memory's copy is the newer
            message = self._live.from_row(row)
            self._live.add(message)
            self._moves.resume(message, deadline)
            if due:
                message.socket_lost = True  # requeued as "disconnect", as on one node
            if message.device_id is not None:
                phones.add(message.device_id)
        for device_id in sorted(phones):
            self._resend(device_id)

    def relay_online(
        self, account_id: str, device_id: str, on_epoch: Callable[[int], None]
    ) -> None:
        """The device's socket said hello here: record the session (``on_epoch`` is
        told its epoch, 0 if the device was revoked), then claim for it."""
        written = self._coordination.relay_online(account_id, device_id)
        if written is None:
            return

        def recorded(fut: asyncio.Future[int]) -> None:
            if not fut.cancelled() and fut.exception() is None:
                on_epoch(fut.result())
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


def on_loop(loop: asyncio.AbstractEventLoop, work: Callable[[], T]) -> T:
    """Run ``work`` on the event loop from the PostgreSQL writer's thread and wait
    for its result (the claim's op; never called on the loop itself)."""
    done: concurrent.futures.Future[T] = concurrent.futures.Future()

    def run() -> None:
        try:
            done.set_result(work())
        except BaseException as exc:
            done.set_exception(exc)

    loop.call_soon_threadsafe(run)
    return done.result(timeout=_ON_LOOP_TIMEOUT_S)


def _lane_order(message: LiveMessage) -> tuple[int, str]:
    return message.priority, message.id
