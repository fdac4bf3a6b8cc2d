"""Tests for the messaging engine (``hub/messaging/engine.py``): relay sockets coming
and going, the hello handshake, and the grace before a closed socket's jobs go back
to the queue. See ``engine_rig`` for how the engine is driven without sockets."""

from __future__ import annotations

from pathlib import Path

from hub.config import load_config
from protocol import frames as f
from protocol.lifecycle import State
from tests.hub.messaging.engine_rig import HELLO, Env, engine_env, jobs


async def test_engine_keeps_jobs_when_a_socket_closes_without_hello(env: Env) -> None:
    phone = await env.device("A")
    live = env.connect(phone)
    message = await env.send()
    assert jobs(live) == [message.id]

    ghost = env.open(phone)  # the same device's token, a socket that never says hello
    env.messaging.on_disconnect(ghost, 1006)
    await env.settled()

    assert message.state is State.DISPATCHED
    assert await env.state(message.id) == ("dispatched", phone.id)


async def test_engine_requeues_jobs_once_the_grace_after_the_socket_closes_ends(
    env: Env,
) -> None:
    a, b = await env.device("A"), await env.device("B")
    conn_a = env.connect(a)
    message = await env.send()
    assert jobs(conn_a) == [message.id]
    grace = env.config.relay.requeue_grace_s

    env.messaging.on_disconnect(conn_a, 1006)
    conn_b = env.connect(b)
    env.clock.advance(grace - 0.5)
    env.messaging.sweep()
    await env.settled()
    still_a = await env.state(message.id)
    env.clock.advance(0.5)
    env.messaging.sweep()
    await env.settled()

    assert still_a == ("dispatched", a.id)
    assert jobs(conn_b) == [message.id]
    assert await env.state(message.id) == ("dispatched", b.id)
    causes = await env.store.fetchall(
        "SELECT cause FROM message_events WHERE message_id = ? ORDER BY seq", (message.id,)
    )
    assert [r["cause"] for r in causes] == ["api", "dispatch", "disconnect", "dispatch"]


async def test_engine_gives_unanswered_jobs_back_to_a_relay_that_returns_within_the_grace(
    env: Env,
) -> None:
    """Its `accepted` may have been lost with the socket: the job is re-sent to it,
    not to another phone, and its answer on the new socket counts."""
    a, b = await env.device("A"), await env.device("B")
    conn_a = env.connect(a)
    message = await env.send()
    assert jobs(conn_a) == [message.id]

    env.messaging.on_disconnect(conn_a, None)
    conn_b = env.connect(b)
    env.clock.advance(1)
    again = env.connect(a)
    resent = jobs(again)
    await env.messaging.on_ack(again, f.Accepted(id=message.id))
    env.clock.advance(env.config.relay.requeue_grace_s)
    env.messaging.sweep()
    await env.settled()

    assert resent == [message.id]
    assert jobs(conn_b) == []
    assert await env.state(message.id) == ("accepted", a.id)
    attempts = await env.store.fetchone("SELECT attempts FROM messages WHERE id = ?", (message.id,))
    assert attempts is not None and attempts["attempts"] == 1


async def test_engine_counts_an_accepted_that_arrives_on_a_socket_being_closed(
    env: Env,
) -> None:
    a, b = await env.device("A"), await env.device("B")
    conn_a = env.connect(a)
    message = await env.send()
    assert jobs(conn_a) == [message.id]

    conn_a.close(1013, "too slow")
    await env.messaging.on_ack(conn_a, f.Accepted(id=message.id))
    env.messaging.on_disconnect(conn_a, 1013)
    conn_b = env.connect(b)
    env.clock.advance(env.config.relay.requeue_grace_s + 1)
    env.messaging.sweep()
    await env.settled()

    assert jobs(conn_b) == []
    assert await env.state(message.id) == ("accepted", a.id)


async def test_engine_requeues_at_once_when_the_grace_is_zero(tmp_path: Path) -> None:
    config = load_config(
        overrides={"server": {"data_dir": str(tmp_path)}, "relay": {"requeue_grace_s": 0}}
    )
    async with engine_env(tmp_path, config) as env:
        phone = await env.device("A")
        conn = env.connect(phone)
        message = await env.send()

        env.messaging.on_disconnect(conn, 1006)
        await env.settled()

        assert (await env.state(message.id))[0] == "queued"


async def test_engine_keeps_jobs_dispatched_when_the_server_restarts_the_socket(
    env: Env,
) -> None:
    phone = await env.device("A")
    conn = env.connect(phone)
    message = await env.send()

    env.messaging.server_stopping()  # HubServer says so before uvicorn closes sockets
    env.messaging.on_disconnect(conn, 1012)  # uvicorn closing every socket on shutdown
    await env.settled()

    assert await env.state(message.id) == ("dispatched", phone.id)


async def test_engine_requeues_when_a_relay_itself_closes_with_1012(env: Env) -> None:
    phone = await env.device("A")
    conn = env.connect(phone)
    message = await env.send()

    env.messaging.on_disconnect(conn, 1012)  # sent by the relay, not by a stopping hub
    env.clock.advance(env.config.relay.requeue_grace_s)
    env.messaging.sweep()
    await env.settled()

    assert (await env.state(message.id))[0] == "queued"


async def test_engine_closes_a_socket_that_never_says_hello(env: Env) -> None:
    phone = await env.device("A")
    silent = env.open(phone)

    env.clock.advance(env.config.relay.heartbeat_s + 1)
    env.messaging.sweep()

    assert silent.closing
    assert silent.session.close_code == 1008
    assert not env.messaging.awaits_hello(silent)


async def test_engine_refuses_hello_from_a_device_revoked_during_the_handshake(env: Env) -> None:
    phone = await env.device("A")
    conn = env.open(phone)  # accepted, not yet welcomed
    await env.devices.revoke(phone)

    conn.session.receive_text(f.encode(HELLO))
    conn.session.events_received()
    env.messaging.on_hello(conn, HELLO)

    assert conn.closing and conn.session.close_code == 4403
    assert env.messaging.socket_facts(phone.id) is None  # never registered
