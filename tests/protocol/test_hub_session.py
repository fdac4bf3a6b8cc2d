"""Tests for ``protocol/hub_session.py``: the hub's end of a relay socket, fed frame by frame."""

from __future__ import annotations

import pytest

from protocol import frames as f
from protocol.close_codes import CloseCode
from protocol.hub_session import (
    AckReceived,
    HeartbeatReceived,
    HelloReceived,
    HubSession,
    ReportReceived,
)
from protocol.session import DEFAULT_MAX_FRAME_BYTES, InvalidState, Phase
from tests.protocol.session_helpers import (
    heartbeat,
    hello,
    hub_after_hello,
    hub_frames,
    hub_with_reports,
    job,
    open_hub,
    report_samples,
    sent,
    text,
    welcome,
)

# --- hello ---------------------------------------------------------------------------------


def test_hub_emits_hello_received_when_first_frame_is_hello() -> None:
    hub = HubSession()
    hub.receive_text(text(hello()))
    assert hub.events_received() == [HelloReceived(hello())]
    assert hub.events_received() == []  # drained
    assert hub.data_to_send() == []
    assert hub.phase is Phase.AWAITING_HELLO
    assert hub.close_code is None


def test_hub_accepts_bytes_when_frame_is_fed_as_bytes() -> None:
    hub = HubSession()
    hub.receive_text(f.encode(hello()))
    assert hub.events_received() == [HelloReceived(hello())]


NOT_HELLO = [
    pytest.param(text(f.Accepted(id="m1")), id="accepted"),
    pytest.param(text(f.Rejected(id="m1", code="busy", message="", retryable=True)), id="rejected"),
    *[pytest.param(text(r), id=type(r).__name__.lower()) for r in report_samples(1)],
    pytest.param(text(heartbeat()), id="heartbeat"),
    pytest.param('{"type":"bogus"}', id="unknown_type"),
    pytest.param(text(welcome()), id="hub_frame"),
]


@pytest.mark.parametrize("data", NOT_HELLO)
def test_hub_closes_1008_when_first_frame_is_not_hello(data: str) -> None:
    hub = HubSession()
    hub.receive_text(data)
    assert hub.close_code == CloseCode.POLICY
    assert hub.close_reason.startswith("the first frame must be hello")
    assert hub.phase is Phase.CLOSED
    assert hub.events_received() == []
    assert hub.data_to_send() == []


def test_hub_sends_welcome_and_opens_when_answering_hello() -> None:
    hub = hub_after_hello()
    hub.send_welcome(welcome())
    assert hub_frames(hub) == [welcome()]
    assert hub.phase is Phase.OPEN


def test_hub_raises_invalid_state_when_welcoming_twice() -> None:
    hub = open_hub()
    with pytest.raises(InvalidState, match="welcome in phase open"):
        hub.send_welcome(welcome())
    assert hub.data_to_send() == []


def test_hub_raises_invalid_state_when_welcoming_after_close() -> None:
    hub = hub_after_hello()
    hub.fail(CloseCode.GOING_AWAY, "bye")
    with pytest.raises(InvalidState, match="welcome in phase closed"):
        hub.send_welcome(welcome())


def test_hub_answers_unexpected_hello_error_when_hello_repeats_after_welcome() -> None:
    hub = open_hub()
    hub.receive_text(text(hello()))
    assert hub_frames(hub) == [
        f.Error(code="unexpected_hello", message="hello was already received")
    ]
    assert hub.events_received() == []
    assert hub.phase is Phase.OPEN


# --- frames after welcome ----------------------------------------------------------------


def test_hub_emits_ack_received_when_accepted_or_rejected_arrives() -> None:
    hub = open_hub()
    rejected = f.Rejected(id="m2", code="bad_number", message="no such number", retryable=False)
    hub.receive_text(text(f.Accepted(id="m1")))
    hub.receive_text(text(rejected))
    assert hub.events_received() == [AckReceived(f.Accepted(id="m1")), AckReceived(rejected)]
    assert hub.data_to_send() == []


def test_hub_emits_heartbeat_received_when_heartbeat_arrives() -> None:
    hub = open_hub()
    hub.receive_text(text(heartbeat()))
    assert hub.events_received() == [HeartbeatReceived(heartbeat())]
    assert hub.data_to_send() == []


