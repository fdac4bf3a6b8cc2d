"""A message while it moves, and how its state is written to storage.

``LiveMessage`` is the hub's in-memory copy of a message that is not finished;
the store holds the durable one. ``new_message`` is the one way a send (single,
OTP, list) makes it. Every change goes through ``enter()``, which applies a
lifecycle ``Decision`` and notes a ``HistoryEntry``, and is then written with
``insert_statements`` or ``save_statements`` (the whole row at once: no partial
updates).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import NamedTuple

from hub.clock import rfc3339
from hub.events.outbox import event_statements
from hub.ids import new_id
from hub.store.interface import Row, Statement
from hub.text.sms_text import measure
from protocol import frames as f
from protocol.lifecycle import Decision, State

# Queue order between kinds: a login code never waits behind a bulk send.
PRIORITY = {"otp": 0, "sms": 1, "list": 2}
# While a message is in these states its sealed text stays stored; from the
# relay's acceptance on, storage keeps no copy of it at all.
_SEALED_WHILE = frozenset({State.QUEUED, State.DISPATCHED})
# Set when the message is queued, never written again.
_FIXED = (
    "id", "account_id", "to_number", "parts", "encoding", "requested_device_id", "sim_slot",
    "queued_at", "expires_at", "kind", "batch_id",
)  # fmt: skip
# What a message's later writes change. Leaving the fixed columns out of the
# UPDATE spares SQLite rewriting their index entries (the account's, above all).
_CHANGING = (
    "text", "state", "device_id", "attempts", "error_code", "error_message", "dispatched_at",
    "accepted_at", "sent_at", "delivered_at", "failed_at", "updated_at", "text_sealed",
)  # fmt: skip
_COLUMNS = _FIXED + _CHANGING
_INSERT = f"INSERT INTO messages ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})"
_UPDATE = f"UPDATE messages SET {', '.join(c + ' = ?' for c in _CHANGING)} WHERE id = ?"
_HISTORY = (
    "INSERT INTO message_events (message_id, at, state, cause, device_id, detail)"
    " VALUES (?, ?, ?, ?, ?, ?)"
)
# The column that records when a message entered each state.
_STAMP = {
    State.DISPATCHED: "dispatched_at",
    State.ACCEPTED: "accepted_at",
    State.SENT: "sent_at",
    State.DELIVERED: "delivered_at",
    State.FAILED: "failed_at",
    State.EXPIRED: "failed_at",
    State.CANCELLED: "failed_at",
}
# The webhook event announcing each state (an expiry is a failure too).
_EVENT_TYPE = {
    State.SENT: "message.sent",
    State.DELIVERED: "message.delivered",
    State.FAILED: "message.failed",
    State.EXPIRED: "message.failed",
    State.CANCELLED: "message.cancelled",
}
# The error an event names when the state itself is the reason.
_STATE_ERROR = {
    State.EXPIRED: ("expired", "no relay sent it before it expired"),
    State.CANCELLED: ("cancelled", "it was cancelled before a relay sent it"),
}


class HistoryEntry(NamedTuple):
    """One row of a message's history (``message_events``), in column order."""

    message_id: str
    at: str  # RFC 3339
    state: str
    cause: str  # the event or actor that moved it: "api", "dispatch", "ack_timeout", ...
    device_id: str | None
    detail: str | None  # the error, for a move into failed


