"""The messaging engine: the one place where messages move between the queue,
relays and storage, and the facade the API and the relay endpoint talk to.

Every change follows the same order: decide with ``protocol.lifecycle``
(``moves``), apply the decision to the in-memory ``LiveMessage``, write it
through the group-commit store (``live``), and only after the commit let
anything out: the 202 to the client, the ``send`` frame to a relay, the
``receipt`` for a report. A crash at any point therefore loses nothing that
was acknowledged, and ``recover()`` rebuilds the in-memory state from storage
on start (``recovery``, which also handles a failed write).

Live messages (queued, dispatched, accepted) are decided on synchronously, on
the event loop, so one job has one holder at a time. Other messages are read
from storage when a late report names them.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from hub.clock import Clock, rfc3339
from hub.cluster.coordination import Coordination
from hub.config import Config
from hub.errors import PartlyStored
from hub.events.presence import Presence
from hub.limits.inbound import InboundGate
from hub.messaging.answers import RelayAnswers
from hub.messaging.background import Background
from hub.messaging.dispatcher import Dispatcher, Waiting
from hub.messaging.live import LiveMessages
from hub.messaging.message import LiveMessage, insert_statements, save_statements, statements_of
from hub.messaging.moves import Moves
from hub.messaging.node_control import NodeControl
from hub.messaging.recovery import Recovery
from hub.messaging.rounds import DispatchRounds
from hub.messaging.shared_queue import SharedQueue
from hub.messaging.sweeper import Sweeper
from hub.relay.connection import RelayConnection
from hub.relay.devices import DeviceDirectory
from hub.relay.handshake import Handshake
from hub.relay.registry import RelayRegistry, SocketFacts
from hub.store.interface import NodeFenced, Statement, StorageUnavailable, Store
from protocol import frames as f
from protocol.close_codes import CloseCode
from protocol.lifecycle import Event, State

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class LiveCounts:
    """An account's live messages by state, and when the oldest queued one was queued."""

    queued: int
    dispatched: int
    accepted: int
    oldest_queued_at: datetime | None


