"""Tests for the messaging engine (``hub/messaging/engine.py``): failed writes, and
how the engine recovers what storage holds. See ``engine_rig`` for how the engine
is driven without sockets."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from hub.config import load_config
from hub.ids import new_id
from hub.messaging.message import LiveMessage
from protocol import frames as f
from protocol.lifecycle import State
from tests.hub.messaging.engine_rig import Env, engine_env, jobs


async def test_engine_halts_and_reloads_when_a_write_fails(env: Env) -> None:
    phone = await env.device("A")
    conn = env.connect(phone)
    message = await env.send()
    jobs(conn)
    await env.messaging.on_ack(conn, f.Accepted(id=message.id))
    await env.settled()

    env.faults.fail_next()
    sent = f.Sent(seq=1, id=message.id, at=env.clock.now(), parts=1, sim_slot=0)
    conn.session.receive_text(f.encode(sent))
    conn.session.events_received()
    await env.messaging.on_report(conn, sent)
    await env.settled()
    await env.messaging.ready()

    assert conn.closing and conn.session.close_code == 1011
    assert not env.messaging.rebuilding
    reloaded = env.messaging.live_message(message.id)
    assert reloaded is not None
    assert reloaded is not message
    assert reloaded.state is State.ACCEPTED  # what storage holds, not what memory had
    assert await env.state(message.id) == ("accepted", phone.id)


async def test_engine_closes_only_the_reporting_socket_when_its_reports_data_fails_the_write(
    env: Env,
) -> None:
    # Issue 16, finding 1: a seq SQLite cannot hold failed the report's write and
    # the hub fenced, closing every relay. The frame check refuses such a seq now;
    # this feeds one past it, as any value the protocol missed would arrive.
    hostile, healthy = await env.device("Hostile"), await env.device("Healthy")
    conn = env.connect(hostile)
    message = await env.send(device_id=hostile.id)
    assert jobs(conn) == [message.id]
    await env.messaging.on_ack(conn, f.Accepted(id=message.id))
    await env.settled()
    other = env.connect(healthy)

    bad = f.Delivered(seq=2**63, id=message.id, at=env.clock.now())
    await env.messaging.on_report(conn, bad)
    await env.settled()
    await env.messaging.background_settled()  # the re-read of the message

    assert conn.closing and conn.session.close_code == 1011  # no receipt: it is not stored
    assert not other.closing  # no fence: the other relay keeps its socket
    assert not env.messaging.rebuilding
    assert env.messaging.live_message(message.id) is message  # memory was not thrown away…
    assert message.state is State.ACCEPTED  # …but says what storage says again
    assert await env.state(message.id) == ("accepted", hostile.id)
    assert env.messaging.in_flight(hostile.id) == 1  # this message, its only job
    after = await env.send(device_id=healthy.id)
    assert jobs(other) == [after.id]


async def test_engine_forgets_a_new_message_whose_insert_failed_for_its_own_data(
    env: Env,
) -> None:
    phone = await env.device("A")
    conn = env.connect(phone)
    now = env.clock.now()
    broken = LiveMessage(
        id=new_id("req", now), account_id=env.account_id, to="+998901234567",
        text="hi", parts=1, encoding="gsm7", requested_device_id=None, sim_slot=None,
        queued_at=now, expires_at=now + timedelta(hours=1),
        batch_id=2**63,  # type: ignore[arg-type]  (a value SQLite cannot bind)
    )  # fmt: skip

    with pytest.raises(OverflowError):
        await env.messaging.submit(broken)
    await env.settled()
    await env.messaging.background_settled()

    assert not env.messaging.rebuilding and not conn.closing
    assert env.messaging.live_message(broken.id) is None
    assert env.messaging.queued_count(env.account_id) == 0
    assert jobs(conn) == []
    good = await env.send()
    assert jobs(conn) == [good.id]


async def test_engine_never_stores_a_report_past_one_that_failed(tmp_path: Path) -> None:
    config = load_config(overrides={"server": {"data_dir": str(tmp_path)}})
    async with engine_env(tmp_path, config, batch_max=1) as env:  # each report its own transaction
        await _never_stores_a_report_past_one_that_failed(env)


async def _never_stores_a_report_past_one_that_failed(env: Env) -> None:
    phone = await env.device("A")
    conn = env.connect(phone)
    first, second = await env.send("one"), await env.send("two")
    jobs(conn)
    for m in (first, second):
        await env.messaging.on_ack(conn, f.Accepted(id=m.id))
    await env.settled()

    env.faults.fail_next()
    now = env.clock.now()
    sent_one = f.Sent(seq=1, id=first.id, at=now, parts=1, sim_slot=0)
    sent_two = f.Sent(seq=2, id=second.id, at=now, parts=1, sim_slot=0)
    # Submitted back to back, before the first commit fails.
    await env.messaging.on_report(conn, sent_one)
    await env.messaging.on_report(conn, sent_two)
    await env.settled()

    row = await env.store.fetchone("SELECT last_seq FROM devices WHERE id = ?", (phone.id,))
    assert row is not None and row["last_seq"] == 0
    assert await env.state(second.id) == ("accepted", phone.id)
