"""Delivery: the one place where messages move between the queue, relays and storage.

Every change follows the same order: decide with ``protocol.lifecycle``,
apply the decision to the in-memory ``LiveMessage``, write it through the
group-commit store, and only after the commit let anything out: the 202 to the
client, the ``send`` frame to a relay, the ``receipt`` for a report. A crash at
any point therefore loses nothing that was acknowledged, and ``recover()``
rebuilds the in-memory state from storage on start.

The in-memory book holds the messages still moving (queued, dispatched,
accepted); decisions are made on it, synchronously on the event loop, so one
job has one holder at a time. Other messages are read from storage when a late
report names them.

If storage fails a write (locked, full, broken), memory may be ahead of
storage. The hub then fences: it closes every relay socket, waits until
storage answers again, and rebuilds its memory from storage exactly as after a
restart (``_rebuild``); relays reconnect and replay what was not receipted.
A write that fails for its own data (the writer rolls back that op alone) costs
no more than itself: the messages it carried are read back from storage
(``_resync``), and a report's socket is closed unreceipted.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections import Counter
from collections.abc import Callable, Coroutine, Iterable
from datetime import datetime, timedelta
from typing import Any, Final

from hub.book import Book
from hub.clock import Clock, rfc3339
from hub.config import Config
from hub.devices import DeviceDirectory
from hub.events import event_statements
from hub.ids import new_id
from hub.inbound_limits import InboundGate
from hub.message import (
    LiveMessage,
    insert_statements,
    save_statements,
    statements_of,
)
from hub.presence import Presence
from hub.relay.connection import RelayConnection
from hub.relay.dispatcher import Dispatcher, Waiting
from hub.store.interface import Statement, StorageUnavailable, Store
from hub.store.writer import is_storage_fault, unavailable_of
from protocol import frames as f
from protocol.close_codes import CloseCode
from protocol.lifecycle import HELD, Decision, Event, State, decide, report_event

log = logging.getLogger(__name__)

# States that use one of the holder's max_inflight slots.
USES_SLOT: Final = frozenset({State.DISPATCHED, State.ACCEPTED})
RETRY_BACKOFF_MAX_S: Final = 60.0
RETRYABLE: Final = frozenset({Event.REJECTED_RETRYABLE, Event.FAILED_RETRYABLE})


class PartlyStored(StorageUnavailable):
    """A multi-chunk submit failed after ``stored`` messages were committed."""

    def __init__(self, stored: int) -> None:
        super().__init__(f"storage failed after {stored} messages were stored")
        self.stored = stored


class Delivery:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        config: Config,
        devices: DeviceDirectory,
        presence: Presence,
        on_events: Callable[[set[str]], None],
        unseal: Callable[[bytes], str],
    ) -> None:
        self._store = store
        self._clock = clock
        self._relay = config.relay
        self._max_attempts = config.sms.max_attempts
        self._devices = devices
        self._presence = presence
        self.book = Book(store, self._write_failed, on_events, unseal)
        self.dispatcher = Dispatcher(config.relay.max_inflight)
        self.connections: dict[str, RelayConnection] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._wakeups: set[str] = set()
        self._closing = False
        self.rebuilding = False  # fenced after a failed write: memory is being reloaded
        self._pumps_due: set[str] = set()  # accounts with a pump scheduled this turn
        self._fenced_by = "unavailable"  # the cause of the failure that fenced (for 503s)
        self.server_stopping = False  # the server is closing every socket (1012) to stop
        self._rebuilt = asyncio.Event()
        self._rebuilt.set()
        self._max_inflight = config.relay.max_inflight
        # Sockets that opened but have not said hello yet: closed if they never do.
        self.pending: dict[RelayConnection, float] = {}
        self._queued: Counter[str] = Counter()  # account → messages in state queued
        self.inbound = InboundGate(
            clock, config.relay.inbound_per_minute, config.relay.inbound_burst,
            config.limits.max_stored_inbound,
        )  # fmt: skip

    # --- start and stop ----------------------------------------------------

    async def recover(self) -> int:
        """Load every message still moving; returns how many."""
        # A job dispatched before the restart gets a fresh ack deadline: its relay
        # may reconnect and take it (same attempt) before it goes back to the queue.
        deadline = self._clock.monotonic() + self._relay.ack_timeout_s
        await self.inbound.load(self._store)  # after a rebuild: only what was committed
        count = 0
        for message in await self.book.load_live():
            count += 1
            if message.state is State.QUEUED:
                self._queued[message.account_id] += 1
                self.dispatcher.enqueue(message)
            elif message.device_id is not None:
                self.dispatcher.hold(message, message.device_id)
                if message.state is State.DISPATCHED:
                    message.ack_deadline = deadline
        return count

    def is_online(self, device_id: str) -> bool:
        """The device has a registered socket that is not closing."""
        conn = self.connections.get(device_id)
        return conn is not None and not conn.closing

    def waiting(self, message_id: str) -> tuple[Waiting, datetime | None] | None:
        """Why a queued message is not with a relay yet, and until when if that is
        known; None when it is not queued (or about to go)."""
        message = self.book.get(message_id)
        if message is None or message.state is not State.QUEUED:
            return None
        wait = self.dispatcher.waiting(message, self._clock.monotonic())
        if wait is None:
            return None
        after = wait.after_s
        return wait, None if after is None else self._clock.now() + timedelta(seconds=after)

    def queued_count(self, account_id: str) -> int:
        """Messages of the account waiting in the queue now."""
        return self._queued[account_id]

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

    async def submit(self, message: LiveMessage, also: list[Statement] | None = None) -> None:
        """Queue a new message; returns once it is durable (and maybe dispatched).

        The new message is queued and the account's queue pumped before the
        insert is written, so when a relay has room the insert already says
        ``dispatched`` and one commit serves both; other messages the pump
        placed share that write.

        ``also`` joins the same transaction (the Idempotency-Key's answer).
        Raises ``StorageUnavailable`` if it could not be stored; then the hub
        fences and rebuilds from storage, so nothing about it reaches a relay.
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
                    "the hub is reloading its state from storage", self._fenced_by
                )
            part = messages[start : start + chunk]
            now = self._clock.now()
            for message in part:
                self.book.add(message)
                self._queued[message.account_id] += 1
                message.note_queued(now)
                self.dispatcher.enqueue(message)
            planned = self._plan(part[0].account_id)
            # One that cannot go yet (a phone at its rate) must not wait for an
            # unrelated event to pump again: wake when room frees, as pump() does.
            self._wake_when_room_frees(part[0].account_id)
            new = {m.id for m in part}
            others = [m for m in planned if m.id not in new]
            statements: list[Statement] = []
            for message in part:
                statements += insert_statements(message)
            if start == 0:
                statements += also or []
            for other in others:
                statements += save_statements(other)
            future = self.book.write([*part, *others], statements)
            future.add_done_callback(functools.partial(self._release_jobs, planned))
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
        OTP). Its ``message.failed`` event says ``cancelled``.
        """
        cancelled = [
            message
            for message in (self.book.get(mid) for mid in message_ids)
            if message is not None
            and message.state is State.QUEUED
            and self._move(message, Event.CANCEL, cause, None)
        ]
        if cancelled:
            self.book.write(cancelled, statements_of(cancelled))
            for message in cancelled:
                self.book.forget_if_done(message)
        return [m.id for m in cancelled]

    # --- frames from relays ------------------------------------------------

    def on_open(self, conn: RelayConnection) -> None:
        """A socket was accepted; it has ``heartbeat_s`` to say hello."""
        self.pending[conn] = self._clock.monotonic()
        if self.rebuilding:
            conn.close(CloseCode.TRY_AGAIN, "the hub is reloading its state; reconnect shortly")

    def on_hello(self, conn: RelayConnection, hello: f.Hello) -> None:
        self.pending.pop(conn, None)
        if self.rebuilding:
            return  # on_open closed it already
        current = self._devices.get(conn.account_id, conn.device_id)
        if current is None or current.disabled:
            # Revoked or disabled while this socket was still shaking hands.
            conn.close(CloseCode.REVOKED, "the device was disabled or revoked")
            return
        device_id = conn.device_id
        old = self.connections.get(device_id)
        if old is not None and old is not conn:
            old.close(CloseCode.REPLACED, "replaced by a newer connection of this device")
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
        self._presence.connected(conn.account_id, device_id, current.name)
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
                message.socket_lost = False
                conn.send_job(message.send_frame())
        # Coalesced: in a reconnect storm hundreds of hellos arrive per turn of the
        # loop, and each pass looks at every online relay of the account.
        self._pump_soon(conn.account_id)

    async def on_ack(self, conn: RelayConnection, frame: f.Accepted | f.Rejected) -> None:
        message = await self.book.find(conn.account_id, frame.id)
        if message is None or not await self._was_given(message, conn.device_id):
            log.info("relay %s answered for unknown message %r", conn.device_id, frame.id)
            return
        if conn.closing and not isinstance(frame, f.Accepted):
            return  # a rejection is not replayed either: the job waits out its grace
        # An `accepted` counts even on a socket being closed: the phone holds the
        # job and will send it, so no other device may get it.
        decision = self._apply(conn, message, frame)
        if decision is not None:
            future = self.book.write([message], save_statements(message))
            self._cancel_after(future, decision, message)
            self._pump_soon(conn.account_id)
        self.book.forget_if_done(message)

    async def on_report(self, conn: RelayConnection, report: f.Report) -> None:
        """Apply a report; its receipt goes out once it is committed.

        Each report's write moves the device's stored ``last_seq`` from exactly
        the seq written before it on this socket, so if one write fails no later
        one commits past the gap (the relay replays them all after reconnecting).
        """
        message = None
        decision = None
        statements: list[Statement] = []
        if isinstance(report, f.Received):
            statements += self._inbound_statements(conn, report)
        else:
            message = await self.book.find(conn.account_id, report.id)
            if message is not None and not await self._was_given(message, conn.device_id):
                message = None  # as unknown: receipted, changes nothing, reveals nothing
            if message is None:
                log.info("relay %s reported unknown message %r", conn.device_id, report.id)
            elif not conn.closing:
                decision = self._apply(conn, message, report)
        if conn.closing:
            return  # no receipt: the relay replays it on its next socket
        if message is not None and decision is not None:
            statements += save_statements(message)
        previous, conn.chained_seq = conn.chained_seq, report.seq
        changed = [message] if message is not None and decision is not None else []
        future = self.book.write(changed, statements, chain=(conn.device_id, previous, report.seq))
        future.add_done_callback(lambda fut: self._receipt(conn, report.seq, fut))
        if message is not None and decision is not None:
            self._cancel_after(future, decision, message)
            self._pump_soon(conn.account_id)
        if message is not None:
            self.book.forget_if_done(message)

    async def _was_given(self, message: LiveMessage, device_id: str) -> bool:
        """True if the message was ever dispatched to this device.

        Only such a device may answer or report it: "a report implies accepted"
        (and the takeover it allows) must not let a phone claim a message it was
        never handed. The last holder is known in memory; an earlier one only
        from the message's history.
        """
        if message.device_id == device_id:
            return True
        row = await self._store.fetchone(
            "SELECT 1 FROM message_events WHERE message_id = ? AND state = ? AND device_id = ?"
            " LIMIT 1",
            (message.id, State.DISPATCHED.value, device_id),
        )
        return row is not None

    def disconnect(self, device_id: str, code: int, reason: str) -> None:
        """Close the device's sockets (disabled or revoked); its unaccepted jobs requeue."""
        for conn in [c for c in (self.connections.get(device_id), *self.pending) if c]:
            if conn.device_id == device_id:
                conn.close(code, reason)

    def on_heartbeat(self, conn: RelayConnection, heartbeat: f.Heartbeat) -> None:
        conn.heartbeat = heartbeat
        conn.heartbeat_at = self._clock.now()
        self._devices.record_heartbeat(conn.device_id, heartbeat)

    def on_disconnect(self, conn: RelayConnection, code: int | None) -> None:
        """The socket is gone: jobs it had not accepted go back to the queue.

        Only the device's registered socket counts: one that never said hello,
        or was replaced by a newer one, leaves the device's jobs alone. When
        the hub itself is stopping (uvicorn closes every socket with 1012) they
        stay dispatched and get an ack grace period after the restart.
        """
        self.pending.pop(conn, None)
        if self.connections.get(conn.device_id) is not conn:
            return
        del self.connections[conn.device_id]
        self.dispatcher.device_offline(conn.account_id, conn.device_id)
        if self._closing or (self.server_stopping and code == CloseCode.SERVICE_RESTART):
            return  # after the restart, the device gets its grace again
        device = self._devices.get(conn.account_id, conn.device_id)
        name = device.name if device is not None else None
        self._presence.disconnected(conn.account_id, conn.device_id, name)
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
            if self._move(message, Event.DISCONNECT, "disconnect", conn.device_id)
        ]
        if requeued:
            self.book.write(requeued, statements_of(requeued))
            self._pump_soon(conn.account_id)

    # --- timers --------------------------------------------------------------

    def sweep(self) -> None:
        """Ack timeouts, expiry of queued messages, and silent relays."""
        mono, wall = self._clock.monotonic(), self._clock.now()
        changed = [
            message
            for message in self._timed_out(mono)
            if self._move(
                message,
                *((Event.DISCONNECT, "disconnect") if message.socket_lost
                  else (Event.ACK_TIMEOUT, "ack_timeout")),
                message.device_id,
            )
        ]  # fmt: skip
        expired = [
            message
            for message in self.dispatcher.due_to_expire(wall)
            if self._move(message, Event.EXPIRE, "expired", None)
        ]
        changed += expired
        if changed:
            self.book.write(changed, statements_of(changed))
        if expired:
            self.dispatcher.drop_finished()
        self.dispatcher.compact(len(self.book))
        silent_after = 2 * self._relay.heartbeat_s
        for conn in list(self.connections.values()):
            if mono - conn.last_frame_at > silent_after:
                conn.close(CloseCode.GOING_AWAY, f"no frame for {silent_after} s")
        for conn, opened_at in list(self.pending.items()):
            if mono - opened_at > self._relay.heartbeat_s:
                conn.close(CloseCode.POLICY, "no hello")
                del self.pending[conn]
        for account_id in {m.account_id for m in changed}:
            self.pump(account_id)
        for message in changed:
            self.book.forget_if_done(message)

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

    def _pump_soon(self, account_id: str) -> None:
        """Pump once the frames ready now are handled: the answers and reports of
        many sockets read in one turn of the event loop share one pass over the
        queue, instead of one each (with 100 relays that pass was a fifth of the
        hub's time)."""
        if account_id in self._pumps_due:
            return
        self._pumps_due.add(account_id)
        asyncio.get_running_loop().call_soon(self._pump_due, account_id)

    def _pump_due(self, account_id: str) -> None:
        if account_id not in self._pumps_due:
            return  # run early by pump_due_now
        self._pumps_due.discard(account_id)
        if not self._closing:
            self.pump(account_id)

    def pump_due_now(self) -> None:
        """Run now the pumps due at the end of this turn (lets a test settle at once)."""
        for account_id in list(self._pumps_due):
            self._pump_due(account_id)

    def pump(self, account_id: str) -> None:
        """Hand every queued message that can go now to a relay."""
        planned = self._plan(account_id)
        if planned:
            future = self.book.write(planned, statements_of(planned))
            future.add_done_callback(lambda fut: self._release_jobs(planned, fut))
        self._wake_when_room_frees(account_id)

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
            message.socket_lost = False
            moved.append(message)
        return moved

    def _release_jobs(self, messages: Iterable[LiveMessage], future: asyncio.Future[Any]) -> None:
        """After the dispatch is committed, write each job to its relay."""
        if future.cancelled() or future.exception() is not None:
            return
        for message in messages:
            if (
                message.state is State.DISPATCHED
                and message.device_id is not None
                and self.book.holds(message)  # not a copy from before a rebuild
            ):
                conn = self.connections.get(message.device_id)
                if conn is not None:
                    conn.send_job(message.send_frame())

    def _wake_when_room_frees(self, account_id: str) -> None:
        """Pump again once a rate window or a retry delay lets a waiting message go."""
        if (
            account_id in self._wakeups
            or not self._queued[account_id]  # nothing waits: no need to walk the queues
            or next(self.dispatcher.queued(account_id), None) is None
        ):
            return
        delay = self.dispatcher.next_room(account_id, self._clock.monotonic())
        if delay is None:
            return
        self._wakeups.add(account_id)

        async def wake() -> None:
            await self._clock.sleep(delay + 0.01)
            self._wakeups.discard(account_id)
            self.pump(account_id)

        self._spawn(wake())

    # --- applying decisions -------------------------------------------------

    def _apply(
        self,
        conn: RelayConnection,
        message: LiveMessage,
        frame: f.Accepted | f.Rejected | f.MessageReport,
    ) -> Decision | None:
        """Apply a relay's answer or report; the decision, or None if it changed nothing."""
        event, error = report_event(frame)
        decision = decide(
            message.state,
            message.device_id if message.state in HELD else None,
            event,
            device=conn.device_id,
            attempts_left=message.attempts < self._max_attempts,
        )
        if not decision.changed:
            log.debug(
                "%s from %s on %s ignored: %s", event, conn.device_id, message.id, decision.ignored
            )
            return None
        at = getattr(frame, "at", None)
        self._enter(message, decision, event.value, conn.device_id, at=at, error=error)
        if message.state is State.QUEUED and event in RETRYABLE:
            # The phone said "not now": others may take it at once, this one later.
            backoff = min(2.0**message.attempts, RETRY_BACKOFF_MAX_S)
            message.not_before = self._clock.monotonic() + backoff
        return decision

    def _cancel_after(
        self, future: asyncio.Future[Any], decision: Decision, message: LiveMessage
    ) -> None:
        """Once a takeover is stored, tell the device it was dispatched to to cancel."""
        device = decision.cancel_device
        if device is None:
            return

        def cancel(fut: asyncio.Future[Any]) -> None:
            conn = self.connections.get(device)
            if conn is not None and not fut.cancelled() and fut.exception() is None:
                conn.send_cancel(message.id)

        future.add_done_callback(cancel)

    def _move(self, message: LiveMessage, event: Event, cause: str, device: str | None) -> bool:
        """Apply a local event; False if the message is no longer in a state for it.

        Timers and queues hold messages that may have moved on meanwhile (a late
        ``accepted`` beat the ack timeout), so the state is checked here rather
        than letting the lifecycle raise for a race that is not a bug.
        """
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
        previous_holder = message.device_id if message.state in USES_SLOT else None
        was_queued = message.state is State.QUEUED
        message.enter(decision, cause, self._clock.now(), device=device, **kwargs)
        if message.state is State.QUEUED:
            message.avoid_device, message.not_before = previous_holder, None
        self._rebook(message, previous_holder, was_queued)

    def _rebook(self, message: LiveMessage, previous_holder: str | None, was_queued: bool) -> None:
        """Bring the queue counts, holds and queues in line with the message's new state."""
        if was_queued != (message.state is State.QUEUED):
            self._queued[message.account_id] += -1 if was_queued else 1
        held_now = message.state in USES_SLOT
        if previous_holder is not None and (not held_now or message.device_id != previous_holder):
            self.dispatcher.release(message, previous_holder)
        if held_now and message.device_id is not None:
            self.dispatcher.hold(message, message.device_id)
        if message.state is not State.DISPATCHED:
            message.ack_deadline = None
        if message.state is State.QUEUED:
            self.dispatcher.enqueue(message, front=True)

    # --- storage -------------------------------------------------------------

    def _write_failed(self, error: BaseException, messages: list[LiveMessage]) -> None:
        if self._closing or self.rebuilding:
            return
        if is_storage_fault(error):
            log.error("a write failed (%r); reloading state from storage", str(error))
            self._fenced_by = unavailable_of(error).cause
            self._fence()
            return
        # Only this write's op rolled back: only its messages may be ahead of storage.
        log.warning(
            "a write failed for its own data (%s: %r); re-reading %d message(s) from storage",
            type(error).__name__, str(error), len(messages),
        )  # fmt: skip
        for message in messages:
            message.writes_in_flight += 1  # kept in the book until read back
        self._spawn(self._resync(messages))

    async def _resync(self, messages: list[LiveMessage]) -> None:
        """Put storage's copy of each message in place of memory's, after a failed write."""
        try:
            await self._store.barrier()  # writes submitted before this one have ended
            rows = [
                await self._store.fetchone("SELECT * FROM messages WHERE id = ?", (m.id,))
                for m in messages
            ]
        except StorageUnavailable as exc:
            rows = []
            self._write_failed(exc, [])  # storage itself failed now: fence
        for index, message in enumerate(messages):
            message.writes_in_flight -= 1
            # A rebuild reloads every message; a write still in flight carries the
            # whole row, so storage catches up with memory without help.
            alone = message.writes_in_flight == 0 and self.book.holds(message)
            if rows and alone and not self.rebuilding:
                self._restore(message, rows[index])
            self.book.forget_if_done(message)
        for account_id in {m.account_id for m in messages}:
            self.pump(account_id)

    def _restore(self, message: LiveMessage, row: Any) -> None:
        """Make memory's copy say what storage says (its failed write is lost)."""
        previous_holder = message.device_id if message.state in USES_SLOT else None
        was_queued = message.state is State.QUEUED
        message.take_changes()  # history and events of the write that failed
        if row is None:  # its insert failed: the message never existed
            message.state = State.FAILED
        else:
            stored = self.book.from_row(row)
            message.state, message.device_id = stored.state, stored.device_id
            message.attempts, message.stamps = stored.attempts, stored.stamps
            message.error_code, message.error_message = stored.error_code, stored.error_message
            message.updated_at = stored.updated_at
        self._rebook(message, previous_holder, was_queued)
        if message.state is State.DISPATCHED:
            message.ack_deadline = self._clock.monotonic() + self._relay.ack_timeout_s

    def _fence(self) -> None:
        """Memory may be ahead of storage: stop everything and rebuild from storage."""
        if self.rebuilding:
            return
        self.rebuilding = True
        for conn in self.connections.values():
            device = self._devices.get(conn.account_id, conn.device_id)
            name = device.name if device is not None else None
            self._presence.disconnected(conn.account_id, conn.device_id, name)
        for conn in [*self.connections.values(), *self.pending]:
            conn.close(CloseCode.INTERNAL, "storage unavailable; reconnect shortly")
        self.connections.clear()
        self.pending.clear()
        self._rebuilt = asyncio.Event()
        self._spawn(self._rebuild())

    async def ready(self) -> None:
        """Return once no rebuild is under way (at once, normally)."""
        await self._rebuilt.wait()

    async def _rebuild(self) -> None:
        delay = 0.1
        while True:
            try:
                # A real write, not an empty barrier: that one commits even on a
                # full disk, and relays let back in would fail and fence again.
                await self._store.probe()
                self.book.clear()
                self._queued.clear()
                self.dispatcher = Dispatcher(self._max_inflight)
                resumed = await self.recover()
                break
            except StorageUnavailable as exc:
                self._fenced_by = exc.cause
                log.warning("storage still unavailable (%s); retrying in %.1f s", exc, delay)
                await self._clock.sleep(delay)
                delay = min(delay * 2, 5.0)
        self.rebuilding = False
        self._rebuilt.set()
        log.warning("state reloaded from storage: %d unfinished message(s)", resumed)

    def _receipt(self, conn: RelayConnection, seq: int, future: asyncio.Future[Any]) -> None:
        if future.cancelled() or future.exception() is not None:
            # Not stored: no receipt. The relay keeps the report and replays it.
            conn.close(CloseCode.INTERNAL, "storage unavailable")
            return
        conn.report_stored(seq)

    def _held(self, device_id: str, state: State) -> list[LiveMessage]:
        held = (self.book.get(mid) for mid in sorted(self.dispatcher.held_by(device_id)))
        return [m for m in held if m is not None and m.state is state and m.device_id == device_id]

    def _inbound_statements(self, conn: RelayConnection, report: f.Received) -> list[Statement]:
        """Store an inbound SMS and its ``message.received`` event; nothing past
        the device's rate or the account's quota (the report is still receipted)."""
        if not self.inbound.admit(conn.account_id, conn.device_id):
            return []
        now = self._clock.now()
        inbound_id = new_id("inb", now)
        received_at = rfc3339(report.at)
        data = {"id": inbound_id, "from": report.from_, "text": report.text,
                "device_id": conn.device_id, "sim_slot": report.sim_slot,
                "received_at": received_at}  # fmt: skip
        inbound = (inbound_id, conn.account_id, conn.device_id, report.seq, report.from_,
                   report.text, report.sim_slot, received_at)  # fmt: skip
        return [
            (
                "INSERT OR IGNORE INTO inbound_messages (id, account_id, device_id, seq,"
                " from_number, text, sim_slot, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                inbound,
            ),
            *event_statements(conn.account_id, "message.received", data, now),
        ]
