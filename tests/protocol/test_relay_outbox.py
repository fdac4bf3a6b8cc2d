"""Tests for ``protocol/relay_session.py``: reports, the outbox that outlives sockets, receipts."""

from __future__ import annotations

from protocol import frames as f
from protocol.close_codes import CloseCode
from protocol.relay_session import (
    Job,
    JobStatus,
    ReceiptReceived,
    RelayLedger,
    RelaySession,
    Welcomed,
)
from tests.protocol.session_helpers import (
    AT,
    LATER,
    heartbeat,
    hello,
    job,
    open_relay,
    relay_after_hello,
    relay_frames,
    relay_with_job,
    sent,
    text,
    welcome,
)

# --- reports, outbox, receipts ------------------------------------------------------------


def test_relay_emits_reports_with_growing_seq_when_open() -> None:
    relay = relay_with_job(JobStatus.ACCEPTED)
    s = relay.report_sent("m1", AT, parts=2, sim_slot=1)
    d = relay.report_delivered("m1", LATER)
    r = relay.report_received("+998901234567", "reply", LATER, 0)
    assert s == f.Sent(seq=1, id="m1", at=AT, parts=2, sim_slot=1)
    assert d == f.Delivered(seq=2, id="m1", at=LATER)
    assert r == f.Received(seq=3, from_="+998901234567", text="reply", at=LATER, sim_slot=0)
    assert relay_frames(relay) == [s, d, r]
    assert relay.ledger.outbox == [s, d, r]
    assert relay.ledger.jobs["m1"].status is JobStatus.FINISHED


def test_relay_finishes_job_when_reporting_failed() -> None:
    relay = relay_with_job(JobStatus.ACCEPTED)
    report = relay.report_failed("m1", AT, "generic", "radio off", retryable=True, android_result=2)
    assert report == f.Failed(
        seq=1, id="m1", at=AT, code="generic", message="radio off", retryable=True, android_result=2
    )
    assert relay_frames(relay) == [report]
    assert relay.ledger.jobs["m1"].status is JobStatus.FINISHED


def test_relay_keeps_job_status_when_reporting_delivered() -> None:
    relay = relay_with_job(JobStatus.ACCEPTED)
    relay.report_delivered("m1", AT)
    assert relay.ledger.jobs["m1"].status is JobStatus.ACCEPTED


def test_relay_sends_reports_only_after_welcome_when_made_before_welcome() -> None:
    ledger = RelayLedger()
    ledger.jobs["m1"] = Job(job("m1"), JobStatus.ACCEPTED)
    relay = relay_after_hello(ledger)
    s = relay.report_sent("m1", AT, parts=1, sim_slot=0)
    r = relay.report_received("+998901234567", "hi", AT, 0)
    assert relay.data_to_send() == []
    assert ledger.outbox == [s, r]
    relay.receive_text(text(welcome()))
    assert relay_frames(relay) == [s, r]


def test_relay_drops_reports_made_before_hello_until_welcome() -> None:
    relay = RelaySession(RelayLedger())
    report = relay.report_received("+998901234567", "hi", AT, 0)
    relay.send_hello(hello())
    assert relay_frames(relay) == [hello()]
    relay.receive_text(text(welcome()))
    assert relay_frames(relay) == [report]


def test_relay_replays_outbox_in_order_when_welcomed_on_a_new_session() -> None:
    first = relay_with_job(JobStatus.ACCEPTED)
    reports = [
        first.report_sent("m1", AT, parts=1, sim_slot=0),
        first.report_received("+998901234567", "a", AT, 0),
        first.report_delivered("m1", LATER),
    ]
    first.fail(CloseCode.GOING_AWAY, "network lost")
    second = relay_after_hello(first.ledger)
    assert second.data_to_send() == []
    second.receive_text(text(welcome("ses_2")))
    assert second.events_received() == [Welcomed(welcome("ses_2"))]
    assert relay_frames(second) == reports
    assert second.ledger.outbox == reports  # kept until a receipt covers them


def test_relay_continues_seq_when_reporting_on_a_new_session() -> None:
    first = open_relay()
    first.report_received("+998901234567", "a", AT, 0)
    first.fail(CloseCode.GOING_AWAY, "bye")
    second = open_relay(first.ledger)
    report = second.report_received("+998901234567", "b", AT, 0)
    assert report.seq == 2


def test_relay_drops_only_covered_reports_when_receipt_arrives() -> None:
    relay = open_relay()
    reports = [relay.report_received("+998901234567", str(i), AT, 0) for i in range(4)]
    relay.receive_text(text(f.Receipt(seq=2)))
    assert relay.events_received() == [ReceiptReceived(2)]
    assert relay.ledger.outbox == reports[2:]
    relay.receive_text(text(f.Receipt(seq=4)))
    assert relay.events_received() == [ReceiptReceived(4)]
    assert relay.ledger.outbox == []


def test_relay_keeps_outbox_when_receipt_covers_nothing_new() -> None:
    relay = open_relay()
    relay.report_received("+998901234567", "a", AT, 0)
    relay.receive_text(text(f.Receipt(seq=1)))
    outbox = relay.ledger.outbox
    relay.report_received("+998901234567", "b", AT, 0)
    relay.events_received()
    relay.receive_text(text(f.Receipt(seq=1)))  # a repeated receipt
    assert relay.events_received() == [ReceiptReceived(1)]
    assert relay.ledger.outbox is outbox
    assert [r.seq for r in outbox] == [2]


def test_relay_resends_report_as_is_when_open() -> None:
    relay = open_relay()
    report = relay.report_received("+998901234567", "a", AT, 0)
    relay.data_to_send()
    relay.resend_report(report)
    assert relay_frames(relay) == [report]
    assert relay.ledger.outbox == [report]
    assert relay.ledger.last_seq == 1


def test_relay_drops_resend_when_not_welcomed() -> None:
    relay = relay_after_hello()
    relay.resend_report(sent(1))
    assert relay.data_to_send() == []


def test_relay_sends_heartbeat_only_when_open() -> None:
    relay = relay_after_hello()
    relay.send_heartbeat(heartbeat())
    assert relay.data_to_send() == []
    relay.receive_text(text(welcome()))
    relay.send_heartbeat(heartbeat())
    assert relay_frames(relay) == [heartbeat()]
