"""``GET /v1/events``: the live stream of the account's events (Server-Sent Events)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from relay_sim.pairing import pair_device
from tests.e2e.conftest import RunningHub, delivered_ids, hub_config, serve_hub
from tests.e2e.sse import Message, open_stream

pytestmark = pytest.mark.both_backends  # a route or a state change (conftest.py)


async def stored_event_ids(hub: RunningHub) -> list[str]:
    rows = await hub.hub.store.fetchall("SELECT id FROM events ORDER BY seq")
    return [r["id"] for r in rows]


async def test_the_stream_carries_each_message_event_with_its_id_type_and_webhook_body(
    hub_server: RunningHub,
) -> None:
    await hub_server.relay("A")
    async with open_stream(hub_server) as stream:
        assert stream.response.status_code == 200
        assert stream.response.headers["content-type"].startswith("text/event-stream")
        assert stream.response.headers["cache-control"] == "no-cache"
        request_id = await hub_server.send()
        sent, delivered = await stream.take(2)

    assert stream.retry_ms == 3000
    assert (sent.event, delivered.event) == ("message.sent", "message.delivered")
    for message in (sent, delivered):
        assert message.id is not None and message.id.startswith("evt_")
        assert message.body["type"] == message.event
        assert message.body["data"]["request_id"] == request_id
    assert [sent.id, delivered.id] == (await stored_event_ids(hub_server))[-2:]


async def test_a_client_that_reconnects_with_last_event_id_misses_nothing(
    hub_server: RunningHub,
) -> None:
    relay = await hub_server.relay("A")
    seen: list[Message] = []
    async with open_stream(hub_server) as stream:
        for n in range(3):
            await hub_server.send(text=f"before {n}")
        seen += await stream.take(2)
    # Away: these events happen while no stream is open.
    for n in range(3):
        await hub_server.send(text=f"away {n}")
    await relay.wait_until(lambda: len(delivered_ids(relay)) == 6)

    async with open_stream(hub_server, last_event_id=seen[-1].id) as stream:
        seen += await stream.take(10)  # 6 messages, sent and delivered each, minus the 2 read

    ids = [m.id for m in seen]
    stored = await stored_event_ids(hub_server)
    assert ids == stored[stored.index(ids[0]) :]
    assert len(set(ids)) == 12


async def test_an_unknown_last_event_id_gets_a_reset_then_the_new_events(
    hub_server: RunningHub,
) -> None:
    await hub_server.relay("A")
    async with open_stream(hub_server, last_event_id="evt_NOTKNOWN") as stream:
        reset = await stream.next()
        await hub_server.send()
        first = await stream.next()

    assert reset.event == "reset"
    assert reset.id is None
    assert reset.body == {"reason": "last_event_id_unknown"}
    assert first.event == "message.sent"


async def test_the_types_filter_narrows_the_stream_and_an_unknown_type_is_a_422(
    hub_server: RunningHub,
) -> None:
    await hub_server.relay("A")
    async with open_stream(hub_server, "?types=message.delivered") as stream:
        first = await hub_server.send(text="one")
        second = await hub_server.send(text="two")
        events = await stream.take(2)

    assert [m.event for m in events] == ["message.delivered"] * 2
    assert [m.body["data"]["request_id"] for m in events] == [first, second]
    bad = await hub_server.get("/api/v1/events?types=message.sent,message.lost")
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "types"
    assert "message.lost" in bad.json()["errors"][0]["message"]


async def test_an_account_streams_only_its_own_events(hub_server: RunningHub) -> None:
    created = await hub_server.post("/api/v1/admin/accounts", {"name": "Other shop"})
    other_token = created.json()["token"]
    await hub_server.relay("A")
    async with open_stream(hub_server, token=other_token) as stream:
        await hub_server.send()  # the first account's events, before the other's own
        device = await pair_device(hub_server.client, hub_server.base_url, other_token, "B")
        await hub_server.relay("B", device=device)
        first = await stream.next()

    assert first.event == "device.online"
    assert first.body["data"]["name"] == "B"


async def test_an_idle_stream_gets_keepalive_comments(tmp_path: Path) -> None:
    config = hub_config(tmp_path / "data", events={"keepalive_s": 0.05})
    async with serve_hub(config) as hub, open_stream(hub) as stream:
        # Nothing happens on this account: after the retry advice, only comments.
        first_lines = [await anext(stream.lines) for _ in range(6)]

    assert first_lines == ["retry: 3000", "", ": keepalive", "", ": keepalive", ""]


async def test_the_stream_needs_a_token_with_messages_read(hub_server: RunningHub) -> None:
    anonymous = await hub_server.get("/api/v1/events", token=None)
    created = await hub_server.post(
        "/api/v1/tokens", {"name": "sender only", "scopes": ["sms.send"]}
    )
    narrow = await hub_server.get("/api/v1/events", token=created.json()["token"])

    assert anonymous.status_code == 401
    assert narrow.status_code == 403


async def test_stopping_the_hub_ends_open_streams_cleanly(tmp_path: Path) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        async with serve_hub(hub_config(tmp_path / "data"), client=client) as hub:
            stream_cm = open_stream(hub)
            stream = await stream_cm.__aenter__()
        # The hub has stopped: the stream ended with a complete body, not a cut connection.
        with pytest.raises(EOFError):
            await stream.next()
        await stream_cm.__aexit__(None, None, None)


async def test_a_stream_ends_when_its_token_is_revoked(hub_server: RunningHub) -> None:
    created = (
        await hub_server.post("/api/v1/tokens", {"name": "dash", "scopes": ["messages.read"]})
    ).json()
    await hub_server.relay("A")
    async with open_stream(hub_server, token=created["token"]) as stream:
        await hub_server.send(text="seen")
        assert (await stream.next()).event == "message.sent"
        revoked = await hub_server.client.delete(
            f"{hub_server.base_url}/api/v1/tokens/{created['id']}",
            headers={"Authorization": "Bearer rh_e2e_admin_token_0123456789abcdef"},
        )
        assert revoked.status_code == 200
        unseen = await hub_server.send(text="not for a revoked token")

        after: list[str] = []
        with pytest.raises(EOFError):  # the stream ends
            while True:
                after.append((await stream.next()).body["data"]["request_id"])
    assert unseen not in after
