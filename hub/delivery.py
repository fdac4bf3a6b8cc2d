"""Delivery: the one place where messages move between the queue, relays and storage.

Every change follows the same order: decide with ``protocol.lifecycle``,
apply the decision to the in-memory ``LiveMessage``, write it through the
group-commit store, and only after the commit let anything out: the 202 to the
client, the ``send`` frame to a relay, the ``receipt`` for a report. A crash at
any point therefore loses nothing that was acknowledged, and ``recover()``
rebuilds the in-memory state from storage on start.

The in-memory book holds the messages still moving (queued, dispatched,
accepted); decisions are made on it, synchronously on the event loop, so no
two relays can ever be handed the same job. Other messages are read from
storage when a late report names them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Iterable
from typing import Any, Final

from hub.clock import Clock, rfc3339
from hub.config import Config
from hub.devices import DeviceDirectory
from hub.ids import new_id
from hub.message import (
    LiveMessage,
    Statement,
    insert_statements,
    run_statements,
    save_statements,
)
from hub.relay.connection import RelayConnection
from hub.relay.dispatcher import Dispatcher
from hub.store.sqlite import SqliteStore
from protocol import frames as f
from protocol.lifecycle import Decision, Event, State, decide
from protocol.session import CLOSE_GOING_AWAY, CLOSE_REPLACED

log = logging.getLogger(__name__)

LIVE: Final = frozenset({State.QUEUED, State.DISPATCHED, State.ACCEPTED})
HELD: Final = frozenset({State.DISPATCHED, State.ACCEPTED})


def _report_event(
    frame: f.Accepted | f.Rejected | f.MessageReport,
) -> tuple[Event, tuple[str, str] | None]:
    match frame:
        case f.Accepted():
            return Event.ACCEPTED, None
        case f.Rejected():
            event = Event.REJECTED_RETRYABLE if frame.retryable else Event.REJECTED
            return event, (frame.code, frame.message)
        case f.Sent():
            return Event.SENT, None
        case f.Delivered():
            return Event.DELIVERED, None
        case f.Failed():
            event = Event.FAILED_RETRYABLE if frame.retryable else Event.FAILED
            return event, (frame.code, frame.message)


class Delivery:
    def __init__(
        self, store: SqliteStore, clock: Clock, config: Config, devices: DeviceDirectory
    ) -> None:
        self._store = store
        self._clock = clock
        self._relay = config.relay
        self._max_attempts = config.sms.max_attempts
        self._devices = devices
        self.book: dict[str, LiveMessage] = {}
        self.dispatcher = Dispatcher(config.relay.max_inflight)
        self.connections: dict[str, RelayConnection] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._rate_wakeups: set[str] = set()
        self._committed_seq: dict[str, int] = {}
        self._closing = False

    # --- start and stop ----------------------------------------------------

    async def recover(self) -> int:
        """Load every message still moving; returns how many."""
        rows = await self._store.fetchall(
            "SELECT * FROM messages WHERE state IN ('queued', 'dispatched', 'accepted') ORDER BY id"
        )
        # A job dispatched before the restart gets a fresh ack deadline: its relay
        # may reconnect and take it (same attempt) before it goes back to the queue.
        deadline = self._clock.monotonic() + self._relay.ack_timeout_s
        for row in rows:
            message = LiveMessage.from_row(row)
            self.book[message.id] = message
            if message.state is State.QUEUED:
                self.dispatcher.enqueue(message)
            elif message.device_id is not None:
                self.dispatcher.hold(message, message.device_id)
                if message.state is State.DISPATCHED:
                    message.ack_deadline = deadline
        return len(rows)

    async def close(self) -> None:
        self._closing = True
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- sends ---------------------------------------------------------------

    async def submit(self, message: LiveMessage) -> None:
        """Queue a new message; returns once it is durable (and maybe dispatched).

        Raises ``StorageUnavailable`` if it could not be stored; then it is
        forgotten and nothing about it will ever reach a relay.
        """
        self.book[message.id] = message
        message.note_queued(self._clock.now())
        self.dispatcher.enqueue(message)
        planned = self._plan(message.account_id)
        others = [m for m in planned if m is not message]
        statements = insert_statements(message)
        for other in others:
            statements += save_statements(other)
        future = self._write([message, *others], statements)
        future.add_done_callback(lambda fut: self._release_jobs(planned, fut))
        try:
            await future
        except Exception:
            self.book.pop(message.id, None)
            self.dispatcher.release(message, message.device_id)
            message.state = State.FAILED  # so a queue still holding it drops it
            raise

    # --- frames from relays ------------------------------------------------

    def on_hello(self, conn: RelayConnection, hello: f.Hello) -> None:
        device_id = conn.device_id
        old = self.connections.get(device_id)
        if old is not None and old is not conn:
            old.replaced = True
            old.close(CLOSE_REPLACED, "replaced by a newer connection of this device")
        self.connections[device_id] = conn
        conn.hello = hello
        now = self._clock.now()
        conn.session.send_welcome(
            f.Welcome(
                device_id=device_id,
                session_id=new_id("ses", now),
                heartbeat_s=self._relay.heartbeat_s,
                ack_timeout_s=self._relay.ack_timeout_s,
                max_inflight=self._relay.max_inflight,
                server_time=now,
            )
        )
        conn.flush()
        sims = frozenset(sim.slot for sim in hello.sims)
        self.dispatcher.device_online(
            conn.account_id, device_id, sims, hello.limits.parts_per_minute
        )
        self._devices.record_hello(device_id, hello)
        # Re-send every job still dispatched to this device (same attempt). One
        # whose dispatch is not committed yet goes out when its write lands.
        deadline = self._clock.monotonic() + self._relay.ack_timeout_s
        for message_id in sorted(self.dispatcher.held_by(device_id)):
            message = self.book.get(message_id)
            if (
                message is not None
                and message.state is State.DISPATCHED
                and message.device_id == device_id
                and message.writes_in_flight == 0
            ):
                message.ack_deadline = deadline
                conn.send_job(message.send_frame())
        self.pump(conn.account_id)

    async def on_ack(self, conn: RelayConnection, frame: f.Accepted | f.Rejected) -> None:
        message = await self._find(conn.account_id, frame.id)
        if message is None:
            log.info("relay %s answered for unknown message %s", conn.device_id, frame.id)
            return
        if self._apply(conn, message, frame):
            self._write([message], save_statements(message))
            self.pump(conn.account_id)
        self._forget_if_done(message)

    async def on_report(self, conn: RelayConnection, report: f.Report) -> None:
        """Apply a report; its receipt goes out once it is committed."""
        seq = report.seq
        statements: list[Statement] = [
            ("UPDATE devices SET last_seq = ? WHERE id = ? AND last_seq < ?",
             (seq, conn.device_id, seq)),
        ]  # fmt: skip
        changed: list[LiveMessage] = []
        message = None
        if isinstance(report, f.Received):
            statements.append(self._inbound_statement(conn, report))
        else:
            message = await self._find(conn.account_id, report.id)
            if message is None:
                log.info("relay %s reported unknown message %s", conn.device_id, report.id)
            elif self._apply(conn, message, report):
                changed.append(message)
                statements += save_statements(message)
        future = self._write(changed, statements)
        future.add_done_callback(lambda fut: self._receipt(conn, seq, fut))
        if changed:
            self.pump(conn.account_id)
        if message is not None:
            self._forget_if_done(message)

    def on_heartbeat(self, conn: RelayConnection, heartbeat: f.Heartbeat) -> None:
        conn.heartbeat = heartbeat
        conn.heartbeat_at = self._clock.now()
        self._devices.record_heartbeat(conn.device_id, heartbeat)

    def on_disconnect(self, conn: RelayConnection) -> None:
        """The socket is gone: jobs it had not accepted go back to the queue."""
        if self.connections.get(conn.device_id) is conn:
            del self.connections[conn.device_id]
            self.dispatcher.device_offline(conn.account_id, conn.device_id)
        if conn.replaced or self._closing:
            # A newer socket re-sends them after its welcome; at shutdown they
            # stay dispatched and get an ack grace period after the restart.
            return
        requeued = [
            message
            for message in self._held(conn.device_id, State.DISPATCHED)
            if self._move(message, Event.DISCONNECT, "disconnect", conn.device_id)
        ]
        if requeued:
            self._write(requeued, _statements_of(requeued))
        self.pump(conn.account_id)

    # --- timers --------------------------------------------------------------

    def sweep(self) -> None:
        """Ack timeouts, expiry of queued messages, and silent relays."""
        mono, wall = self._clock.monotonic(), self._clock.now()
        changed = [
            message
            for message in self._timed_out(mono)
            if self._move(message, Event.ACK_TIMEOUT, "ack_timeout", message.device_id)
        ]
        expired = [
            message
            for message in self.dispatcher.due_to_expire(wall)
            if self._move(message, Event.EXPIRE, "expired", None)
        ]
        changed += expired
        if changed:
            self._write(changed, _statements_of(changed))
        if expired:
            self.dispatcher.drop_finished()
        self.dispatcher.compact(len(self.book))
        silent_after = 2 * self._relay.heartbeat_s
        for conn in list(self.connections.values()):
            if mono - conn.last_frame_at > silent_after:
                conn.close(CLOSE_GOING_AWAY, f"no frame for {silent_after} s")
        for account_id in {m.account_id for m in changed}:
            self.pump(account_id)
        for message in changed:
            self._forget_if_done(message)

    def _timed_out(self, mono: float) -> list[LiveMessage]:
        """Dispatched messages whose relay did not answer in time (and are stored)."""
        timed_out = []
        for message_id in list(self.dispatcher.held_ids()):
            message = self.book.get(message_id)
            if (
                message is not None
                and message.state is State.DISPATCHED
                and message.ack_deadline is not None
                and message.ack_deadline <= mono
                and message.writes_in_flight == 0
            ):
                timed_out.append(message)
        return timed_out

    # --- dispatching -----------------------------------------------------------

    def pump(self, account_id: str) -> None:
        """Hand every queued message that can go now to a relay."""
        planned = self._plan(account_id)
        if planned:
            future = self._write(planned, _statements_of(planned))
            future.add_done_callback(lambda fut: self._release_jobs(planned, fut))
        self._wake_when_rate_allows(account_id)

    def _plan(self, account_id: str) -> list[LiveMessage]:
        placed, expired = self.dispatcher.take(
            account_id, self._clock.monotonic(), self._clock.now()
        )
        moved = [m for m in expired if self._move(m, Event.EXPIRE, "expired", None)]
        deadline = self._clock.monotonic() + self._relay.ack_timeout_s
        for message, device_id in placed:
            decision = decide(message.state, message.device_id, Event.DISPATCH, device=device_id)
            message.attempts += 1
            self._enter(message, decision, "dispatch", device_id)
            message.ack_deadline = deadline
            moved.append(message)
        return moved

    def _release_jobs(self, messages: Iterable[LiveMessage], future: asyncio.Future[Any]) -> None:
        """After the dispatch is committed, write each job to its relay."""
        if future.cancelled() or future.exception() is not None:
            return
        for message in messages:
            if message.state is State.DISPATCHED and message.device_id is not None:
                conn = self.connections.get(message.device_id)
                if conn is not None:
                    conn.send_job(message.send_frame())

    def _wake_when_rate_allows(self, account_id: str) -> None:
        if (
            account_id in self._rate_wakeups
            or next(self.dispatcher.queued(account_id), None) is None
        ):
            return
        delay = self.dispatcher.next_room(account_id, self._clock.monotonic())
        if delay is None:
            return
        self._rate_wakeups.add(account_id)

        async def wake() -> None:
            await self._clock.sleep(delay + 0.01)
            self._rate_wakeups.discard(account_id)
            self.pump(account_id)

        self._spawn(wake())

    # --- applying decisions -------------------------------------------------

    def _apply(
        self,
        conn: RelayConnection,
        message: LiveMessage,
        frame: f.Accepted | f.Rejected | f.MessageReport,
    ) -> bool:
        event, error = _report_event(frame)
        decision = decide(
            message.state,
            message.device_id if message.state in HELD or message.state is State.SENT else None,
            event,
            device=conn.device_id,
            attempts_left=message.attempts < self._max_attempts,
        )
        if not decision.changed:
            log.debug(
                "%s from %s on %s ignored: %s", event, conn.device_id, message.id, decision.ignored
            )
            return False
        at = getattr(frame, "at", None)
        self._enter(message, decision, event.value, conn.device_id, at=at, error=error)
        if decision.cancel_device is not None:
            other = self.connections.get(decision.cancel_device)
            if other is not None:
                other.send_cancel(message.id)
        return True

    def _move(self, message: LiveMessage, event: Event, cause: str, device: str | None) -> bool:
        """Apply a local event; False if the message is no longer in a state for it."""
        if event is Event.EXPIRE and message.state is not State.QUEUED:
            return False
        if event in (Event.ACK_TIMEOUT, Event.DISCONNECT) and message.state is not State.DISPATCHED:
            return False
        decision = decide(
            message.state,
            message.device_id,
            event,
            attempts_left=message.attempts < self._max_attempts,
        )
        self._enter(message, decision, cause, device)
        return True

    def _enter(
        self,
        message: LiveMessage,
        decision: Decision,
        cause: str,
        device: str | None,
        **kwargs: Any,
    ) -> None:
        previous_holder = message.device_id if message.state in HELD else None
        message.enter(decision, cause, self._clock.now(), device=device, **kwargs)
        held_now = message.state in HELD
        if previous_holder is not None and (not held_now or message.device_id != previous_holder):
            self.dispatcher.release(message, previous_holder)
        if held_now and message.device_id is not None:
            self.dispatcher.hold(message, message.device_id)
        if message.state is not State.DISPATCHED:
            message.ack_deadline = None
        if message.state is State.QUEUED:
            self.dispatcher.enqueue(message, front=True)

    # --- storage -------------------------------------------------------------

    def _write(
        self, messages: list[LiveMessage], statements: list[Statement]
    ) -> asyncio.Future[Any]:
        for message in messages:
            message.writes_in_flight += 1
        future: asyncio.Future[Any] = self._store.submit(run_statements(statements))
        future.add_done_callback(lambda fut: self._written(messages, fut))
        return future

    def _written(self, messages: list[LiveMessage], future: asyncio.Future[Any]) -> None:
        if not future.cancelled() and future.exception() is not None:
            log.error("could not store %d message change(s): %s", len(messages), future.exception())
        for message in messages:
            message.writes_in_flight -= 1
            self._forget_if_done(message)

    def _forget_if_done(self, message: LiveMessage) -> None:
        if (
            message.state not in LIVE
            and message.writes_in_flight == 0
            and self.book.get(message.id) is message
        ):
            del self.book[message.id]

    def _receipt(self, conn: RelayConnection, seq: int, future: asyncio.Future[Any]) -> None:
        if future.cancelled() or future.exception() is not None:
            # Not stored: no receipt. The relay keeps the report and replays it.
            conn.close(1011, "storage unavailable")
            return
        if seq > self._committed_seq.get(conn.device_id, 0):
            self._committed_seq[conn.device_id] = seq
        conn.report_stored(seq)

    def committed_seq(self, device_id: str) -> int:
        """Highest report seq of the device stored by this process (0 if none)."""
        return self._committed_seq.get(device_id, 0)

    async def _find(self, account_id: str, message_id: str) -> LiveMessage | None:
        message = self.book.get(message_id)
        if message is None:
            row = await self._store.fetchone(
                "SELECT * FROM messages WHERE id = ? AND account_id = ?", (message_id, account_id)
            )
            if row is None:
                return None
            # Another report may have loaded it while we waited.
            message = self.book.setdefault(message_id, LiveMessage.from_row(row))
        return message if message.account_id == account_id else None

    def _held(self, device_id: str, state: State) -> list[LiveMessage]:
        held = (self.book.get(mid) for mid in sorted(self.dispatcher.held_by(device_id)))
        return [m for m in held if m is not None and m.state is state and m.device_id == device_id]

    def _inbound_statement(self, conn: RelayConnection, report: f.Received) -> Statement:
        return (
            "INSERT OR IGNORE INTO inbound_messages (id, account_id, device_id, seq, from_number,"
            " text, sim_slot, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (new_id("inb", self._clock.now()), conn.account_id, conn.device_id, report.seq,
             report.from_, report.text, report.sim_slot, rfc3339(report.at)),
        )  # fmt: skip


def _statements_of(messages: Iterable[LiveMessage]) -> list[Statement]:
    statements: list[Statement] = []
    for message in messages:
        statements += save_statements(message)
    return statements
