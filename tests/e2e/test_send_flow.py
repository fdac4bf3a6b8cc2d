"""A message from POST to delivered, through real relays over real sockets."""

from __future__ import annotations

from collections import Counter

import pytest

from tests.e2e.conftest import RunningHub, delivered_ids, sent_ids, wait_any

pytestmark = pytest.mark.both_backends  # a route or a state change (conftest.py)


async def test_hub_delivers_sms_when_one_relay_is_online(hub_server: RunningHub) -> None:
    relay = await hub_server.relay("Relay Device 1")

    request_id = await hub_server.send("90 123 45 67", "Salom, dunyo")
    await relay.wait_until(lambda: request_id in delivered_ids(relay) and relay.outbox_size == 0)

    status = await hub_server.status(request_id)
    assert status["status"] == "delivered"
    assert status["to"] == "+998901234567"
    assert status["device_id"] == relay.device_id
    assert status["device_name"] == "Relay Device 1"
    assert status["attempts"] == 1
    assert status["parts"] == 1
    assert status["error"] is None
    for stamp in ("queued_at", "dispatched_at", "accepted_at", "sent_at", "delivered_at"):
        assert status[stamp], stamp
    assert [h["state"] for h in status["history"]] == [
        "queued", "dispatched", "accepted", "sent", "delivered",
    ]  # fmt: skip
    assert relay.sms_sent == Counter({request_id: 1})
    assert relay.jobs_received[0].to == "+998901234567"
    assert relay.jobs_received[0].attempt == 1


async def test_hub_sends_to_named_device_only_when_manual(hub_server: RunningHub) -> None:
    relays = [await hub_server.relay(f"Relay {n}") for n in range(3)]
    chosen = relays[1]

    ids = [await hub_server.send(text=f"manual {n}", device_id=chosen.device_id) for n in range(6)]
    await chosen.wait_until(lambda: set(ids) <= delivered_ids(chosen))

    assert set(chosen.sms_sent) == set(ids)
    assert relays[0].jobs_received == [] and relays[2].jobs_received == []


async def test_hub_spreads_sends_over_relays_when_auto(hub_server: RunningHub) -> None:
    relays = [await hub_server.relay(f"Relay {n}") for n in range(3)]

    ids = [await hub_server.send(text=f"auto {n}") for n in range(30)]
    await wait_any(relays, lambda: set(ids) <= {i for r in relays for i in delivered_ids(r)})

    per_relay = [len(r.sms_sent) for r in relays]
    assert sum(per_relay) == 30
    assert all(count > 0 for count in per_relay), per_relay
    assert Counter(sent_ids(relays)) == Counter({i: 1 for i in ids})


async def test_hub_lists_devices_with_presence_and_telemetry(hub_server: RunningHub) -> None:
    online = await hub_server.relay("Online phone")
    await hub_server.pair("Paired but offline")
    # The hub reads a socket's frames in order: once a report sent after the
    # first heartbeat is receipted, that heartbeat has been handled too.
    request_id = await hub_server.send(text="after the heartbeat")
    await online.wait_until(lambda: request_id in delivered_ids(online) and online.outbox_size == 0)

    response = await hub_server.get("/api/v1/devices")

    assert response.status_code == 200
    devices = {d["name"]: d for d in response.json()["items"]}
    assert devices["Online phone"]["online"] is True
    assert devices["Online phone"]["id"] == online.device_id
    assert devices["Online phone"]["sims"][0]["slot"] == 0
    assert 0 <= devices["Online phone"]["battery"] <= 100
    assert devices["Online phone"]["last_heartbeat_at"] is not None
    assert devices["Paired but offline"]["online"] is False
    assert devices["Paired but offline"]["in_flight"] == 0


async def test_hub_lists_messages_newest_first_with_cursor(hub_server: RunningHub) -> None:
    await hub_server.pair("Offline phone")
    ids = [await hub_server.send(text=f"m{n}") for n in range(5)]

    first = (await hub_server.get("/api/v1/messages?limit=3")).json()
    second = (
        await hub_server.get(f"/api/v1/messages?limit=3&cursor={first['next_cursor']}")
    ).json()

    listed = [m["request_id"] for m in first["items"] + second["items"]]
    assert listed == list(reversed(ids))
    assert second["next_cursor"] is None
    queued = (await hub_server.get("/api/v1/messages?status=queued")).json()["items"]
    assert len(queued) == 5


async def test_messages_are_found_by_a_number_written_any_way(hub_server) -> None:  # type: ignore[no-untyped-def]
    await hub_server.relay("A")
    request_id = await hub_server.send(to="+998901234567")

    local = (await hub_server.get("/api/v1/messages?to=90%20123%2045%2067")).json()["items"]
    bad = await hub_server.get("/api/v1/messages?to=12")

    assert [m["request_id"] for m in local] == [request_id]
    assert bad.status_code == 422
