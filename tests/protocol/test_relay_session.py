"""Tests for ``protocol/relay_session.py``: handshake, broken frames, jobs and cancels."""

from __future__ import annotations

import contextlib

import pytest

from protocol import frames as f
from protocol.close_codes import CloseCode
from protocol.relay_session import (
    CancelRequested,
    ErrorReceived,
    Job,
    JobReceived,
    JobStatus,
    RelayLedger,
    RelaySession,
    Welcomed,
)
from protocol.session import InvalidState, Phase
from tests.protocol.session_helpers import (
    AT,
    heartbeat,
    hello,
    job,
    open_relay,
    relay_after_hello,
    relay_frames,
    relay_with_job,
    text,
    welcome,
)

# --- hello and welcome ---------------------------------------------------------------------


def test_relay_sends_hello_when_asked_first() -> None:
    relay = RelaySession(RelayLedger())
    relay.send_hello(hello())
    assert relay_frames(relay) == [hello()]
    assert relay.hello_sent
    assert relay.phase is Phase.AWAITING_HELLO


def test_relay_raises_invalid_state_when_sending_hello_twice() -> None:
    relay = relay_after_hello()
    with pytest.raises(InvalidState, match="hello was already sent"):
        relay.send_hello(hello())
    assert relay.data_to_send() == []


def test_relay_emits_welcomed_and_opens_when_welcome_arrives() -> None:
    relay = relay_after_hello()
    relay.receive_text(text(welcome()))
    assert relay.events_received() == [Welcomed(welcome())]
    assert relay.welcome == welcome()
    assert relay.phase is Phase.OPEN
    assert relay.data_to_send() == []  # empty outbox: nothing to replay


def test_relay_ignores_repeated_welcome_when_already_open() -> None:
    relay = relay_after_hello()
    relay.report_received("+998901234567", "hi", AT, 0)
    relay.receive_text(text(welcome("ses_1")))
    relay.events_received()
    assert len(relay.data_to_send()) == 1
    relay.receive_text(text(welcome("ses_2")))
    assert relay.events_received() == []
    assert relay.data_to_send() == []  # no second replay
    assert relay.welcome == welcome("ses_1")


@pytest.mark.parametrize(
    "frame",
    [job(), f.Cancel(id="m1"), f.Receipt(seq=1)],
    ids=lambda frame: type(frame).__name__.lower(),
)
def test_relay_closes_1008_when_frame_before_welcome_is_not_welcome(frame: f.Frame) -> None:
    relay = relay_after_hello()
    relay.receive_text(text(frame))
    assert relay.close_code == CloseCode.POLICY
    assert relay.close_reason == f"{type(frame).__name__.lower()} before welcome"
    assert relay.events_received() == []
    assert relay.ledger.jobs == {}


def test_relay_emits_error_received_and_waits_when_error_arrives_before_welcome() -> None:
    relay = relay_after_hello()
    error = f.Error(code="bad_hello", message="unsupported app version")
    relay.receive_text(text(error))
    assert relay.events_received() == [ErrorReceived(error)]
    assert relay.phase is Phase.AWAITING_HELLO
    assert relay.close_code is None


def test_relay_emits_error_received_when_error_arrives_after_welcome() -> None:
    relay = open_relay()
    error = f.Error(code="unknown_type", message="unknown frame type 'x'")
    relay.receive_text(text(error))
    assert relay.events_received() == [ErrorReceived(error)]
    assert relay.phase is Phase.OPEN


# --- broken frames -------------------------------------------------------------------------

INVALID_FOR_RELAY = [
    pytest.param("{not json", id="malformed"),
    pytest.param("[]", id="array"),
    pytest.param("{}", id="missing_type"),
    pytest.param('{"type":"receipt","seq":0}', id="receipt_seq_0"),
    pytest.param(
        '{"type":"send","id":"m1","to":"998901234567","text":"x",'
        '"expires_at":"2024-05-01T12:00:00Z","attempt":1}',
        id="bad_e164",
    ),
    pytest.param(
        '{"type":"send","id":"m1","to":"+998901234567","text":"x",'
        '"expires_at":"2024-05-01T12:00:00","attempt":1}',
        id="naive_time",
    ),
    pytest.param('{"type":"welcome","device_id":"d"}', id="broken_welcome"),
]


@pytest.mark.parametrize("opened", [False, True], ids=["before_welcome", "after_welcome"])
@pytest.mark.parametrize("data", INVALID_FOR_RELAY)
def test_relay_closes_1007_when_frame_is_invalid(data: str, opened: bool) -> None:
    relay = open_relay() if opened else relay_after_hello()
    relay.receive_text(data)
    assert relay.close_code == CloseCode.INVALID_DATA
    assert relay.phase is Phase.CLOSED
    assert relay.events_received() == []
    assert relay.data_to_send() == []


