"""Tests for both session ends joined in memory (``SessionPair``): whole conversations,
reconnects with replay and dedupe, and repeated attempts of a job."""

from __future__ import annotations

from datetime import UTC, datetime

from protocol import frames as f
from protocol.hub_session import (
    AckReceived,
    HeartbeatReceived,
    ReportReceived,
)
from protocol.relay_session import (
    ErrorReceived,
    JobReceived,
    ReceiptReceived,
    RelayLedger,
    RelaySession,
)
from protocol.session import Phase
from tests.protocol.session_helpers import AT, LATER, SessionPair, heartbeat, job


def test_pair_completes_a_conversation_when_relay_sends_and_delivers() -> None:
    pair = SessionPair()
    pair.handshake()
    assert pair.hub.phase is Phase.OPEN
    assert pair.relay.phase is Phase.OPEN

    pair.hub.send_job(job("m1"))
    assert pair.to_relay().events == [JobReceived(job("m1"))]

    pair.relay.accept("m1")
    assert pair.to_hub().events == [AckReceived(f.Accepted(id="m1"))]

    report = pair.relay.report_sent("m1", AT, parts=1, sim_slot=0)
    assert pair.to_hub().events == [ReportReceived(report)]
    pair.hub.report_stored(report.seq)
    moved = pair.to_relay()
    assert moved.frames == [f.Receipt(seq=1)]
    assert moved.events == [ReceiptReceived(1)]
    assert pair.ledger.outbox == []

    report = pair.relay.report_delivered("m1", LATER)
    assert pair.to_hub().events == [ReportReceived(report)]
    pair.hub.report_stored(report.seq)
    assert pair.to_relay().events == [ReceiptReceived(2)]
    assert pair.ledger.outbox == []

    assert pair.hub.close_code is None
    assert pair.relay.close_code is None
    assert pair.hub.duplicate_reports == 0


def test_pair_carries_inbound_sms_and_heartbeat_when_relay_reports_them() -> None:
    pair = SessionPair()
    pair.handshake()
    received = pair.relay.report_received("+998901234567", "STOP", AT, 0)
    pair.relay.send_heartbeat(heartbeat())
    assert pair.to_hub().events == [ReportReceived(received), HeartbeatReceived(heartbeat())]


def test_pair_replays_and_dedupes_when_relay_reconnects() -> None:
    pair = SessionPair()
    pair.handshake()
    pair.hub.send_job(job("m1"))
    pair.hub.send_job(job("m2"))
    pair.to_relay()
    pair.relay.accept("m1")
    pair.relay.reject("m2", "no_sim", "no SIM", retryable=False)
    pair.to_hub()

    # Report 1 reaches the hub and is stored, but its receipt is lost with the socket.
    sent_report = pair.relay.report_sent("m1", AT, parts=1, sim_slot=0)
    pair.to_hub()
    pair.hub.report_stored(1)
    pair = pair.reconnect()
    # Report 2 is made while the relay is offline.
    delivered_report = pair.relay.report_delivered("m1", LATER)
    assert pair.ledger.outbox == [sent_report, delivered_report]

    pair.handshake("ses_2")
    replay = pair.to_hub()
    assert replay.frames == [sent_report, delivered_report]  # in order
    assert replay.events == [ReportReceived(delivered_report)]  # 1 was already stored
    assert pair.hub.duplicate_reports == 1
    receipts = pair.to_relay()
    assert receipts.frames == [f.Receipt(seq=1)]
    assert pair.ledger.outbox == [delivered_report]

    pair.hub.report_stored(2)
    assert pair.to_relay().events == [ReceiptReceived(2)]
    assert pair.ledger.outbox == []

    # After welcome the hub re-sends what it still thinks is dispatched.
    pair.hub.send_job(job("m1"))
    pair.hub.send_job(job("m2"))
    assert pair.to_relay().events == []  # the app never sees a job twice
    answers = pair.to_hub()
    assert answers.frames == [
        f.Accepted(id="m1"),
        f.Rejected(id="m2", code="no_sim", message="no SIM", retryable=False),
    ]
    assert [type(event) for event in answers.events] == [AckReceived, AckReceived]


def test_pair_answers_unknown_type_with_error_when_relay_is_newer() -> None:
    pair = SessionPair()
    pair.handshake()
    pair.hub.receive_text('{"type":"battery_saver","on":true}')
    moved = pair.to_relay()
    assert [type(frame) for frame in moved.frames] == [f.Error]
    assert [type(event) for event in moved.events] == [ErrorReceived]
    assert pair.hub.close_code is None
    assert pair.relay.close_code is None


def test_relay_treats_a_later_attempt_as_new_after_a_retryable_rejection() -> None:
    session = RelaySession(RelayLedger())
    session.send_hello(HELLO_FOR_RETRY)
    session.receive_text(f.encode(WELCOME_FOR_RETRY))
    first = send_for_retry(attempt=1)
    session.receive_text(f.encode(first))
    session.events_received()
    session.reject(first.id, "busy", "try later", retryable=True)
    session.data_to_send()

    session.receive_text(f.encode(send_for_retry(attempt=1)))  # the same attempt again
    assert session.events_received() == []
    (repeated,) = session.data_to_send()
    assert f.decode_relay_frame(repeated) == f.Rejected(
        id="req_retry", code="busy", message="try later", retryable=True
    )

    later = send_for_retry(attempt=2)
    session.receive_text(f.encode(later))
    assert session.events_received() == [JobReceived(later)]


def test_relay_answers_a_later_attempt_from_its_ledger_after_a_final_rejection() -> None:
    session = RelaySession(RelayLedger())
    session.send_hello(HELLO_FOR_RETRY)
    session.receive_text(f.encode(WELCOME_FOR_RETRY))
    first = send_for_retry(attempt=1)
    session.receive_text(f.encode(first))
    session.events_received()
    session.reject(first.id, "bad_number", "no", retryable=False)
    session.data_to_send()

    session.receive_text(f.encode(send_for_retry(attempt=2)))

    assert session.events_received() == []
    assert len(session.data_to_send()) == 1  # the same rejection again


HELLO_FOR_RETRY = f.Hello(
    app_version="1", model="m", os="a", sims=[f.Sim(slot=0, carrier="c")],
    limits=f.Limits(parts_per_minute=30),
)  # fmt: skip
WELCOME_FOR_RETRY = f.Welcome(
    device_id="dev_1", session_id="ses_1", heartbeat_s=30, ack_timeout_s=30, max_inflight=8,
    server_time=datetime(2026, 1, 1, tzinfo=UTC),
)  # fmt: skip


def send_for_retry(attempt: int) -> f.Send:
    return f.Send(
        id="req_retry", to="+998901234567", text="hi",
        expires_at=datetime(2026, 1, 2, tzinfo=UTC), attempt=attempt,
    )  # fmt: skip
