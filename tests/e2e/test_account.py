"""The account view and the launch-readiness checklist, as an account goes live."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import RunningHub, delivered_ids, hub_config, serve_hub
from tests.e2e.receiver import serve_receiver
from tests.e2e.webhook_log import settled

pytestmark = pytest.mark.both_backends  # a route or a state change (conftest.py)


def checks(body: dict[str, Any]) -> dict[str, bool]:
    return {c["name"]: c["ok"] for c in body["checks"]}


async def test_readiness_turns_green_step_by_step(hub_server: RunningHub) -> None:
    empty = (await hub_server.get("/api/v1/launch/readiness")).json()
    assert empty["ready"] is False
    assert checks(empty) == {
        "token": True, "subscription": True, "device_paired": False,
        "device_online": False, "message_delivered": False, "real_phone": False,
        "https": False, "webhook_answers": False, "private_webhook_targets": True,
    }  # fmt: skip
    failing = [c for c in empty["checks"] if not c["ok"]]
    assert all(c["fix"] for c in failing)

    relay = await hub_server.relay("Phone")
    request_id = await hub_server.send(text="first")
    await relay.wait_until(lambda: request_id in delivered_ids(relay) and relay.outbox_size == 0)

    # Green but for what a simulated phone on loopback cannot give (tests/e2e/test_readiness.py).
    later = (await hub_server.get("/api/v1/launch/readiness")).json()
    assert later["ready"] is False
    failing = [c["name"] for c in later["checks"] if c["fix"]]
    assert failing == ["real_phone", "https", "webhook_answers"]


async def test_readiness_sees_a_webhook_endpoint_that_answers(tmp_path: Path) -> None:
    config = hub_config(tmp_path / "data", webhooks={"allow_private_targets": True})
    async with serve_receiver() as receiver, serve_hub(config) as hub:
        await hub.post("/api/v1/webhooks", {"url": receiver.url, "events": ["device.online"]})
        before = (await hub.get("/api/v1/launch/readiness")).json()
        await hub.relay("Phone")
        await settled(hub, lambda d: d["status"] == "succeeded")
        after = (await hub.get("/api/v1/launch/readiness")).json()

    (waiting,) = [c for c in before["checks"] if c["name"] == "webhook_answers"]
    (answered,) = [c for c in after["checks"] if c["name"] == "webhook_answers"]
    assert waiting["ok"] is False
    assert waiting["detail"] == "1 endpoint(s); no delivery attempted yet"
    assert answered["ok"] is True
    assert answered["detail"].startswith("the latest delivery was answered 204")


async def test_account_shows_limits_and_usage(hub_server: RunningHub) -> None:
    relay = await hub_server.relay("Phone")
    request_id = await hub_server.send(text="count me")
    await relay.wait_until(lambda: request_id in delivered_ids(relay) and relay.outbox_size == 0)

    body = (await hub_server.get("/api/v1/account")).json()

    assert body["name"] == "Default account"
    assert body["limits"] == {"send_per_minute": 6000, "max_queued": 100_000}
    assert body["usage"] == {"sent_today": 1, "queued_now": 0, "devices": 1, "devices_online": 1}