INVALID_AFTER_HELLO = [
    pytest.param("{not json", id="malformed"),
    pytest.param("", id="empty"),
    pytest.param("[1, 2]", id="array"),
    pytest.param('"hello"', id="string"),
    pytest.param("{}", id="missing_type"),
    pytest.param('{"type": 3}', id="type_not_str"),
    pytest.param(
        '{"type":"heartbeat","battery":101,"charging":true,"signal":3,"network":"LTE","queue":0}',
        id="battery_101",
    ),
    pytest.param(
        '{"type":"sent","seq":0,"id":"m1","at":"2024-05-01T12:00:00Z","parts":1,"sim_slot":0}',
        id="seq_0",
    ),
    pytest.param(
        '{"type":"delivered","seq":1,"id":"m1","at":"2024-05-01T12:00:00"}', id="naive_time"
    ),
    pytest.param('{"type":"accepted"}', id="missing_id"),
    pytest.param('{"type":"hello","model":"x"}', id="broken_hello"),
]


@pytest.mark.parametrize("data", INVALID_AFTER_HELLO)
def test_hub_closes_1007_when_frame_is_invalid_after_welcome(data: str) -> None:
    hub = open_hub()
    hub.receive_text(data)
    assert hub.close_code == CloseCode.INVALID_DATA
    assert hub.close_reason
    assert hub.phase is Phase.CLOSED
    assert hub.events_received() == []
    assert hub.data_to_send() == []


def test_hub_closes_1007_with_validation_message_when_value_is_out_of_range() -> None:
    hub = open_hub()
    hub.receive_text('{"type":"accepted","id":""}')
    assert hub.close_code == CloseCode.INVALID_DATA
    assert hub.close_reason == "Expected `str` of length >= 1 - at `$.id`"


@pytest.mark.parametrize("data", ["{not json", '{"type":"accepted"}'])
def test_hub_closes_1007_when_frame_is_invalid_after_hello_before_welcome(data: str) -> None:
    hub = hub_after_hello()
    hub.receive_text(data)
    assert hub.close_code == CloseCode.INVALID_DATA


@pytest.mark.parametrize(
    "data",
    [
        pytest.param('{"type":"bogus","id":"m1"}', id="unknown"),
        pytest.param(text(f.Receipt(seq=1)), id="hub_frame"),
    ],
)
def test_hub_answers_error_frame_and_stays_open_when_type_is_unknown_after_welcome(
    data: str,
) -> None:
    hub = open_hub()
    hub.receive_text(data)
    [error] = hub_frames(hub)
    assert isinstance(error, f.Error)
    assert error.code == "unknown_type"
    assert error.message.startswith("unknown frame type")
    assert hub.close_code is None
    assert hub.phase is Phase.OPEN
    assert hub.events_received() == []
    hub.receive_text(text(heartbeat()))  # the session goes on
    assert hub.events_received() == [HeartbeatReceived(heartbeat())]


def test_hub_answers_error_frame_when_type_is_unknown_after_hello_before_welcome() -> None:
    hub = hub_after_hello()
    hub.receive_text('{"type":"bogus"}')
    assert hub.close_code is None
    assert [type(frame) for frame in hub_frames(hub)] == [f.Error]


def test_hub_closes_1007_when_bytes_are_not_utf8_after_welcome() -> None:
    hub = open_hub()
    hub.receive_text(b'{"type":"accepted","id":"m\xff"}')
    assert hub.close_code == CloseCode.INVALID_DATA


# --- size limit ---------------------------------------------------------------------------


def _frame_of_size(size: int) -> str:
    """A valid unknown-field-padded heartbeat of exactly ``size`` UTF-8 bytes."""
    base = text(heartbeat())[:-1] + ',"pad":""}'
    return base[:-2] + "x" * (size - len(base)) + '"}'


