"""Relays that drop, repeat, reorder, stall or misbehave: nothing is lost or sent twice."""

from __future__ import annotations

import asyncio
import dataclasses
from collections import Counter

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus

from hub.clock import ManualClock
from protocol import frames as f
from relay_sim.profiles import Profile
from tests.e2e import raw_relay
from tests.e2e.conftest import RunningHub, delivered_ids, hub_config, serve_hub

pytestmark = pytest.mark.both_backends  # a route or a state change (conftest.py)


async def test_relay_gets_job_again_after_dropping_before_accept(hub_server: RunningHub) -> None:
    relay = await hub_server.relay("Dropper")
    relay.cut_on_next_job = True

    request_id = await hub_server.send(text="drop me once")
    await relay.wait_until(lambda: request_id in delivered_ids(relay) and relay.outbox_size == 0)

    assert [job.id for job in relay.jobs_received] == [request_id, request_id]
    assert relay.sms_sent == Counter({request_id: 1})
    assert None in relay.close_codes  # the first socket was cut, not closed
    status = await hub_server.status(request_id)
    assert status["status"] == "delivered"
    # Back within the grace: the job was still its own and came again on the new
    # socket (the same attempt), not through the queue.
    assert status["attempts"] == 1
    causes = [h["cause"] for h in status["history"]]
    assert "disconnect" not in causes


async def test_hub_applies_duplicate_and_out_of_order_reports_once(hub_server: RunningHub) -> None:
    messy = Profile("messy", duplicate_report_rate=1.0, out_of_order_rate=1.0)
    relay = await hub_server.relay("Messy", messy)

    ids = [await hub_server.send(text=f"messy {n}") for n in range(5)]
    await relay.wait_until(lambda: set(ids) <= delivered_ids(relay) and relay.outbox_size == 0)

    for request_id in ids:
        status = await hub_server.status(request_id)
        assert status["status"] == "delivered"
        states = [h["state"] for h in status["history"]]
        # delivered came first and implied accepted and sent; the late sent changed nothing
        assert states == ["queued", "dispatched", "accepted", "sent", "delivered"], states
    assert relay.sms_sent == Counter({i: 1 for i in ids})


async def test_hub_refuses_handshake_when_device_token_is_bad(hub_server: RunningHub) -> None:
    with pytest.raises(InvalidStatus) as refused:
        await hub_server.open_socket("rhd_not_a_real_device_token_at_all")
    assert refused.value.response.status_code == 403


async def test_hub_refuses_handshake_without_subprotocol(hub_server: RunningHub) -> None:
    device = await hub_server.pair("No subprotocol")
    from websockets.asyncio.client import connect

    with pytest.raises(InvalidStatus) as refused:
        await connect(
            raw_relay.ws_url(hub_server.base_url),
            additional_headers={"Authorization": f"Bearer {device.device_token}"},
        )
    assert refused.value.response.status_code == 403


async def test_invalid_json_frame_closes_only_that_socket(hub_server: RunningHub) -> None:
    healthy = await hub_server.relay("Healthy")
    device = await hub_server.pair("Broken")
    broken = await hub_server.open_socket(device.device_token)
    await raw_relay.hello(broken)

    await broken.send("{this is not json")
    with pytest.raises(ConnectionClosed):
        await broken.recv()
    assert broken.close_code == 1007

    request_id = await hub_server.send(text="still works")
    await healthy.wait_until(lambda: request_id in delivered_ids(healthy))
    assert (await hub_server.get("/api/v1/health")).json()["relays_online"] == 1


@pytest.mark.parametrize(
    ("first_frame", "close_code"),
    [
        (b'{"type":"heartbeat","battery":50,"charging":true,"signal":3,"network":"lte","queue":0}',
         1008),
        (b"not json at all", 1008),
    ],
)  # fmt: skip
async def test_hub_closes_1008_when_first_frame_is_not_hello(
    hub_server: RunningHub, first_frame: bytes, close_code: int
) -> None:
    device = await hub_server.pair("Rude")
    ws = await hub_server.open_socket(device.device_token)
    await ws.send(first_frame.decode())
    with pytest.raises(ConnectionClosed):
        await ws.recv()
    assert ws.close_code == close_code


async def test_hub_closes_1009_when_frame_is_too_big(hub_server: RunningHub) -> None:
    device = await hub_server.pair("Big")
    ws = await hub_server.open_socket(device.device_token, max_size=None)
    await raw_relay.hello(ws)
    await ws.send('{"type":"heartbeat","network":"' + "x" * 70_000 + '"}')
    with pytest.raises(ConnectionClosed):
        await ws.recv()
    assert ws.close_code == 1009


async def test_hub_answers_unknown_frame_type_with_error_and_stays_open(
    hub_server: RunningHub,
) -> None:
    device = await hub_server.pair("Future app")
    ws = await hub_server.open_socket(device.device_token)
    await raw_relay.hello(ws)

    await ws.send('{"type":"battery_report_v2","level":80}')
    error = await raw_relay.next_frame(ws)

    assert isinstance(error, f.Error) and error.code == "unknown_type"
    request_id = await hub_server.send(text="after the unknown frame")
    job = await raw_relay.next_job(ws)
    assert job.id == request_id


