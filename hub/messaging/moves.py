"""Moves: every state change of a live message, applied in memory.

A move asks ``protocol.lifecycle`` what an event does, applies the decision to
the ``LiveMessage`` (``enter``), and brings the dispatcher in line with it:
who holds the job, which queue it waits in, how many of the account's
messages are queued. Nothing here writes to storage or talks to a relay: the
caller writes the moved messages, and only after the commit lets anything out.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime
from typing import Any, Final

from hub.clock import Clock
from hub.messaging.dispatcher import Dispatcher
from hub.messaging.message import LiveMessage
from protocol import frames as f
from protocol.lifecycle import (
    HELD,
    TRANSITIONS,
    Decision,
    Event,
    State,
    decide,
    report_event,
)

log = logging.getLogger(__name__)

# States that use one of the holder's max_inflight slots.
USES_SLOT: Final = frozenset({State.DISPATCHED, State.ACCEPTED})
RETRY_BACKOFF_MAX_S: Final = 60.0
RETRYABLE: Final = frozenset({Event.REJECTED_RETRYABLE, Event.FAILED_RETRYABLE})


class Moves:
    def __init__(self, clock: Clock, dispatcher: Dispatcher, max_attempts: int) -> None:
        self._clock = clock
        self._dispatcher = dispatcher
        self._max_attempts = max_attempts
        self._queued: Counter[str] = Counter()  # account → messages in state queued

    def queued_count(self, account_id: str) -> int:
        """Messages of the account in state queued now."""
        return self._queued[account_id]

    def clear(self) -> None:
        self._queued.clear()

    def queue_new(self, message: LiveMessage, now: datetime) -> None:
        """A new message enters the queue."""
        self._queued[message.account_id] += 1
        message.note_queued(now)
        self._dispatcher.enqueue(message)

    def withdrawn(self, message: LiveMessage) -> None:
        """A queued message left this node's memory for the shared queue (``shared_queue``)."""
        self._queued[message.account_id] -= 1

    def resume(self, message: LiveMessage, ack_deadline: float) -> None:
        """A live message read back from storage takes its place again: queued, or
        held by its device (a dispatched one with a fresh ``ack_deadline``)."""
        if message.state is State.QUEUED:
            self._queued[message.account_id] += 1
            self._dispatcher.enqueue(message)
        elif message.device_id is not None:
            self._dispatcher.hold(message, message.device_id)
            if message.state is State.DISPATCHED:
                message.ack_deadline = ack_deadline

    def dispatch(self, message: LiveMessage, device_id: str, ack_deadline: float) -> None:
        """The dispatcher placed the message with ``device_id``: a new attempt."""
        decision = decide(message.state, message.device_id, Event.DISPATCH, device=device_id)
        message.attempts += 1
        self._enter(message, decision, "dispatch", device_id)
        message.ack_deadline = ack_deadline
        message.socket_lost = False

    def local(self, message: LiveMessage, event: Event, cause: str, device: str | None) -> bool:
        """Apply a local event; False if the message is no longer in a state for it.

        Timers and queues hold messages that may have moved on meanwhile (a late
        ``accepted`` beat the ack timeout), so the lifecycle table is asked first
        rather than letting it raise for a race that is not a bug.
        """
        if event not in TRANSITIONS[message.state]:
            return False
        decision = decide(
            message.state,
            message.device_id,
            event,
            attempts_left=message.attempts < self._max_attempts,
        )
        self._enter(message, decision, cause, device)
        return True

    def answer(
        self,
        device_id: str,
        message: LiveMessage,
        frame: f.Accepted | f.Rejected | f.MessageReport,
    ) -> Decision | None:
        """Apply a relay's answer or report; the decision, or None if it changed nothing."""
        event, error = report_event(frame)
        decision = decide(
            message.state,
            message.device_id if message.state in HELD else None,
            event,
            device=device_id,
            attempts_left=message.attempts < self._max_attempts,
        )
        if not decision.changed:
            log.debug(
                "%s from %s on %s ignored: %s", event, device_id, message.id, decision.ignored
            )
            return None
        at = getattr(frame, "at", None)
        self._enter(message, decision, event.value, device_id, at=at, error=error)
        if message.state is State.QUEUED and event in RETRYABLE:
            # The phone said "not now": others may take it at once, this one later.
            backoff = min(2.0**message.attempts, RETRY_BACKOFF_MAX_S)
            message.not_before = self._clock.monotonic() + backoff
        return decision

    def restore(self, message: LiveMessage, stored: LiveMessage | None) -> None:
        """Make memory's copy say what storage says (its failed write is lost);
        ``stored`` None: its insert failed, the message never existed."""
        previous_holder = message.device_id if message.state in USES_SLOT else None
        was_queued = message.state is State.QUEUED
        message.take_changes()  # history and events of the write that failed
        if stored is None:
            message.state = State.FAILED
        else:
            message.state, message.device_id = stored.state, stored.device_id
            message.attempts, message.stamps = stored.attempts, stored.stamps
            message.error_code, message.error_message = stored.error_code, stored.error_message
            message.updated_at = stored.updated_at
        self._rebook(message, previous_holder, was_queued)

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
            self._dispatcher.release(message, previous_holder)
        if held_now and message.device_id is not None:
            self._dispatcher.hold(message, message.device_id)
        if message.state is not State.DISPATCHED:
            message.ack_deadline = None
        if message.state is State.QUEUED:
            self._dispatcher.enqueue(message, front=True)