@pytest.mark.parametrize("phase", ["before_hello", "after_welcome"])
@pytest.mark.parametrize("as_bytes", [False, True], ids=["str", "bytes"])
def test_hub_closes_1009_when_frame_is_over_size(phase: str, as_bytes: bool) -> None:
    hub = HubSession() if phase == "before_hello" else open_hub()
    data = _frame_of_size(DEFAULT_MAX_FRAME_BYTES + 1)
    hub.receive_text(data.encode() if as_bytes else data)
    assert hub.close_code == CloseCode.TOO_BIG
    assert hub.close_reason == f"frame of {64 * 1024 + 1} bytes is over {64 * 1024}"
    assert hub.events_received() == []
    assert hub.data_to_send() == []


def test_hub_takes_frame_when_it_is_exactly_the_size_limit() -> None:
    hub = open_hub()
    data = _frame_of_size(DEFAULT_MAX_FRAME_BYTES)
    assert len(data.encode()) == DEFAULT_MAX_FRAME_BYTES
    hub.receive_text(data)
    assert hub.close_code is None
    assert hub.events_received() == [HeartbeatReceived(heartbeat())]


def test_hub_counts_utf8_bytes_when_frame_is_str_with_multibyte_characters() -> None:
    hub = HubSession(max_frame_bytes=100)
    data = '{"type":"hello","app_version":"' + "é" * 40 + '"}'  # 72 chars, 112 bytes
    assert len(data) <= 100 < len(data.encode())
    hub.receive_text(data)
    assert hub.close_code == CloseCode.TOO_BIG


def test_hub_uses_given_limit_when_max_frame_bytes_is_set() -> None:
    hub = HubSession(max_frame_bytes=len(f.encode(hello())) - 1)
    hub.receive_text(f.encode(hello()))
    assert hub.close_code == CloseCode.TOO_BIG
    assert hub.events_received() == []


# --- after close ----------------------------------------------------------------------------


def test_hub_receives_nothing_when_closed() -> None:
    hub = HubSession()
    hub.receive_text("{not json")
    assert hub.close_code == CloseCode.POLICY
    hub.receive_text(text(hello()))
    hub.receive_text(text(heartbeat()))
    assert hub.events_received() == []
    assert hub.close_code == CloseCode.POLICY


def test_hub_emits_nothing_when_closed() -> None:
    hub = hub_with_reports(1)
    hub.fail(CloseCode.GOING_AWAY, "bye")
    hub.report_stored(1)  # storage finished after the socket went away
    hub.receive_text('{"type":"bogus"}')
    assert hub.data_to_send() == []
    assert hub.stored_seq == 1


def test_hub_keeps_frames_emitted_before_close_when_closing() -> None:
    hub = open_hub()
    hub.receive_text('{"type":"bogus"}')
    hub.receive_text("{not json")
    assert [type(frame) for frame in hub_frames(hub)] == [f.Error]
    assert hub.close_code == CloseCode.INVALID_DATA


def test_hub_keeps_first_close_code_when_failed_twice() -> None:
    hub = open_hub()
    hub.fail(CloseCode.TOO_BIG, "first")
    hub.fail(CloseCode.POLICY, "second")
    assert (hub.close_code, hub.close_reason) == (CloseCode.TOO_BIG, "first")


def test_hub_truncates_close_reason_to_123_bytes_when_longer() -> None:
    hub = open_hub()
    hub.fail(CloseCode.POLICY, "x" * 500)
    assert hub.close_reason == "x" * 123


def test_hub_truncates_close_reason_between_characters_when_it_is_not_ascii() -> None:
    # 120 Cyrillic letters are 240 bytes: a close frame holds 123 after its code.
    hub = open_hub()
    hub.fail(CloseCode.POLICY, "\u0436" * 120)
    assert hub.close_reason == "\u0436" * 61
    assert len(hub.close_reason.encode()) <= 123


# --- sending jobs ----------------------------------------------------------------------------


@pytest.mark.parametrize("phase", ["before_hello", "after_hello", "closed"])
def test_hub_raises_invalid_state_when_sending_job_or_cancel_before_welcome(phase: str) -> None:
    hub = HubSession() if phase == "before_hello" else hub_after_hello()
    if phase == "closed":
        hub.send_welcome(welcome())
        hub.fail(CloseCode.GOING_AWAY, "bye")
    hub.data_to_send()
    with pytest.raises(InvalidState, match="send in phase"):
        hub.send_job(job())
    with pytest.raises(InvalidState, match="cancel in phase"):
        hub.send_cancel("m1")
    assert hub.data_to_send() == []


