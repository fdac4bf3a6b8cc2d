"""The account view and the launch-readiness checklist, as an account goes live."""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import RunningHub, delivered_ids


def checks(body: dict[str, Any]) -> dict[str, bool]:
    return {c["name"]: c["ok"] for c in body["checks"]}


async def test_readiness_turns_green_step_by_step(hub_server: RunningHub) -> None:
    empty = (await hub_server.get("/api/v1/launch/readiness")).json()
    assert empty["ready"] is False
    assert checks(empty) == {
        "token": True, "subscription": True, "device_paired": False,
        "device_online": False, "message_delivered": False,
    }  # fmt: skip
    failing = [c for c in empty["checks"] if not c["ok"]]
    assert all(c["fix"] for c in failing)

    relay = await hub_server.relay("Phone")
    request_id = await hub_server.send(text="first")
    await relay.wait_until(lambda: request_id in delivered_ids(relay) and relay.outbox_size == 0)

    ready = (await hub_server.get("/api/v1/launch/readiness")).json()
    assert ready["ready"] is True
    assert all(c["fix"] is None for c in ready["checks"])


async def test_account_shows_limits_and_usage(hub_server: RunningHub) -> None:
    relay = await hub_server.relay("Phone")
    request_id = await hub_server.send(text="count me")
    await relay.wait_until(lambda: request_id in delivered_ids(relay) and relay.outbox_size == 0)

    body = (await hub_server.get("/api/v1/account")).json()

    assert body["name"] == "Default account"
    assert body["limits"] == {"send_per_minute": 6000, "max_queued": 100_000}
    assert body["usage"] == {"sent_today": 1, "queued_now": 0, "devices": 1, "devices_online": 1}
