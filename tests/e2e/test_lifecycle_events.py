"""The events themselves, end to end: presence, inbound SMS, failures and expiry."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from hub.clock import ManualClock
from relay_sim.profiles import PROFILES
from tests.e2e import raw_relay
from tests.e2e.conftest import RunningHub, hub_config, serve_hub
from tests.e2e.receiver import serve_receiver

pytestmark = pytest.mark.both_backends  # a route or a state change (conftest.py)

GRACE_S = 20.0


async def events(hub: RunningHub, type_: str | None = None) -> list[dict[str, Any]]:
    """The events stored so far (after every pending write has committed)."""
    await hub.hub.store.write(lambda conn: None)
    rows = await hub.hub.store.fetchall("SELECT type, body FROM events ORDER BY seq")
    found = [json.loads(r["body"]) for r in rows]
    return [e for e in found if type_ is None or e["type"] == type_]


async def sweep_after(hub: RunningHub, clock: ManualClock, seconds: float) -> None:
    swept = asyncio.create_task(hub.hub.swept())
    clock.advance(seconds)
    await swept


def presence_config(tmp_path: Path, **relay: Any) -> Any:
    return hub_config(tmp_path / "data", relay={"offline_grace_s": GRACE_S, **relay})


async def test_a_relay_that_disconnects_is_announced_offline_once_its_grace_runs_out(
    tmp_path: Path,
) -> None:
    clock = ManualClock()
    async with serve_hub(presence_config(tmp_path), clock) as hub:
        relay = await hub.relay("A")
        (online,) = await events(hub, "device.online")
        await relay.stop()
        gone_at = clock.now()

        await sweep_after(hub, clock, GRACE_S - 1)
        assert await events(hub, "device.offline") == []
        await sweep_after(hub, clock, 1)
        (offline,) = await events(hub, "device.offline")

    assert online["data"]["status"] == "online"
    assert online["data"]["name"] == "A"
    assert offline["data"]["device_id"] == online["data"]["device_id"]
    assert offline["data"]["status"] == "offline"
    assert datetime.fromisoformat(offline["data"]["at"]) == gone_at.replace(
        microsecond=gone_at.microsecond // 1000 * 1000
    )


async def test_a_relay_that_reconnects_within_the_grace_announces_nothing(tmp_path: Path) -> None:
    clock = ManualClock()
    async with serve_hub(presence_config(tmp_path), clock) as hub:
        relay = await hub.relay("A")
        await relay.cut()  # dropped; the relay reconnects by itself
        await relay.wait_until(lambda: len(relay.close_codes) == 1)
        await relay.wait_welcomed()
        await sweep_after(hub, clock, GRACE_S + 1)

        assert [e["type"] for e in await events(hub)] == ["device.online"]


async def test_a_silent_relay_is_offline_within_twice_the_heartbeat_plus_the_grace(
    tmp_path: Path,
) -> None:
    clock = ManualClock()
    config = presence_config(tmp_path, heartbeat_s=30)
    async with serve_hub(config, clock) as hub:
        device = await hub.pair("Silent")
        ws = await hub.open_socket(device.device_token)
        await raw_relay.hello(ws)  # then not one frame more
        await sweep_after(hub, clock, 2 * 30 + 1)  # the hub gives up on the socket
        assert await events(hub, "device.offline") == []
        await sweep_after(hub, clock, GRACE_S)

        (offline,) = await events(hub, "device.offline")
    assert offline["data"]["device_id"] == device.device_id


async def test_a_relay_not_back_after_a_hub_restart_is_announced_offline(tmp_path: Path) -> None:
    config = presence_config(tmp_path)
    async with serve_hub(config) as hub:
        relay = await hub.relay("A")
        await relay.stop()  # gone while the hub is down

    clock = ManualClock()
    async with serve_hub(config, clock) as hub:
        await sweep_after(hub, clock, GRACE_S)
        types = [e["type"] for e in await events(hub)]
    assert types == ["device.online", "device.offline"]


async def test_an_inbound_sms_becomes_a_message_received_event(hub_server: RunningHub) -> None:
    relay = await hub_server.relay("A")
    report = relay.receive_sms("+998935550101", "Salom, bu javob")
    await relay.wait_until(lambda: relay.outbox_size == 0)

    (received,) = await events(hub_server, "message.received")
    assert received["data"]["from"] == "+998935550101"
    assert received["data"]["text"] == "Salom, bu javob"
    assert received["data"]["id"].startswith("inb_")
    assert received["data"]["sim_slot"] == report.sim_slot
    assert datetime.fromisoformat(received["data"]["received_at"]) == report.at.replace(
        microsecond=report.at.microsecond // 1000 * 1000
    )


async def test_an_expired_message_is_a_message_failed_event_with_the_reason(
    tmp_path: Path,
) -> None:
    clock = ManualClock()
    async with serve_hub(hub_config(tmp_path / "data"), clock) as hub:
        await hub.pair("Never online")
        request_id = await hub.send(ttl_seconds=60)
        await sweep_after(hub, clock, 61)
        (failed,) = await events(hub, "message.failed")

    assert failed["data"]["request_id"] == request_id
    assert failed["data"]["status"] == "expired"
    assert failed["data"]["error"]["code"] == "expired"


async def test_a_relay_reported_failure_is_a_message_failed_event_with_its_code(
    tmp_path: Path,
) -> None:
    failing = dataclasses.replace(PROFILES["ideal"], name="failing", send_failure_rate=1.0)
    async with (
        serve_receiver() as receiver,
        serve_hub(hub_config(tmp_path / "data", webhooks={"allow_private_targets": True})) as hub,
    ):
        await hub.post("/api/v1/webhooks", {"url": receiver.url, "events": ["message.failed"]})
        await hub.relay("A", failing)
        request_id = await hub.send()
        await receiver.wait_until(lambda: len(receiver.events()) == 1)

    (failed,) = receiver.events()
    assert failed["data"]["request_id"] == request_id
    assert failed["data"]["status"] == "failed"
    assert failed["data"]["error"]["code"]
