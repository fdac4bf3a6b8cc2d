"""The hub's end of one relay socket, sans I/O (driver contract: ``protocol.session``)."""

from __future__ import annotations

from dataclasses import dataclass

from protocol import frames as f
from protocol.close_codes import CloseCode
from protocol.session import DEFAULT_MAX_FRAME_BYTES, InvalidState, Phase, Session


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


class HubSession(Session):
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