@dataclass(slots=True, eq=False)
class LiveMessage:
    id: str
    account_id: str
    to: str
    text: str
    parts: int
    encoding: str
    requested_device_id: str | None
    sim_slot: int | None
    queued_at: datetime
    expires_at: datetime
    state: State = State.QUEUED
    device_id: str | None = None  # holds it now, or held it last
    attempts: int = 0
    error_code: str | None = None
    error_message: str | None = None
    stamps: dict[str, str] = field(default_factory=dict)  # column → RFC 3339
    updated_at: datetime | None = None
    kind: str = "sms"
    text_sealed: bytes | None = None  # set for a secret text (an OTP): what storage holds
    batch_id: str | None = None  # one message of a list send
    # Not stored:
    ack_deadline: float | None = None  # monotonic; while dispatched
    socket_lost: bool = False  # dispatched on a socket that closed before an answer
    writes_in_flight: int = 0
    in_queue: bool = False  # has an entry in a dispatcher queue
    avoid_device: str | None = None  # the device that last gave it back
    not_before: float | None = None  # monotonic; that device may retry it from then
    cancel_asked: bool = False  # a client asked to cancel it after a relay accepted it
    _history: list[HistoryEntry] = field(default_factory=list)
    _events: list[Statement] = field(default_factory=list)

    def enter(
        self,
        decision: Decision,
        cause: str,
        now: datetime,
        *,
        device: str | None = None,
        at: datetime | None = None,
        error: tuple[str, str] | None = None,
    ) -> None:
        """Apply a lifecycle decision: state, holder, times, error, history.

        ``at`` is when the relay says it happened (reports carry it); the
        holder is kept when the message leaves a device so status can name it.
        """
        if not decision.changed:
            return
        when = rfc3339(at or now)
        for state in decision.path:
            column = _STAMP.get(state)
            if column and (column not in self.stamps or state is State.DISPATCHED):
                self.stamps[column] = rfc3339(now) if state is State.DISPATCHED else when
            self._history.append(HistoryEntry(self.id, when, state.value, cause, device, None))
        self.state = decision.state
        if decision.holder is not None:
            self.device_id = decision.holder
        if decision.error_code:
            error = (decision.error_code, "no attempt left: every relay it was handed to let it go")
        if error and decision.state is State.FAILED:
            self.error_code, self.error_message = error
            self._history[-1] = self._history[-1]._replace(detail=f"{error[0]}: {error[1]}")
        self.updated_at = now
        for state in decision.path:
            if state in _EVENT_TYPE:
                self._events += self._event(state, when, now)

    def _event(self, state: State, when: str, now: datetime) -> list[Statement]:
        error = None
        if state in _STATE_ERROR or (state is State.FAILED and self.error_code):
            code, text = _STATE_ERROR.get(state) or (self.error_code, self.error_message)
            error = {"code": code, "message": text or ""}
        data = {
            "request_id": self.id,
            "status": state.value,
            "to": self.to,
            "device_id": self.device_id,
            "attempts": self.attempts,
            "parts": self.parts,
            "error": error,
            "at": when,
        }
        return event_statements(self.account_id, _EVENT_TYPE[state], data, now)

    def note(self, cause: str, now: datetime) -> None:
        """Record in its history what happened without changing its state."""
        entry = HistoryEntry(self.id, rfc3339(now), self.state.value, cause, self.device_id, None)
        self._history.append(entry)

    def note_queued(self, now: datetime) -> None:
        """Record the first state of a new message in its history."""
        self._history.append(
            HistoryEntry(self.id, rfc3339(now), State.QUEUED.value, "api", None, None)
        )

    def send_frame(self) -> f.Send:
        return f.Send(
            id=self.id,
            to=self.to,
            text=self.text,
            expires_at=self.expires_at,
            attempt=max(self.attempts, 1),
            sim_slot=self.sim_slot,
        )

    @property
    def priority(self) -> int:
        return PRIORITY.get(self.kind, 1)

    def _values(self) -> tuple[object, ...]:
        """The row's values, in ``_COLUMNS`` order."""
        fixed = (
            self.id, self.account_id, self.to, self.parts, self.encoding,
            self.requested_device_id, self.sim_slot, rfc3339(self.queued_at),
            rfc3339(self.expires_at), self.kind, self.batch_id,
        )  # fmt: skip
        return fixed + self._changing_values()

    def _changing_values(self) -> tuple[object, ...]:
        """The values of the ``_CHANGING`` columns, in their order."""
        s = self.stamps
        secret = self.text_sealed is not None
        sealed = self.text_sealed if self.state in _SEALED_WHILE else None
        return (
            "" if secret else self.text, self.state.value, self.device_id, self.attempts,
            self.error_code, self.error_message, s.get("dispatched_at"), s.get("accepted_at"),
            s.get("sent_at"), s.get("delivered_at"), s.get("failed_at"),
            rfc3339(self.updated_at or self.queued_at), sealed,
        )  # fmt: skip

    def take_changes(self) -> list[Statement]:
        """The history rows and events noted since the last write, as statements."""
        statements = [(_HISTORY, h) for h in self._history] + self._events
        self._history, self._events = [], []
        return statements

    @classmethod
    def from_row(cls, row: Row, unseal: Callable[[bytes], str]) -> LiveMessage:
        """The message a row stores; ``unseal`` opens a sealed (OTP) text."""
        stamps = {c: row[c] for c in _STAMP.values() if row[c]}
        sealed = row["text_sealed"]
        return cls(
            id=row["id"],
            account_id=row["account_id"],
            to=row["to_number"],
            text=unseal(sealed) if sealed is not None else row["text"],
            parts=row["parts"],
            encoding=row["encoding"],
            requested_device_id=row["requested_device_id"],
            sim_slot=row["sim_slot"],
            queued_at=datetime.fromisoformat(row["queued_at"]),
            expires_at=datetime.fromisoformat(row["expires_at"]),
            state=State(row["state"]),
            device_id=row["device_id"],
            attempts=row["attempts"],
            error_code=row["error_code"],
            error_message=row["error_message"],
            stamps=stamps,
            updated_at=datetime.fromisoformat(row["updated_at"]),
            kind=row["kind"],
            text_sealed=sealed,
            batch_id=row["batch_id"],
        )


def insert_statements(message: LiveMessage) -> list[Statement]:
    return [(_INSERT, message._values()), *message.take_changes()]


def save_statements(message: LiveMessage) -> list[Statement]:
    return [(_UPDATE, (*message._changing_values(), message.id)), *message.take_changes()]


def statements_of(messages: Iterable[LiveMessage]) -> list[Statement]:
    """Save statements for several messages, in order."""
    statements: list[Statement] = []
    for message in messages:
        statements += save_statements(message)
    return statements


def new_message(
    account_id: str,
    to: str,
    text: str,
    *,
    now: datetime,
    ttl_s: int,
    kind: str = "sms",
    device_id: str | None = None,
    sim_slot: int | None = None,
    message_id: str | None = None,
    sealed: bytes | None = None,
    batch_id: str | None = None,
) -> LiveMessage:
    """A new queued message of any kind: its parts measured, its expiry set.

    ``to`` is already in E.164. ``message_id`` when the caller needed the id
    first (an OTP names its message); ``sealed`` is what storage keeps of a
    secret text.
    """
    size = measure(text)
    return LiveMessage(
        id=message_id or new_id("req", now),
        account_id=account_id,
        to=to,
        text=text,
        parts=size.parts,
        encoding=size.encoding,
        requested_device_id=device_id,
        sim_slot=sim_slot,
        queued_at=now,
        expires_at=now + timedelta(seconds=ttl_s),
        kind=kind,
        text_sealed=sealed,
        batch_id=batch_id,
    )