def test_hub_sends_job_and_cancel_frames_when_open() -> None:
    hub = open_hub()
    hub.send_job(job("m1"))
    hub.send_job(job("m2"))
    hub.send_cancel("m1")
    assert hub_frames(hub) == [job("m1"), job("m2"), f.Cancel(id="m1")]


# --- reports, dedupe and receipts -------------------------------------------------------


@pytest.mark.parametrize("report", report_samples(1), ids=lambda r: type(r).__name__.lower())
def test_hub_emits_report_received_without_receipt_when_report_is_new(report: f.Report) -> None:
    hub = open_hub()
    hub.receive_text(text(report))
    assert hub.events_received() == [ReportReceived(report)]
    assert hub.data_to_send() == []  # the receipt waits for storage
    assert hub.seen_seq == 1
    assert hub.stored_seq == 0


@pytest.mark.parametrize("report", report_samples(3), ids=lambda r: type(r).__name__.lower())
def test_hub_receipts_stored_seq_at_once_when_report_was_already_stored(
    report: f.Report,
) -> None:
    hub = open_hub(stored_seq=5)
    hub.receive_text(text(report))
    assert hub.events_received() == []
    assert hub_frames(hub) == [f.Receipt(seq=5)]
    assert hub.duplicate_reports == 1


def test_hub_receipts_report_at_once_when_seq_equals_stored_seq() -> None:
    hub = open_hub(stored_seq=5)
    hub.receive_text(text(sent(5)))
    assert hub.events_received() == []
    assert hub_frames(hub) == [f.Receipt(seq=5)]


def test_hub_emits_nothing_when_report_was_seen_but_not_stored() -> None:
    hub = hub_with_reports(1, 2)
    hub.receive_text(text(sent(2)))
    hub.receive_text(text(sent(1)))
    assert hub.events_received() == []
    assert hub.data_to_send() == []
    assert hub.duplicate_reports == 2


def test_hub_emits_report_received_when_seq_follows_stored_seq() -> None:
    hub = open_hub(stored_seq=5)
    hub.receive_text(text(sent(6)))
    assert hub.events_received() == [ReportReceived(sent(6))]


def test_hub_emits_report_received_when_seq_skips_ahead() -> None:
    hub = hub_with_reports(1)
    hub.receive_text(text(sent(4)))
    assert hub.events_received() == [ReportReceived(sent(4))]
    assert hub.seen_seq == 4


def test_hub_emits_receipt_when_report_is_stored() -> None:
    hub = hub_with_reports(1)
    hub.report_stored(1)
    assert hub_frames(hub) == [f.Receipt(seq=1)]
    assert hub.stored_seq == 1


def test_hub_emits_cumulative_receipt_when_several_reports_are_stored() -> None:
    hub = hub_with_reports(1, 2, 3)
    hub.report_stored(3)
    assert hub_frames(hub) == [f.Receipt(seq=3)]
    hub.receive_text(text(sent(2)))  # a repeat now below stored_seq
    assert hub_frames(hub) == [f.Receipt(seq=3)]


def test_hub_receipts_highest_stored_seq_when_storing_an_older_report() -> None:
    hub = hub_with_reports(1, 2)
    hub.report_stored(2)
    hub.report_stored(1)
    assert hub_frames(hub) == [f.Receipt(seq=2), f.Receipt(seq=2)]
    assert hub.stored_seq == 2


@pytest.mark.parametrize(("seqs", "seq"), [((), 1), ((1, 2), 3), ((1,), 9)])
def test_hub_raises_invalid_state_when_storing_a_seq_never_received(
    seqs: tuple[int, ...], seq: int
) -> None:
    hub = hub_with_reports(*seqs)
    with pytest.raises(InvalidState, match=f"seq {seq} was never received"):
        hub.report_stored(seq)
    assert hub.data_to_send() == []
    assert hub.stored_seq == 0


def test_hub_receipts_stored_seq_when_asked_for_it_on_a_new_session() -> None:
    hub = open_hub(stored_seq=4)
    hub.report_stored(4)
    assert hub_frames(hub) == [f.Receipt(seq=4)]