class Messaging:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        config: Config,
        devices: DeviceDirectory,
        presence: Presence,
        on_events: Callable[[set[str]], None],
        unseal: Callable[[bytes], str],
        coordination: Coordination,
    ) -> None:
        relay = config.relay
        self._clock = clock
        self._relay = relay
        self._background = Background()
        self._dispatcher = Dispatcher(relay.max_inflight)
        self._moves = Moves(clock, self._dispatcher, config.sms.max_attempts)
        self._relays = RelayRegistry(clock, devices, presence)
        self._handshake = Handshake(clock, relay, devices, presence, self._relays)
        self._live = LiveMessages(
            store, self._write_failed, on_events, unseal, lambda: coordination.node_id
        )
        # Several nodes: queued messages a node cannot place wait in PostgreSQL.
        self._shared = SharedQueue(
            coordination, store, clock, relay.ack_timeout_s, config.cluster.poll_s,
            self._dispatcher, self._moves, self._live, lambda: self._rounds,
            self._resend_dispatched, self._fenced,
        )  # fmt: skip
        self._rounds = DispatchRounds(
            clock, relay.ack_timeout_s, self._dispatcher, self._moves, self._live,
            self._relays, self._background, self._shared,
        )  # fmt: skip
        self._inbound = InboundGate(
            clock, relay.inbound_per_minute, relay.inbound_burst,
            config.limits.max_stored_inbound,
        )  # fmt: skip
        self._recovery = Recovery(
            store, clock, relay.ack_timeout_s, self._dispatcher, self._moves, self._live,
            self._relays, self._inbound, self._background, self._rounds.run,
        )  # fmt: skip
        self._answers = RelayAnswers(
            clock, self._moves, self._live, self._rounds, self._relays, self._inbound
        )
        self._control = NodeControl(  # what other nodes tell this one (a cluster node)
            coordination, store, clock, relay.ack_timeout_s, devices, self._relays,
            self._dispatcher, self._moves, self._live, self._background, self._rounds,
        )  # fmt: skip
        self.cancels = self._control.cancels  # POST /v1/messages/{id}/cancel
        self._sweeper = Sweeper(
            clock, relay.heartbeat_s, self._dispatcher, self._moves, self._live,
            self._relays, self._rounds,
        )  # fmt: skip
        self._server_stopping = False  # the server is closing every socket (1012) to stop

    # --- start and stop ----------------------------------------------------

    async def recover(self) -> int:
        """Load every message still moving; returns how many."""
        return await self._recovery.load()

    async def join_cluster(self) -> None:
        """On a cluster node: take the node's lease and listen to other nodes."""
        await self._shared.join(self._control.told)

    async def ready(self) -> None:
        """Return once no rebuild is under way (at once, normally)."""
        await self._recovery.ready()

    def server_stopping(self) -> None:
        """The server is about to close every socket with 1012 to stop: the jobs
        of those relays stay dispatched and get their grace after the restart."""
        self._server_stopping = True

    async def close(self) -> None:
        """Close every relay socket (1001) and stop the background tasks."""
        self._relays.close_registered(CloseCode.GOING_AWAY, "the hub is shutting down")
        await self._background.close()
        await self._shared.leave()

    async def background_settled(self) -> None:
        """Wait for the background work running now (a wake-up, a re-read, a rebuild)."""
        await self._background.settled()

    def run_due_rounds_now(self) -> None:
        """Run now the dispatch rounds due at the end of this turn (a test settles at once)."""
        self._rounds.run_due_now()

    # --- questions (for the API) -----------------------------------------------

    @property
    def rebuilding(self) -> bool:
        """Storage failed a write: memory is being reloaded; writes and relays wait."""
        return self._recovery.rebuilding

    def is_online(self, device_id: str) -> bool:
        """The device has a registered socket that is not closing."""
        return self._relays.is_online(device_id)

    def socket_facts(self, device_id: str) -> SocketFacts | None:
        """What the device's registered socket says of it (None without one)."""
        return self._relays.facts(device_id)

    def online_relays(self, account_id: str) -> int:
        """Relays of the account that said hello and are still connected."""
        return self._dispatcher.online_count(account_id)

    def in_flight(self, device_id: str) -> int:
        """Jobs the device holds (dispatched or accepted, not yet reported)."""
        return len(self._dispatcher.held_by(device_id))

    def queued_count(self, account_id: str) -> int:
        """Messages of the account waiting in the queue now."""
        return self._moves.queued_count(account_id)

    def live_counts(self, account_id: str) -> LiveCounts:
        live = [m for m in self._live.messages() if m.account_id == account_id]
        queued = [m for m in live if m.state is State.QUEUED]
        return LiveCounts(
            queued=len(queued),
            dispatched=sum(m.state is State.DISPATCHED for m in live),
            accepted=sum(m.state is State.ACCEPTED for m in live),
            oldest_queued_at=min((m.queued_at for m in queued), default=None),
        )

    def live_message(self, message_id: str) -> LiveMessage | None:
        """The in-memory copy of a message still moving."""
        return self._live.get(message_id)

    def waiting(self, message_id: str) -> tuple[Waiting, datetime | None] | None:
        """Why a queued message is not with a relay yet, and until when if that is
        known; None when it is not queued (or about to go)."""
        message = self._live.get(message_id)
        if message is None or message.state is not State.QUEUED:
            return None
        wait = self._dispatcher.waiting(message, self._clock.monotonic())
        if wait is None:
            return None
        after = wait.after_s
        return wait, None if after is None else self._clock.now() + timedelta(seconds=after)

    # --- sends ---------------------------------------------------------------

    async def submit(self, message: LiveMessage, also: list[Statement] | None = None) -> None:
        """Queue a new message; returns once it is durable (and maybe dispatched).

        The new message is queued and a dispatch round run for its account
        before the insert is written, so when a relay has room the insert already
        says ``dispatched`` and one commit serves both; other messages the round
        placed share that write.

        ``also`` joins the same transaction (the Idempotency-Key's answer).
        Raises ``StorageUnavailable`` if it could not be stored; then the hub
        halts and rebuilds from storage, so nothing about it reaches a relay.
        """
        await self.submit_many([message], also)

    async def submit_many(
        self,
        messages: list[LiveMessage],
        also: list[Statement] | None = None,
        chunk: int = 500,
        stop: Callable[[], bool] = lambda: False,
    ) -> int:
        """Queue new messages of one account, ``chunk`` to a transaction (``also``
        joins the first); returns how many are durable: all, unless ``stop()``
        turned true between chunks.

        Each chunk is committed before the next is queued, so a long list lets
        other writes (an OTP) through between chunks, and relays start on the
        first chunk while the rest is written. A failure of the first chunk
        raises ``StorageUnavailable`` (nothing stored); of a later one,
        ``PartlyStored`` with how many are stored and moving.
        """
        for start in range(0, len(messages), chunk):
            if start and stop():
                return start
            if self.rebuilding:  # checked for each chunk: a reload may start between them
                raise StorageUnavailable(
                    "the hub is reloading its state from storage", self._recovery.failure_cause
                )
            part = messages[start : start + chunk]
            now = self._clock.now()
            for message in part:
                self._live.add(message)
                self._moves.queue_new(message, now)
            placed = self._rounds.place(part[0].account_id)
            withdrawn = self._shared.withdraw(part[0].account_id)  # a cluster node
            # One that cannot go yet (a phone at its rate) must not wait for an
            # unrelated event to be placed: wake when room frees, as a round does.
            self._rounds.wake_when_room_frees(part[0].account_id)
            new = {m.id for m in part}
            others = [m for m in placed if m.id not in new]
            statements: list[Statement] = []
            for message in part:
                statements += insert_statements(message)
            if start == 0:
                statements += also or []
            statements += self._shared.keep([m for m in part if self._live.holds(m)])
            for other in others:
                statements += save_statements(other)
            statements += withdrawn
            future = self._live.write([*part, *others], statements)
            future.add_done_callback(functools.partial(self._rounds.release_jobs, placed))
            try:
                await future
            except StorageUnavailable:
                if start:
                    raise PartlyStored(start) from None
                raise
        return len(messages)

    def cancel_queued(self, message_ids: Iterable[str], cause: str) -> list[str]:
        """Cancel those of these messages no relay has been handed yet; their ids.

        Used when a message became pointless before it went out (a superseded
        OTP, a cancelled list send); it ends with a ``message.cancelled`` event.
        """
        cancelled = [
            message
            for message in (self._live.get(mid) for mid in message_ids)
            if message is not None
            and message.state is State.QUEUED
            and self._moves.local(message, Event.CANCEL, cause, None)
        ]
        if cancelled:
            self._live.write(cancelled, statements_of(cancelled))
            for message in cancelled:
                self._live.forget_if_done(message)
        return [m.id for m in cancelled]

    async def cancel_shared(self, message_ids: list[str], cause: str) -> list[str]:
        """``cancel_queued`` for messages in the cluster's shared queue (no node
        holds them); nothing on one node."""
        return await self._control.cancel_shared(message_ids, cause, self.cancel_queued)

    async def expire_shared(self) -> None:
        """Expire what waits past its ``expires_at`` in the cluster's shared queue:
        taken, then expired in the same turn of the loop (no round sees it)."""
        if await self._control.take_expired(rfc3339(self._clock.now())):
            self.sweep()

    # --- relay sockets and their frames ------------------------------------------

    def on_open(self, conn: RelayConnection) -> None:
        """A socket was accepted; it has ``heartbeat_s`` to say hello."""
        self._relays.opened(conn)
        if self.rebuilding:
            conn.close(CloseCode.TRY_AGAIN, "the hub is reloading its state; reconnect shortly")

    def awaits_hello(self, conn: RelayConnection) -> bool:
        """The socket was accepted and has not said hello yet."""
        return self._relays.awaits_hello(conn)

    def on_hello(self, conn: RelayConnection, hello: f.Hello) -> None:
        self._relays.said_hello(conn)
        if self.rebuilding:
            return  # on_open closed it already
        if not self._handshake.greet(conn, hello):
            return
        device_id = conn.device_id
        sims = frozenset(sim.slot for sim in hello.sims)
        self._dispatcher.device_online(
            conn.account_id, device_id, sims, hello.limits.parts_per_minute
        )
        self._resend_dispatched(device_id)
        self.cancels.remind(conn, self._held(device_id, State.ACCEPTED))  # cancels asked
        # Coalesced: in a reconnect storm hundreds of hellos arrive per turn of the
        # loop, and each round looks at every online relay of the account.
        self._rounds.soon(conn.account_id)
        self._shared.relay_online(  # a cluster node
            conn.account_id, device_id, lambda epoch: self._control.fence.written(conn, epoch)
        )

    def _resend_dispatched(self, device_id: str) -> None:
        """Re-send every job still dispatched to this device (same attempt), if its
        socket is here. One whose dispatch is not committed yet goes out when its
        write lands."""
        conn = self._relays.get(device_id)
        if conn is None or not self._shared.may_dispatch():
            return
        deadline = self._clock.monotonic() + self._relay.ack_timeout_s
        for message in self._held(device_id, State.DISPATCHED):
            if message.writes_in_flight == 0:
                message.ack_deadline = deadline
                message.socket_lost = False
                conn.send_job(message.send_frame())

    def _fenced(self) -> None:
        """This cluster node was reaped: another node may own any message it
        holds. Halt (sockets closed, writes refused) and forget them now; the
        rebuild reloads what the node owns once it has joined again."""
        self._recovery.write_failed(NodeFenced("this node was reaped by another"), [])
        self._live.clear()
        self._moves.clear()
        self._dispatcher.reset()

    def on_heartbeat(self, conn: RelayConnection, heartbeat: f.Heartbeat) -> None:
        self._relays.heartbeat(conn, heartbeat)

    async def on_ack(self, conn: RelayConnection, frame: f.Accepted | f.Rejected) -> None:
        if await self._control.answered_elsewhere(conn, frame):  # a cluster node
            return
        await self._answers.on_ack(conn, frame)

    async def on_report(self, conn: RelayConnection, report: f.Report) -> None:
        await self._answers.on_report(conn, report)

    def disconnect(self, device_id: str, code: int, reason: str) -> None:
        """Close the device's sockets (disabled or revoked); its unaccepted jobs requeue."""
        self._relays.disconnect(device_id, code, reason)

    def on_disconnect(self, conn: RelayConnection, code: int | None) -> None:
        """The socket is gone: jobs it had not accepted go back to the queue.

        Only the device's registered socket counts: one that never said hello,
        or was replaced by a newer one, leaves the device's jobs alone. When
        the hub itself is stopping (uvicorn closes every socket with 1012) they
        stay dispatched and get an ack grace period after the restart.
        """
        moved_to = self._control.fence.ended(conn)  # replaced by a socket on another node
        if not self._relays.unregister(conn):
            return
        self._dispatcher.device_offline(conn.account_id, conn.device_id)
        self._shared.relay_offline(conn.device_id)  # a cluster node
        if moved_to is not None and not self.rebuilding:
            self._control.hand_over(conn, moved_to)  # as on one node: its jobs stay its own
            return
        if self._background.closing or (
            self._server_stopping and code == CloseCode.SERVICE_RESTART
        ):
            return  # after the restart, the device gets its grace again
        self._relays.went_away(conn)
        if self.rebuilding:
            return
        unanswered = self._held(conn.device_id, State.DISPATCHED)
        grace = self._relay.requeue_grace_s
        if grace > 0:
            # The relay may have accepted some of them in a frame lost with the
            # socket. Until the grace ends they wait for it to come back (its
            # welcome re-sends them, and it answers `accepted` again); then the
            # sweep puts them back in the queue.
            until = self._clock.monotonic() + grace
            for message in unanswered:
                message.socket_lost = True
                if message.ack_deadline is None or message.ack_deadline > until:
                    message.ack_deadline = until
            return
        requeued = [
            message
            for message in unanswered
            if self._moves.local(message, Event.DISCONNECT, "disconnect", conn.device_id)
        ]
        if requeued:
            self._live.write(requeued, statements_of(requeued))
            self._rounds.soon(conn.account_id)

    # --- timers --------------------------------------------------------------

    def sweep(self) -> None:
        """Ack timeouts, expiry of queued messages, and silent relays."""
        self._sweeper.sweep()

    # --- after a commit ----------------------------------------------------------

    def _write_failed(self, error: BaseException, messages: list[LiveMessage]) -> None:
        self._recovery.write_failed(error, messages)

    def _held(self, device_id: str, state: State) -> list[LiveMessage]:
        held = (self._live.get(mid) for mid in sorted(self._dispatcher.held_by(device_id)))
        return [m for m in held if m is not None and m.state is state and m.device_id == device_id]