async def test_second_socket_replaces_first_with_4409(hub_server: RunningHub) -> None:
    device = await hub_server.pair("Twice")
    first = await hub_server.open_socket(device.device_token)
    await raw_relay.hello(first)
    second = await hub_server.open_socket(device.device_token)
    await raw_relay.hello(second)

    with pytest.raises(ConnectionClosed):
        await first.recv()
    assert first.close_code == 4409
    request_id = await hub_server.send(text="to the new socket")
    assert (await raw_relay.next_job(second)).id == request_id


async def test_hub_keeps_at_most_max_inflight_jobs_per_relay(hub_server: RunningHub) -> None:
    limit = hub_server.config.relay.max_inflight
    device = await hub_server.pair("Silent")
    ws = await hub_server.open_socket(device.device_token)
    welcome = await raw_relay.hello(ws)
    assert welcome.max_inflight == limit

    ids = [await hub_server.send(text=f"n{n}") for n in range(limit + 3)]
    jobs = [await raw_relay.next_job(ws) for _ in range(limit)]
    assert [j.id for j in jobs] == ids[:limit]

    # Accepting and reporting one frees one slot: exactly the next message comes.
    await ws.send(f.encode(f.Accepted(id=jobs[0].id)).decode())
    sent = f.Sent(seq=1, id=jobs[0].id, at=raw_relay.now(), parts=1, sim_slot=0)
    await ws.send(f.encode(sent).decode())
    frames = [await raw_relay.next_frame(ws), await raw_relay.next_frame(ws)]
    assert f.Receipt(seq=1) in frames
    assert [fr.id for fr in frames if isinstance(fr, f.Send)] == [ids[limit]]


async def test_ack_timeout_moves_job_to_another_relay(tmp_path) -> None:  # type: ignore[no-untyped-def]
    clock = ManualClock()
    async with serve_hub(hub_config(tmp_path), clock) as running:
        device = await running.pair("Stalls")
        stalled = await running.open_socket(device.device_token)
        welcome = await raw_relay.hello(stalled)
        request_id = await running.send(text="who takes me?")
        assert (await raw_relay.next_job(stalled)).id == request_id

        backup = await running.relay("Backup")
        clock.advance(welcome.ack_timeout_s + 1)
        await backup.wait_until(lambda: request_id in delivered_ids(backup))

        assert backup.jobs_received[0].attempt == 2
        status = await running.status(request_id)
        assert status["device_id"] == backup.device_id
        assert "ack_timeout" in [h["cause"] for h in status["history"]]
        await stalled.close()


async def test_silent_relay_goes_offline_after_two_heartbeats(tmp_path) -> None:  # type: ignore[no-untyped-def]
    clock = ManualClock()
    async with serve_hub(hub_config(tmp_path), clock) as running:
        device = await running.pair("Quiet")
        ws = await running.open_socket(device.device_token)
        welcome = await raw_relay.hello(ws)

        clock.advance(2 * welcome.heartbeat_s + 2)
        with pytest.raises(ConnectionClosed):
            await ws.recv()

        assert ws.close_code == 1001
        devices = (await running.get("/api/v1/devices")).json()["items"]
        assert devices[0]["online"] is False


async def test_queued_message_expires_when_no_relay_takes_it(tmp_path) -> None:  # type: ignore[no-untyped-def]
    clock = ManualClock()
    async with serve_hub(hub_config(tmp_path), clock) as running:
        await running.pair("Never online")
        request_id = await running.send(text="too late", ttl_seconds=60)

        swept = asyncio.create_task(running.hub.swept())
        clock.advance(61)
        await swept
        late = await running.relay("Comes later")

        status = await running.status(request_id)
        assert status["status"] == "expired"
        assert status["history"][-1]["cause"] == "expired"
        assert late.jobs_received == []


async def test_hub_respects_relay_parts_per_minute(tmp_path) -> None:  # type: ignore[no-untyped-def]
    clock = ManualClock()
    async with serve_hub(hub_config(tmp_path), clock) as running:
        relay = await running.relay("Slow SIM", parts_per_minute=2)
        ids = [await running.send(text=f"rate {n}") for n in range(3)]

        await relay.wait_until(lambda: set(ids[:2]) <= delivered_ids(relay))
        assert (await running.status(ids[2]))["status"] == "queued"  # decided when it was sent

        clock.advance(61)  # the window frees room: the hub's timer hands out the third
        await relay.wait_until(lambda: ids[2] in delivered_ids(relay))
        assert relay.sms_sent == Counter({i: 1 for i in ids})


async def test_hub_restart_resumes_queued_messages(tmp_path) -> None:  # type: ignore[no-untyped-def]
    config = hub_config(tmp_path)
    async with serve_hub(config) as first:
        device = await first.pair("Comes after restart")
        ids = [await first.send(text=f"kept {n}") for n in range(3)]

    async with serve_hub(config) as second:  # a new port: point the device at it
        moved = dataclasses.replace(device, ws_url=raw_relay.ws_url(second.base_url))
        relay = await second.relay("Comes after restart", device=moved)
        await relay.wait_until(lambda: set(ids) <= delivered_ids(relay))
        assert relay.sms_sent == Counter({i: 1 for i in ids})
