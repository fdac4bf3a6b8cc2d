"""The message lifecycle: every state change of a message is decided here.

    queued ──► dispatched ──► accepted ──► sent ──► delivered
      ▲  │          │             │          │
      │  │          ├─ ack timeout / disconnect / retryable reject ──► queued
      │  │          └─ final reject ───────────────────────────────► failed
      │  │                        └─ failed (retryable) ──► queued; (final) ──► failed
      │  └─ expires_at passed before accepted ──► expired          └─ failed (delivery)
      └─ cancel before accepted ──► cancelled

``TRANSITIONS[state][event]`` is the whole table. Two kinds of event reach it:

* Local events (``DISPATCH``, ``ACK_TIMEOUT``, ``DISCONNECT``, ``EXPIRE``,
  ``CANCEL``) come from the hub itself. One that the table does not allow is a
  bug in the caller and raises ``InvalidTransition``.
* Reports (``ACCEPTED`` … ``FAILED_RETRYABLE``) come from relays, which may repeat
  them, deliver them late or out of order. They never raise. The rules:

  1. A report that the table does not list for the current state changes
     nothing (a ``sent`` after ``delivered``, anything after a terminal state).
  2. A report jumps over the steps it implies: ``sent`` implies ``accepted``,
     ``delivered`` implies ``accepted`` and ``sent``. ``Decision.path`` lists every
     state entered, so each gets its time recorded.
  3. Only the device that holds the message may move it, with one exception: a
     device that reports ``accepted``/``sent``/``delivered`` for a message no one
     has accepted yet takes it over (it has the job and will send it, so handing
     it to anyone else would send it twice); the device it was dispatched to is
     told to cancel.
  4. A move back to ``queued`` when no attempt is left ends in ``failed`` with
     the error ``attempts_exhausted`` instead.
  5. Once ``sent``, the SMS reached the network: a retryable ``failed`` is final.
  6. A relay that drops a job because it was cancelled (``rejected`` or
     ``failed`` with code ``cancelled``, PROTOCOL.md's ``cancel`` frame) ends it
     ``cancelled``, not ``failed``: it never reached the network. After ``sent``
     it is too late, and such a report is an ordinary failure.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Final

from protocol import frames as f


class State(enum.StrEnum):
    QUEUED = "queued"
    DISPATCHED = "dispatched"
    ACCEPTED = "accepted"
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


class Event(enum.StrEnum):
    # local: decided by the hub
    DISPATCH = "dispatch"
    ACK_TIMEOUT = "ack_timeout"
    DISCONNECT = "disconnect"
    EXPIRE = "expire"
    CANCEL = "cancel"
    # reports: frames from a relay
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    REJECTED_RETRYABLE = "rejected_retryable"
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"
    FAILED_RETRYABLE = "failed_retryable"
    RELAY_CANCELLED = "relay_cancelled"  # rejected/failed with code `cancelled` (rule 6)


S, E = State, Event

LOCAL_EVENTS: Final = frozenset({E.DISPATCH, E.ACK_TIMEOUT, E.DISCONNECT, E.EXPIRE, E.CANCEL})
# States in which some device holds the job.
HELD: Final = frozenset({S.DISPATCHED, S.ACCEPTED, S.SENT})
# States in which a device has stored the job and will (or did) send it.
ACCEPTED_OR_LATER: Final = frozenset({S.ACCEPTED, S.SENT, S.DELIVERED})
# A device may take over a message in these states by reporting it has the job.
TAKEOVER_FROM: Final = frozenset({S.QUEUED, S.DISPATCHED})
TAKEOVER_EVENTS: Final = frozenset({E.ACCEPTED, E.SENT, E.DELIVERED})

TRANSITIONS: Final[dict[State, dict[Event, State]]] = {
    S.QUEUED: {
        E.DISPATCH: S.DISPATCHED,
        E.EXPIRE: S.EXPIRED,
        E.CANCEL: S.CANCELLED,
        # Late reports from the device it was last dispatched to (rule 3).
        E.ACCEPTED: S.ACCEPTED,
        E.SENT: S.SENT,
        E.DELIVERED: S.DELIVERED,
    },
    S.DISPATCHED: {
        E.ACK_TIMEOUT: S.QUEUED,
        E.DISCONNECT: S.QUEUED,
        E.CANCEL: S.CANCELLED,
        E.ACCEPTED: S.ACCEPTED,
        E.REJECTED: S.FAILED,
        E.REJECTED_RETRYABLE: S.QUEUED,
        E.SENT: S.SENT,
        E.DELIVERED: S.DELIVERED,
        E.FAILED: S.FAILED,
        E.FAILED_RETRYABLE: S.QUEUED,
        E.RELAY_CANCELLED: S.CANCELLED,
    },
    S.ACCEPTED: {
        E.REJECTED: S.FAILED,
        E.REJECTED_RETRYABLE: S.QUEUED,
        E.SENT: S.SENT,
        E.DELIVERED: S.DELIVERED,
        E.FAILED: S.FAILED,
        E.FAILED_RETRYABLE: S.QUEUED,
        E.RELAY_CANCELLED: S.CANCELLED,
    },
    S.SENT: {
        E.DELIVERED: S.DELIVERED,
        E.FAILED: S.FAILED,
        E.FAILED_RETRYABLE: S.FAILED,  # rule 5
        E.RELAY_CANCELLED: S.FAILED,  # rule 6: too late to cancel
    },
    S.DELIVERED: {},
    S.FAILED: {},
    S.EXPIRED: {},
    S.CANCELLED: {},
}


def _states_leading_to(target: State) -> frozenset[State]:
    """``target`` and every state from which some path through the table reaches it."""
    found = {target}
    while more := {s for s, moves in TRANSITIONS.items() if found & {*moves.values()}} - found:
        found |= more
    return frozenset(found)


# The state sets below are read off the table, so they cannot drift from it.
# Terminal: the table allows no move out of it.
TERMINAL: Final = frozenset(s for s, moves in TRANSITIONS.items() if not moves)
# Live: the job may still need a phone (again), so the hub keeps it in memory
# and reloads it after a restart. Once sent, only reports can follow.
LIVE: Final = _states_leading_to(S.QUEUED)
# Ended without reaching the recipient; its failed_at is the time it ended.
ENDED_UNDELIVERED: Final = TERMINAL - {S.DELIVERED}

# The forward path used to fill in implied steps (rule 2).
_FORWARD: Final = (S.QUEUED, S.DISPATCHED, S.ACCEPTED, S.SENT, S.DELIVERED)

ATTEMPTS_EXHAUSTED: Final = "attempts_exhausted"
# The code a relay's rejected/failed carries for a job it dropped on a `cancel` frame.
CANCELLED_CODE: Final = "cancelled"


class InvalidTransition(Exception):
    """The hub asked for a state change the lifecycle does not allow (a bug)."""


@dataclass(frozen=True, slots=True)
class Decision:
    """What a message becomes after an event.

    ``path`` is every state entered, in order; empty when nothing changes, and
    then ``ignored`` says why. ``holder`` is the device that holds the job after
    the event (None once it is back in the queue). ``cancel_device`` is a device
    that must be sent a ``cancel`` frame because another device took the job.
    ``error_code`` is set when the lifecycle itself fails the message.
    """

    state: State
    path: tuple[State, ...] = ()
    holder: str | None = None
    cancel_device: str | None = None
    error_code: str | None = None
    ignored: str | None = None

    @property
    def changed(self) -> bool:
        return bool(self.path)


def decide(
    state: State,
    holder: str | None,
    event: Event,
    *,
    device: str | None = None,
    attempts_left: bool = True,
) -> Decision:
    """Decide what ``event`` does to a message in ``state`` held by ``holder``.

    ``device`` is the device the event is about: the target of a ``DISPATCH``,
    the sender of a report. ``attempts_left`` says whether the message may go
    back to the queue once more (rule 4). Raises ``InvalidTransition`` only for
    local events; reports that do not fit are returned as ignored decisions.
    """
    if event in LOCAL_EVENTS:
        return _decide_local(state, holder, event, device, attempts_left)
    return _decide_report(state, holder, event, device, attempts_left)


def _decide_local(
    state: State, holder: str | None, event: Event, device: str | None, attempts_left: bool
) -> Decision:
    target = TRANSITIONS[state].get(event)
    if target is None:
        raise InvalidTransition(f"{event} is not allowed in state {state}")
    if event is E.DISPATCH:
        if device is None:
            raise InvalidTransition("dispatch needs a device")
        return Decision(target, (target,), holder=device)
    if target is S.QUEUED and not attempts_left:
        return Decision(S.FAILED, (S.FAILED,), holder=None, error_code=ATTEMPTS_EXHAUSTED)
    # Requeue, expiry and cancel all take the job away from its holder.
    return Decision(target, (target,), holder=None)


def _decide_report(
    state: State, holder: str | None, event: Event, device: str | None, attempts_left: bool
) -> Decision:
    if state in TERMINAL:
        return Decision(state, holder=holder, ignored="terminal")
    target = TRANSITIONS[state].get(event)
    if target is None:
        return Decision(state, holder=holder, ignored="repeated or backwards")

    cancel_device = None
    if device != holder:
        takeover = event in TAKEOVER_EVENTS and state in TAKEOVER_FROM
        if not takeover:
            return Decision(state, holder=holder, ignored="not the holder")
        cancel_device = holder  # the device it was dispatched to, if any

    if target is S.QUEUED:
        if not attempts_left:
            return Decision(S.FAILED, (S.FAILED,), holder=None, error_code=ATTEMPTS_EXHAUSTED)
        return Decision(S.QUEUED, (S.QUEUED,), holder=None)
    if target in (S.FAILED, S.CANCELLED):
        return Decision(target, (target,), holder=device)
    return Decision(
        target, _implied_path(state, target), holder=device, cancel_device=cancel_device
    )


def _implied_path(state: State, target: State) -> tuple[State, ...]:
    start = _FORWARD.index(state)
    end = _FORWARD.index(target)
    return tuple(s for s in _FORWARD[start + 1 : end + 1] if s is not S.DISPATCHED)


def report_event(
    frame: f.Accepted | f.Rejected | f.MessageReport,
) -> tuple[Event, tuple[str, str] | None]:
    """The lifecycle event a relay's frame stands for, and its error (code, message)."""
    match frame:
        case f.Accepted():
            return Event.ACCEPTED, None
        case f.Rejected() | f.Failed() if frame.code == CANCELLED_CODE:
            return Event.RELAY_CANCELLED, (frame.code, frame.message)
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