@pytest.mark.parametrize("opened", [False, True], ids=["before_welcome", "after_welcome"])
@pytest.mark.parametrize(
    "data",
    [
        pytest.param('{"type":"pause","for_s":30}', id="unknown"),
        pytest.param(text(f.Accepted(id="m1")), id="relay_frame"),
    ],
)
def test_relay_ignores_frame_silently_when_type_is_unknown(data: str, opened: bool) -> None:
    relay = open_relay() if opened else relay_after_hello()
    relay.receive_text(data)
    assert relay.close_code is None
    assert relay.events_received() == []
    assert relay.data_to_send() == []
    assert relay.phase is (Phase.OPEN if opened else Phase.AWAITING_HELLO)


@pytest.mark.parametrize("as_bytes", [False, True], ids=["str", "bytes"])
def test_relay_closes_1009_when_frame_is_over_size(as_bytes: bool) -> None:
    relay = RelaySession(RelayLedger(), max_frame_bytes=50)
    relay.send_hello(hello())
    data = text(job())
    assert len(data) > 50
    relay.receive_text(data.encode() if as_bytes else data)
    assert relay.close_code == CloseCode.TOO_BIG
    assert relay.events_received() == []


def test_relay_closes_1007_when_bytes_are_not_utf8() -> None:
    relay = open_relay()
    relay.receive_text(b'{"type":"cancel","id":"m\xff"}')
    assert relay.close_code == CloseCode.INVALID_DATA


# --- after close -----------------------------------------------------------------------------


def test_relay_receives_nothing_when_closed() -> None:
    relay = relay_after_hello()
    relay.fail(CloseCode.GOING_AWAY, "bye")
    relay.receive_text(text(welcome()))
    relay.receive_text(text(job()))
    assert relay.events_received() == []
    assert relay.phase is Phase.CLOSED
    assert relay.ledger.jobs == {}


def test_relay_emits_nothing_but_keeps_reports_when_closed() -> None:
    relay = relay_with_job(JobStatus.ACCEPTED)
    relay.fail(CloseCode.GOING_AWAY, "bye")
    relay.accept("m1")
    report = relay.report_sent("m1", AT, parts=1, sim_slot=0)
    relay.send_heartbeat(heartbeat())
    relay.resend_report(report)
    assert relay.data_to_send() == []
    assert relay.ledger.outbox == [report]  # replayed on the next socket


def test_relay_emits_nothing_when_hello_is_sent_after_close() -> None:
    relay = RelaySession(RelayLedger())
    relay.fail(CloseCode.GOING_AWAY, "bye")
    relay.send_hello(hello())
    assert relay.data_to_send() == []


# --- jobs ------------------------------------------------------------------------------------


def test_relay_emits_job_received_and_holds_job_when_send_is_new() -> None:
    relay = open_relay()
    relay.receive_text(text(job("m1")))
    assert relay.events_received() == [JobReceived(job("m1"))]
    assert relay.data_to_send() == []  # the app answers
    assert relay.ledger.jobs == {"m1": Job(job("m1"))}


@pytest.mark.parametrize(
    ("status", "answer"),
    [
        (JobStatus.ACCEPTED, f.Accepted(id="m1")),
        (JobStatus.FINISHED, f.Accepted(id="m1")),
        (JobStatus.REJECTED, f.Rejected(id="m1", code="no_sim", message="no SIM", retryable=False)),
    ],
    ids=lambda value: str(value) if isinstance(value, JobStatus) else type(value).__name__,
)
@pytest.mark.parametrize("attempt", [1, 2], ids=lambda n: f"attempt{n}")
def test_relay_answers_again_without_event_when_send_repeats_for_held_job(
    status: JobStatus, answer: f.Frame, attempt: int
) -> None:
    relay = relay_with_job(status)
    relay.receive_text(text(job("m1", attempt=attempt)))
    assert relay_frames(relay) == [answer]
    assert relay.events_received() == []
    assert relay.ledger.jobs["m1"].status is status


def test_relay_emits_nothing_when_send_repeats_for_new_job() -> None:
    relay = relay_with_job(JobStatus.NEW)
    relay.receive_text(text(job("m1")))
    assert relay.events_received() == []
    assert relay.data_to_send() == []
    relay.accept("m1")  # the app's answer still goes out, once
    assert relay_frames(relay) == [f.Accepted(id="m1")]


def test_relay_emits_accepted_when_app_accepts_job() -> None:
    relay = relay_with_job(JobStatus.NEW)
    relay.accept("m1")
    assert relay_frames(relay) == [f.Accepted(id="m1")]
    assert relay.ledger.jobs["m1"].status is JobStatus.ACCEPTED


def test_relay_emits_accepted_again_when_app_accepts_twice() -> None:
    relay = relay_with_job(JobStatus.ACCEPTED)
    relay.accept("m1")
    assert relay_frames(relay) == [f.Accepted(id="m1")]
    assert relay.ledger.jobs["m1"].status is JobStatus.ACCEPTED


