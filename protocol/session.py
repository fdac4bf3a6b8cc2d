"""Sans-I/O sessions for both ends of one relay socket.

Each session is fed the text frames that arrived (``receive_text``) and asked
to send frames (``send_*``); it never touches a socket. After every call the
driver must:

1. take ``events_received()`` and handle each event,
2. write every item of ``data_to_send()`` to the socket, in order,
3. if ``close_code`` is set, close the socket with that code and ``close_reason``.

Errors are split as in h11 and websockets: a peer that breaks the protocol
never makes ``receive_text`` raise, it becomes an ``error`` frame or a close;
a driver that misuses a session (sending a job before ``welcome``, accepting a
job it never got) raises ``InvalidState`` at once.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final, TypeVar

from protocol import frames as f
from protocol.close_codes import CloseCode

DEFAULT_MAX_FRAME_BYTES: Final = 64 * 1024

_R = TypeVar("_R", f.Sent, f.Delivered, f.Failed, f.Received)

# A close frame carries at most 125 bytes: the 2-byte code and a UTF-8 reason.
CLOSE_REASON_MAX_BYTES: Final = 123


def _clip_utf8(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` UTF-8 bytes, never inside a character."""
    data = text.encode("utf-8", "replace")  # a lone surrogate becomes "?"
    return data[:limit].decode("utf-8", "ignore")


class InvalidState(Exception):
    """The driver used a session in a way the protocol does not allow."""


class Phase(enum.Enum):
    AWAITING_HELLO = "awaiting_hello"  # hub side: before hello; relay side: before welcome
    OPEN = "open"
    CLOSED = "closed"


class _Session:
    """What both roles share: the outgoing buffer, events and closing."""

    def __init__(self, max_frame_bytes: int) -> None:
        self.max_frame_bytes = max_frame_bytes
        self.phase = Phase.AWAITING_HELLO
        self.close_code: int | None = None
        self.close_reason = ""
        self._out: list[bytes] = []
        self._events: list[object] = []

    def data_to_send(self) -> list[bytes]:
        """Frames to write to the socket, in order; the buffer is emptied."""
        out, self._out = self._out, []
        return out

    def _emit(self, frame: f.Frame) -> None:
        if self.phase is Phase.CLOSED:
            return  # nothing goes out after a close was decided
        self._out.append(f.encode(frame))

    def _emit_when_open(self, frame: f.Frame) -> None:
        # The hub only listens for these once the session is open; until then
        # the ledger keeps them and they go out when the hub asks again.
        if self.phase is Phase.OPEN:
            self._emit(frame)

    def fail(self, code: int, reason: str) -> None:
        """Decide to close the socket; the driver reads ``close_code``."""
        if self.phase is Phase.CLOSED:
            return
        self.phase = Phase.CLOSED
        self.close_code = code
        self.close_reason = _clip_utf8(reason, CLOSE_REASON_MAX_BYTES)

    def _too_big(self, data: bytes | str) -> bool:
        # surrogatepass: a str with lone surrogates is measured here and refused by the decoder.
        size = len(data) if isinstance(data, bytes) else len(data.encode("utf-8", "surrogatepass"))
        if size > self.max_frame_bytes:
            self.fail(CloseCode.TOO_BIG, f"frame of {size} bytes is over {self.max_frame_bytes}")
            return True
        return False


# --- hub side ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HelloReceived:
    hello: f.Hello


@dataclass(frozen=True, slots=True)
class AckReceived:
    """``accepted`` or ``rejected`` for a send job."""

    frame: f.Accepted | f.Rejected


@dataclass(frozen=True, slots=True)
class ReportReceived:
    """A report with a seq the hub has not seen on this device yet.

    Store it, then call ``HubSession.report_stored(seq)`` to receipt it.
    """

    report: f.Report


@dataclass(frozen=True, slots=True)
class HeartbeatReceived:
    heartbeat: f.Heartbeat


