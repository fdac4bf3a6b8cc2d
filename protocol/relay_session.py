"""The relay's end of one socket, sans I/O, over a ledger that outlives sockets.

Driver contract: ``protocol.session``. The ledger (jobs held, reports not yet
receipted) is what lets a relay reconnect without sending an SMS twice.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from protocol import frames as f
from protocol.close_codes import CloseCode
from protocol.session import DEFAULT_MAX_FRAME_BYTES, InvalidState, Phase, Session

_R = TypeVar("_R", f.Sent, f.Delivered, f.Failed, f.Received)


class JobStatus(enum.StrEnum):
    NEW = "new"  # received, not yet answered
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    FINISHED = "finished"  # a sent or failed report was written


@dataclass(slots=True)
class Job:
    send: f.Send
    status: JobStatus = JobStatus.NEW
    rejection: f.Rejected | None = None
    cancel_requested: bool = False
    # Ended with a retryable rejection or failure: the hub may hand it out again.
    retryable_end: bool = False


@dataclass(slots=True)
class RelayLedger:
    """What a relay keeps across sockets: the jobs it holds and its report outbox.

    A real relay persists this; the simulator keeps it in memory for as long as
    the relay lives. ``outbox`` holds reports not yet covered by a receipt, in
    seq order.
    """

    jobs: dict[str, Job] = field(default_factory=dict)
    outbox: list[f.Report] = field(default_factory=list)
    last_seq: int = 0

    def next_seq(self) -> int:
        self.last_seq += 1
        return self.last_seq


@dataclass(frozen=True, slots=True)
class Welcomed:
    welcome: f.Welcome


@dataclass(frozen=True, slots=True)
class JobReceived:
    """A job this relay does not hold yet: call ``accept`` or ``reject``."""

    job: f.Send


@dataclass(frozen=True, slots=True)
class CancelRequested:
    """The hub asks to cancel ``id``; report ``failed`` (cancelled) or ``sent``."""

    id: str


@dataclass(frozen=True, slots=True)
class ReceiptReceived:
    seq: int


@dataclass(frozen=True, slots=True)
class ErrorReceived:
    error: f.Error


RelayEvent = Welcomed | JobReceived | CancelRequested | ReceiptReceived | ErrorReceived


class RelaySession(Session):
    """The relay's end of one socket, over a ledger that outlives the socket.

    Call ``send_hello`` first. A job the relay already holds is answered again
    by the session itself (``accepted`` or the same ``rejected``), so the app
    only ever sees each job once and never sends an SMS twice.
    """

    def __init__(self, ledger: RelayLedger, max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES) -> None:
        super().__init__(max_frame_bytes)
        self.ledger = ledger
        self.hello_sent = False
        self.welcome: f.Welcome | None = None

    def events_received(self) -> list[RelayEvent]:
        """Events decoded since the last call; the list is emptied."""
        events, self._events = self._events, []
        return events  # type: ignore[return-value]

    def send_hello(self, hello: f.Hello) -> None:
        if self.hello_sent:
            raise InvalidState("hello was already sent")
        self.hello_sent = True
        self._emit(hello)

    def receive_text(self, data: bytes | str) -> None:
        """Feed one text frame from the hub; then drain events and data."""
        if self.phase is Phase.CLOSED or self._too_big(data):
            return
        try:
            frame = f.decode_hub_frame(data)
        except f.FrameError as exc:
            if exc.unknown_type:
                return  # a newer hub's frame: ignore it (the hub does not expect errors)
            self.fail(CloseCode.INVALID_DATA, str(exc))
            return
        if self.phase is Phase.AWAITING_HELLO and not isinstance(frame, f.Welcome | f.Error):
            self.fail(CloseCode.POLICY, f"{type(frame).__name__.lower()} before welcome")
            return
        match frame:
            case f.Welcome():
                self._welcomed(frame)
            case f.Send():
                self._receive_job(frame)
            case f.Cancel():
                self._receive_cancel(frame.id)
            case f.Receipt():
                self._receive_receipt(frame.seq)
            case f.Error():
                self._events.append(ErrorReceived(frame))

    def _welcomed(self, welcome: f.Welcome) -> None:
        if self.phase is Phase.OPEN:
            return  # a repeated welcome changes nothing
        self.phase = Phase.OPEN
        self.welcome = welcome
        self._events.append(Welcomed(welcome))
        for report in self.ledger.outbox:  # replay first, in order
            self._emit(report)

    def _receive_job(self, send: f.Send) -> None:
        job = self.ledger.jobs.get(send.id)
        if job is not None and job.retryable_end and send.attempt > job.send.attempt:
            job = None  # we gave it back as retryable; a later attempt is a new job
        if job is None:
            self.ledger.jobs[send.id] = Job(send)
            self._events.append(JobReceived(send))
        elif job.status is JobStatus.REJECTED and job.rejection is not None:
            self._emit(job.rejection)
        elif job.status is not JobStatus.NEW:
            self._emit(f.Accepted(id=send.id))
        # NEW: the app is still deciding; its answer will go out.

    def _receive_cancel(self, message_id: str) -> None:
        job = self.ledger.jobs.get(message_id)
        if job is None or job.status in (JobStatus.FINISHED, JobStatus.REJECTED):
            return  # nothing to cancel: the report already says what happened
        job.cancel_requested = True
        self._events.append(CancelRequested(message_id))

    def _receive_receipt(self, seq: int) -> None:
        outbox = self.ledger.outbox
        keep = [r for r in outbox if r.seq > seq]
        if len(keep) != len(outbox):
            self.ledger.outbox = keep
        self._events.append(ReceiptReceived(seq))

    # The relay app's answers and reports.

    def accept(self, message_id: str) -> None:
        """Say the relay stored the job and will send it.

        Before ``welcome`` nothing goes out; if the hub re-sends the job after
        the welcome, the session answers that repeat from the ledger. But a hub
        puts a job back in its queue when the socket it went out on closes
        before ``accepted``, so an app must not send a job whose ``accepted``
        never left (relay_sim drops such jobs; the hub offers them again).
        """
        job = self._job(message_id)
        if job.status is JobStatus.REJECTED:
            raise InvalidState(f"job {message_id} was already rejected")
        if job.status is JobStatus.NEW:
            job.status = JobStatus.ACCEPTED
        self._emit_when_open(f.Accepted(id=message_id))

    def reject(self, message_id: str, code: str, message: str, retryable: bool) -> None:
        job = self._job(message_id)
        if job.status is not JobStatus.NEW:
            raise InvalidState(f"job {message_id} was already answered")
        job.status = JobStatus.REJECTED
        job.retryable_end = retryable
        job.rejection = f.Rejected(id=message_id, code=code, message=message, retryable=retryable)
        self._emit_when_open(job.rejection)

    def report_sent(self, message_id: str, at: datetime, parts: int, sim_slot: int) -> f.Sent:
        job = self._job(message_id)
        job.status = JobStatus.FINISHED
        seq = self.ledger.next_seq()
        return self._report(f.Sent(seq=seq, id=message_id, at=at, parts=parts, sim_slot=sim_slot))

    def report_delivered(self, message_id: str, at: datetime) -> f.Delivered:
        self._job(message_id)
        return self._report(f.Delivered(seq=self.ledger.next_seq(), id=message_id, at=at))

    def report_failed(
        self,
        message_id: str,
        at: datetime,
        code: str,
        message: str,
        retryable: bool,
        android_result: int | None = None,
    ) -> f.Failed:
        job = self._job(message_id)
        job.status = JobStatus.FINISHED
        job.retryable_end = retryable
        report = f.Failed(
            seq=self.ledger.next_seq(),
            id=message_id,
            at=at,
            code=code,
            message=message,
            retryable=retryable,
            android_result=android_result,
        )
        return self._report(report)

    def report_received(self, sender: str, text: str, at: datetime, sim_slot: int) -> f.Received:
        seq = self.ledger.next_seq()
        return self._report(f.Received(seq=seq, from_=sender, text=text, at=at, sim_slot=sim_slot))

    def resend_report(self, report: f.Report) -> None:
        """Send a report again as it is (a duplicate; the hub receipts and ignores it)."""
        if self.phase is Phase.OPEN:
            self._emit(report)

    def send_heartbeat(self, heartbeat: f.Heartbeat) -> None:
        if self.phase is Phase.OPEN:
            self._emit(heartbeat)

    def _report(self, report: _R) -> _R:
        # Into the outbox first; out now only if the hub has welcomed us,
        # otherwise the replay after the next welcome sends it.
        self.ledger.outbox.append(report)
        if self.phase is Phase.OPEN:
            self._emit(report)
        return report

    def _job(self, message_id: str) -> Job:
        job = self.ledger.jobs.get(message_id)
        if job is None:
            raise InvalidState(f"no job {message_id}")
        return job
