"""Nothing waits in silence: while a message is queued, its status says why
(``waiting``), and the reason goes away once a phone takes it.

Real hub, real sockets: relays from relay_sim, or a hand-driven socket where a
relay must hold a job without answering.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest

from hub.api.schemas import MessageStatus
from hub.clock import ManualClock
from protocol import frames as f
from tests.e2e import raw_relay
from tests.e2e.conftest import RunningHub, delivered_ids, hub_config, serve_hub

pytestmark = pytest.mark.both_backends  # a route or a state change (conftest.py)


async def waiting_of(hub: RunningHub, request_id: str) -> dict[str, Any] | None:
    status = await hub.status(request_id)
    msgspec.convert(status, MessageStatus)  # the OpenAPI type names every field it has
    waiting: dict[str, Any] | None = status["waiting"]
    return waiting


async def test_a_send_with_no_phone_online_waits_for_one_and_stops_waiting_once_it_connects(
    hub_server: RunningHub,
) -> None:
    device = await hub_server.pair("Relay Device 1")  # paired, app not open
    request_id = await hub_server.send()

    waiting = await waiting_of(hub_server, request_id)
    listed = (await hub_server.get("/api/v1/messages")).json()["items"]

    assert waiting is not None
    assert waiting["reason"] == "no_relay_online"
    assert "no phone of this account is online" in waiting["detail"]
    assert "relayhub sim" in waiting["detail"]  # says what to do
    assert "until" not in waiting  # it waits on a phone, not on a time
    assert [m["waiting"] for m in listed] == [waiting]

    relay = await hub_server.relay("Relay Device 1", device=device)
    await relay.wait_until(lambda: request_id in delivered_ids(relay) and relay.outbox_size == 0)

    status = await hub_server.status(request_id)
    assert status["status"] == "delivered"
    assert status["waiting"] is None


async def test_a_send_pinned_to_an_offline_device_says_so_while_another_phone_is_online(
    hub_server: RunningHub,
) -> None:
    pinned = await hub_server.pair("Pinned phone")
    other = await hub_server.relay("Other phone")
    request_id = await hub_server.send(device_id=pinned.device_id)

    waiting = await waiting_of(hub_server, request_id)

    assert waiting is not None
    assert waiting["reason"] == "no_relay_online"
    assert pinned.device_id in waiting["detail"]
    assert "device_id" in waiting["detail"]  # how to let any phone take it
    assert other.jobs_received == []

    relay = await hub_server.relay("Pinned phone", device=pinned)
    await relay.wait_until(lambda: request_id in delivered_ids(relay) and relay.outbox_size == 0)
    assert (await hub_server.status(request_id))["waiting"] is None


async def test_a_send_waits_as_relays_busy_while_the_only_phone_holds_max_inflight_jobs(
    tmp_path: Path,
) -> None:
    async with serve_hub(hub_config(tmp_path / "data", relay={"max_inflight": 1})) as hub:
        device = await hub.pair("Busy phone")
        ws = await hub.open_socket(device.device_token)
        await raw_relay.hello(ws)
        first = await hub.send(text="first")
        job = await raw_relay.next_job(ws)  # held: the phone does not answer yet
        second = await hub.send(text="second")

        busy = await waiting_of(hub, second)
        held = await waiting_of(hub, first)

        await ws.send(f.encode(f.Accepted(id=job.id)).decode())
        sent = f.Sent(seq=1, id=job.id, at=raw_relay.now(), parts=1, sim_slot=0)
        await ws.send(f.encode(sent).decode())
        next_job = await raw_relay.next_job(ws)  # the slot it freed goes to the second
        after = await hub.status(second)

    assert job.id == first and held is None  # with a phone: not waiting
    assert busy is not None
    assert busy["reason"] == "relays_busy"
    assert "max_inflight" in busy["detail"]
    assert "until" not in busy  # a slot frees when the phone reports: no time to promise
    assert next_job.id == second
    assert after["status"] == "dispatched" and after["waiting"] is None


async def test_a_send_over_the_phones_rate_waits_as_relays_busy_until_the_window_ages(
    tmp_path: Path,
) -> None:
    clock = ManualClock()
    # Heartbeats far apart: moving the clock must not make the socket look silent
    # (a reconnect would pump the queue and hide a missing wake-up).
    config = hub_config(tmp_path / "data", relay={"heartbeat_s": 600})
    async with serve_hub(config, clock=clock) as hub:
        relay = await hub.relay("Slow phone", parts_per_minute=1)
        first = await hub.send(text="first")
        await relay.wait_until(lambda: first in delivered_ids(relay))
        second = await hub.send(text="second")

        waiting = await waiting_of(hub, second)
        sent_at = clock.now()
        clock.advance(61)  # the rate window ages: the hub's own timer places it
        await relay.wait_until(lambda: second in delivered_ids(relay) and relay.outbox_size == 0)
        after = await hub.status(second)
        closes = list(relay.close_codes)

    assert waiting is not None
    assert waiting["reason"] == "relays_busy"
    assert "parts_per_minute" in waiting["detail"]
    until = datetime.fromisoformat(waiting["until"])
    assert sent_at < until <= sent_at + timedelta(seconds=60)
    assert after["waiting"] is None
    assert closes == []  # placed by the hub's own timer, on the same socket


async def test_only_an_sms_status_shows_its_text(hub_server: RunningHub) -> None:
    await hub_server.pair("Relay Device 1")
    sms = await hub_server.send(text="Salom, your parcel is ready")
    otp = await hub_server.post("/api/v1/otp/send", {"to": "+998901234567", "purpose": "login"})
    assert otp.status_code == 200, otp.text

    sms_status = await hub_server.status(sms)
    otp_status = await hub_server.status(otp.json()["request_id"])

    assert sms_status["text"] == "Salom, your parcel is ready"
    assert otp_status["kind"] == "otp"
    assert otp_status["text"] is None  # the code never leaves the hub through the API
