"""Hypothesis against the relay's session: a rule-based machine feeds long sequences
of hub frames, repeated and out of order, with the app answering and reporting in
between; a held job is never reported as new again, seqs only grow, and the
outbox replays first, in order, after every welcome.
"""

from __future__ import annotations

from typing import Any

import msgspec
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from protocol import frames as f
from protocol.close_codes import CloseCode
from protocol.relay_session import (
    CancelRequested,
    ErrorReceived,
    JobReceived,
    JobStatus,
    ReceiptReceived,
    RelayLedger,
    RelaySession,
    Welcomed,
)
from tests.protocol.fuzz_settings import AT, HELLO, MACHINE, MESSAGE_IDS, WELCOME
from tests.protocol.strategies import frames

# --- the relay side under long sequences of hub frames -------------------------------


def _retarget_hub(frame: f.HubFrame, message_id: str, number: int) -> f.HubFrame:
    match frame:
        case f.Send():
            return msgspec.structs.replace(frame, id=message_id, attempt=number)
        case f.Cancel():
            return msgspec.structs.replace(frame, id=message_id)
        case f.Receipt():
            return msgspec.structs.replace(frame, seq=number)
    return frame


machine_hub_frames = st.builds(
    _retarget_hub,
    frames(f.HubFrame),
    st.sampled_from(MESSAGE_IDS),
    st.integers(1, 4),
)


class RelaySideMachine(RuleBasedStateMachine):
    """A relay's ledger across sockets, fed any sequence of valid hub frames,
    with the app answering jobs and reporting on them in between."""

    def __init__(self) -> None:
        super().__init__()
        self.ledger = RelayLedger()
        self.session = RelaySession(self.ledger)
        self.issued: list[int] = []  # every seq the relay gave a report
        self.new_jobs: dict[str, list[int]] = {}  # id → attempts reported as new

    def _open(self) -> None:
        self.session = RelaySession(self.ledger)
        self.session.send_hello(HELLO)
        assert [f.decode_relay_frame(d) for d in self.session.data_to_send()] == [HELLO]
        self.session.receive_text(f.encode(WELCOME))
        assert self.session.events_received() == [Welcomed(WELCOME)]
        replay = [f.decode_relay_frame(d) for d in self.session.data_to_send()]
        assert replay == self.ledger.outbox, "after welcome, the outbox goes first, in order"

    @initialize()
    def connect(self) -> None:
        self._open()

    @rule(frame=machine_hub_frames, times=st.integers(1, 2))
    def hub_sends(self, frame: f.HubFrame, times: int) -> None:
        for _ in range(times):
            held = self.ledger.jobs.get(frame.id) if isinstance(frame, f.Send) else None
            before = (held.status, held.retryable_end, held.send.attempt) if held else None
            self.session.receive_text(f.encode(frame))
            assert self.session.close_code is None
            events = self.session.events_received()
            out = [f.decode_relay_frame(d) for d in self.session.data_to_send()]
            match frame:
                case f.Send():
                    self._check_send(frame, before, events, out)
                case f.Cancel():
                    job = self.ledger.jobs.get(frame.id)
                    # Nothing to cancel once the report or the rejection says what happened.
                    open_job = job is not None and job.status in (JobStatus.NEW, JobStatus.ACCEPTED)
                    assert out == []
                    assert events == ([CancelRequested(frame.id)] if open_job else [])
                case f.Receipt(seq=seq):
                    assert events == [ReceiptReceived(seq)] and out == []
                    assert all(r.seq > seq for r in self.ledger.outbox)
                case f.Welcome():
                    assert events == [] and out == []  # a repeated welcome changes nothing
                case f.Error():
                    assert events == [ErrorReceived(frame)] and out == []

    def _check_send(
        self,
        send: f.Send,
        before: tuple[JobStatus, bool, int] | None,
        events: list[Any],
        out: list[f.RelayFrame],
    ) -> None:
        if before is None or (before[1] and send.attempt > before[2]):
            assert events == [JobReceived(send)] and out == []
            attempts = self.new_jobs.setdefault(send.id, [])
            # A job is new once, or again only as a later attempt after a retryable end.
            assert not attempts or send.attempt > attempts[-1]
            attempts.append(send.attempt)
            return
        status = before[0]
        assert events == [], "a job the relay holds is never reported as new again"
        if status is JobStatus.NEW:
            assert out == []  # the app is still deciding
        elif status is JobStatus.REJECTED:
            assert [type(r) for r in out] == [f.Rejected]
        else:
            assert out == [f.Accepted(id=send.id)]

    def _jobs_in(self, *statuses: JobStatus) -> list[str]:
        return sorted(i for i, job in self.ledger.jobs.items() if job.status in statuses)

    @precondition(lambda self: self._jobs_in(JobStatus.NEW))
    @rule(data=st.data(), accept=st.booleans(), retryable=st.booleans())
    def app_answers(self, data: st.DataObject, accept: bool, retryable: bool) -> None:
        message_id = data.draw(st.sampled_from(self._jobs_in(JobStatus.NEW)))
        if accept:
            self.session.accept(message_id)
            expected: f.RelayFrame = f.Accepted(id=message_id)
        else:
            self.session.reject(message_id, "busy", "busy", retryable)
            expected = f.Rejected(id=message_id, code="busy", message="busy", retryable=retryable)
        assert [f.decode_relay_frame(d) for d in self.session.data_to_send()] == [expected]

    @precondition(lambda self: self._jobs_in(JobStatus.ACCEPTED, JobStatus.FINISHED))
    @rule(data=st.data(), kind=st.sampled_from(["sent", "delivered", "failed"]))
    def app_reports(self, data: st.DataObject, kind: str) -> None:
        held = self._jobs_in(JobStatus.ACCEPTED, JobStatus.FINISHED)
        message_id = data.draw(st.sampled_from(held))
        report: f.Report
        if kind == "sent":
            report = self.session.report_sent(message_id, AT, parts=1, sim_slot=0)
        elif kind == "delivered":
            report = self.session.report_delivered(message_id, AT)
        else:
            retryable = data.draw(st.booleans())
            report = self.session.report_failed(message_id, AT, "x", "x", retryable)
        self._issued(report)

    @rule(text=st.text(min_size=1, max_size=20))
    def sms_arrives(self, text: str) -> None:
        self._issued(self.session.report_received("+998901234567", text, AT, 0))

    def _issued(self, report: f.Report) -> None:
        assert not self.issued or report.seq == self.issued[-1] + 1, "seq only grows, by one"
        self.issued.append(report.seq)
        assert report in self.ledger.outbox
        assert [f.decode_relay_frame(d) for d in self.session.data_to_send()] == [report]

    @rule()
    def socket_drops(self) -> None:
        self.session.fail(CloseCode.GOING_AWAY, "socket closed")
        self._open()

    @invariant()
    def outbox_is_in_seq_order(self) -> None:
        seqs = [r.seq for r in self.ledger.outbox]
        assert seqs == sorted(set(seqs))
        assert all(seq <= self.ledger.last_seq for seq in seqs)


TestRelaySideMachine = RelaySideMachine.TestCase
TestRelaySideMachine.settings = MACHINE
