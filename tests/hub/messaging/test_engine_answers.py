"""Tests for the messaging engine (``hub/messaging/engine.py``): relays' answers and
reports (late takeovers, retryable rejections, cumulative receipts). See
``engine_rig`` for how the engine is driven without sockets."""

from __future__ import annotations

from protocol import frames as f
from tests.hub.messaging.engine_rig import Env, frames_out, jobs


async def test_engine_sends_takeover_cancel_only_after_it_is_stored(env: Env) -> None:
    a, b = await env.device("A"), await env.device("B")
    conn_b = env.connect(b)
    message = await env.send()
    assert jobs(conn_b) == [message.id]  # B's answer will come too late
    conn_a = env.connect(a)
    env.clock.advance(env.config.relay.ack_timeout_s + 1)
    env.messaging.sweep()
    await env.settled()
    assert jobs(conn_a) == [message.id]

    # B says it has the job from its earlier attempt: it takes it over.
    await env.messaging.on_ack(conn_b, f.Accepted(id=message.id))
    assert frames_out(conn_a) == []  # not yet: the takeover is not committed
    await env.settled()

    assert frames_out(conn_a) == [f.Cancel(id=message.id)]
    assert await env.state(message.id) == ("accepted", b.id)


async def test_engine_offers_a_retryable_rejection_to_another_relay_first(env: Env) -> None:
    a, b = await env.device("A"), await env.device("B")
    conn_a = env.connect(a)
    message = await env.send()
    assert jobs(conn_a) == [message.id]
    conn_b = env.connect(b)
    frames_out(conn_b)

    rejected = f.Rejected(id=message.id, code="busy", message="", retryable=True)
    await env.messaging.on_ack(conn_a, rejected)
    await env.settled()

    assert jobs(conn_b) == [message.id]
    assert jobs(conn_a) == []


async def test_engine_waits_before_retrying_on_the_only_relay(env: Env) -> None:
    phone = await env.device("A")
    conn = env.connect(phone)
    message = await env.send()
    assert jobs(conn) == [message.id]

    rejected = f.Rejected(id=message.id, code="busy", message="", retryable=True)
    await env.messaging.on_ack(conn, rejected)
    await env.settled()
    assert jobs(conn) == []  # not at once: the phone said it was busy
    assert message.attempts == 1

    env.clock.advance(2.5)  # 2 ** attempts seconds later the wake-up hands it out again
    await env.messaging.background_settled()
    await env.settled()
    assert jobs(conn) == [message.id]
    assert message.attempts == 2


async def test_connection_queues_one_receipt_for_reports_stored_together(env: Env) -> None:
    """Receipts are cumulative: a newer one replaces one still queued, so a
    commit of many reports cannot fill a relay's queue with receipts."""
    phone = await env.device("A")
    conn = env.connect(phone)
    frames_out(conn)

    now = env.clock.now()
    for seq in range(1, 6):
        received = f.Received(seq=seq, from_="+998901111111", text="hi", at=now, sim_slot=0)
        conn.session.receive_text(f.encode(received))
    conn.session.events_received()
    for seq in range(1, 6):
        conn.report_stored(seq)

    assert frames_out(conn) == [f.Receipt(seq=5)]