def test_relay_keeps_finished_status_when_app_accepts_a_finished_job() -> None:
    relay = relay_with_job(JobStatus.FINISHED)
    relay.accept("m1")
    assert relay_frames(relay) == [f.Accepted(id="m1")]
    assert relay.ledger.jobs["m1"].status is JobStatus.FINISHED


def test_relay_emits_and_remembers_rejection_when_app_rejects_job() -> None:
    relay = relay_with_job(JobStatus.NEW)
    relay.reject("m1", "busy", "queue full", retryable=True)
    rejection = f.Rejected(id="m1", code="busy", message="queue full", retryable=True)
    assert relay_frames(relay) == [rejection]
    assert relay.ledger.jobs["m1"].status is JobStatus.REJECTED
    assert relay.ledger.jobs["m1"].rejection == rejection


@pytest.mark.parametrize("status", [JobStatus.ACCEPTED, JobStatus.REJECTED, JobStatus.FINISHED])
def test_relay_raises_invalid_state_when_rejecting_an_answered_job(status: JobStatus) -> None:
    relay = relay_with_job(status)
    with pytest.raises(InvalidState, match="job m1 was already answered"):
        relay.reject("m1", "busy", "", retryable=True)
    assert relay.data_to_send() == []
    assert relay.ledger.jobs["m1"].status is status


def test_relay_raises_invalid_state_when_accepting_a_rejected_job() -> None:
    relay = relay_with_job(JobStatus.REJECTED)
    with pytest.raises(InvalidState):
        relay.accept("m1")
    assert relay.data_to_send() == []


@pytest.mark.parametrize("hello_sent", [False, True], ids=["before_hello", "after_hello"])
@pytest.mark.parametrize("answer", ["accept", "reject"])
def test_relay_sends_no_answer_before_welcome_when_app_answers_held_job_on_reconnect(
    answer: str, hello_sent: bool
) -> None:
    first = relay_with_job(JobStatus.NEW)
    first.fail(CloseCode.GOING_AWAY, "network lost")
    relay = RelaySession(first.ledger)
    if hello_sent:
        relay.send_hello(hello())
    with contextlib.suppress(InvalidState):  # raising would be a fix too
        if answer == "accept":
            relay.accept("m1")
        else:
            relay.reject("m1", "busy", "", retryable=True)
    assert relay_frames(relay) == ([hello()] if hello_sent else [])


def test_relay_raises_invalid_state_when_app_answers_or_reports_an_unknown_job() -> None:
    relay = open_relay()
    with pytest.raises(InvalidState, match="no job m9"):
        relay.accept("m9")
    with pytest.raises(InvalidState, match="no job m9"):
        relay.reject("m9", "busy", "", retryable=True)
    with pytest.raises(InvalidState, match="no job m9"):
        relay.report_sent("m9", AT, parts=1, sim_slot=0)
    with pytest.raises(InvalidState, match="no job m9"):
        relay.report_delivered("m9", AT)
    with pytest.raises(InvalidState, match="no job m9"):
        relay.report_failed("m9", AT, "generic", "", retryable=False)
    assert relay.data_to_send() == []
    assert relay.ledger.outbox == []
    assert relay.ledger.last_seq == 0


# --- cancel ----------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [JobStatus.NEW, JobStatus.ACCEPTED])
def test_relay_emits_cancel_requested_when_job_is_not_finished(status: JobStatus) -> None:
    relay = relay_with_job(status)
    relay.receive_text(text(f.Cancel(id="m1")))
    assert relay.events_received() == [CancelRequested("m1")]
    assert relay.ledger.jobs["m1"].cancel_requested
    assert relay.data_to_send() == []


@pytest.mark.parametrize("status", [JobStatus.REJECTED, JobStatus.FINISHED])
def test_relay_ignores_cancel_when_job_is_finished_or_rejected(status: JobStatus) -> None:
    relay = relay_with_job(status)
    relay.receive_text(text(f.Cancel(id="m1")))
    assert relay.events_received() == []
    assert not relay.ledger.jobs["m1"].cancel_requested
    assert relay.data_to_send() == []


def test_relay_ignores_cancel_when_job_failed() -> None:
    relay = relay_with_job(JobStatus.ACCEPTED)
    relay.report_failed("m1", AT, "cancelled", "cancelled by hub", retryable=False)
    relay.data_to_send()
    relay.receive_text(text(f.Cancel(id="m1")))
    assert relay.events_received() == []


def test_relay_ignores_cancel_when_job_is_unknown() -> None:
    relay = open_relay()
    relay.receive_text(text(f.Cancel(id="m9")))
    assert relay.events_received() == []
    assert relay.ledger.jobs == {}
    assert relay.close_code is None