HubEvent = HelloReceived | AckReceived | ReportReceived | HeartbeatReceived


class HubSession(_Session):
    """The hub's end of one relay socket.

    ``stored_seq`` is the highest report seq of this device already in storage
    (0 for a new device): reports up to it are duplicates and are receipted at
    once without an event.
    """

    def __init__(self, stored_seq: int = 0, max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES) -> None:
        super().__init__(max_frame_bytes)
        self.stored_seq = stored_seq
        self.seen_seq = stored_seq  # highest seq handed out as an event
        self.duplicate_reports = 0
        self.hello_received = False  # phase turns OPEN only when welcome is sent

    def events_received(self) -> list[HubEvent]:
        """Events decoded since the last call; the list is emptied."""
        events, self._events = self._events, []
        return events  # type: ignore[return-value]

    def receive_text(self, data: bytes | str) -> None:
        """Feed one text frame from the relay; then drain events and data."""
        if self.phase is Phase.CLOSED or self._too_big(data):
            return
        try:
            frame = f.decode_relay_frame(data)
        except f.FrameError as exc:
            if not self.hello_received:
                # Say what was wrong: a relay developer sees only the close reason.
                self.fail(CloseCode.POLICY, f"the first frame must be hello: {exc}")
            elif exc.unknown_type:
                message = str(exc)[: f.SHORT_TEXT_MAX]  # the relay's decoder checks it too
                self._emit(f.Error(code="unknown_type", message=message))
            else:
                self.fail(CloseCode.INVALID_DATA, str(exc))
            return
        if not self.hello_received:
            if not isinstance(frame, f.Hello):
                self.fail(CloseCode.POLICY, "the first frame must be hello")
                return
            self.hello_received = True
            self._events.append(HelloReceived(frame))
            return
        self._dispatch(frame)

    def _dispatch(self, frame: f.RelayFrame) -> None:
        match frame:
            case f.Hello():
                self._emit(f.Error(code="unexpected_hello", message="hello was already received"))
            case f.Accepted() | f.Rejected():
                self._events.append(AckReceived(frame))
            case f.Heartbeat():
                self._events.append(HeartbeatReceived(frame))
            case f.Sent() | f.Delivered() | f.Failed() | f.Received():
                self._receive_report(frame)

    def _receive_report(self, report: f.Report) -> None:
        if report.seq <= self.stored_seq:
            # Already stored: receipt again so the relay can drop it.
            self.duplicate_reports += 1
            self._emit(f.Receipt(seq=self.stored_seq))
        elif report.seq <= self.seen_seq:
            # Seen but not yet stored: its receipt is on the way.
            self.duplicate_reports += 1
        else:
            self.seen_seq = report.seq
            self._events.append(ReportReceived(report))

    def send_welcome(self, welcome: f.Welcome) -> None:
        """Answer ``hello``; after this, jobs may be sent."""
        if self.phase is not Phase.AWAITING_HELLO or not self.hello_received:
            raise InvalidState(f"welcome in phase {self.phase.value}")
        self.phase = Phase.OPEN
        self._emit(welcome)

    def send_job(self, job: f.Send) -> None:
        self._require_open("send")
        self._emit(job)

    def send_cancel(self, message_id: str) -> None:
        self._require_open("cancel")
        self._emit(f.Cancel(id=message_id))

    def report_stored(self, seq: int) -> None:
        """Say that every report up to ``seq`` is durably stored; emits a receipt."""
        if seq > self.seen_seq:
            raise InvalidState(f"seq {seq} was never received")
        if seq > self.stored_seq:
            self.stored_seq = seq
        self._emit(f.Receipt(seq=self.stored_seq))

    def _require_open(self, what: str) -> None:
        if self.phase is not Phase.OPEN:
            raise InvalidState(f"{what} in phase {self.phase.value}")


# --- relay side --------------------------------------------------------------


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


class RelaySession(_Session):
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
