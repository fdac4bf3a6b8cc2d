"""Launch readiness tells the truth: simulated phones, plain http on a public
address and private webhook targets each show up, against a real hub with real
relays.

A "real" phone here is a relay_sim relay that introduces itself as a Pixel (its
hello's model and os): that is all the hub can know about a phone.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

import relay_sim.pairing
import relay_sim.phone
from hub.api.launch_checks import SIMULATED_OS_MARK, SIMULATOR_MODEL
from tests.e2e.conftest import ADMIN_TOKEN, RunningHub, delivered_ids, hub_config, serve_hub

# What a TLS proxy in front of the hub tells it (uvicorn trusts a local proxy).
BEHIND_TLS = {"X-Forwarded-Proto": "https", "Host": "sms.example.com"}


@pytest.fixture
def real_phones(monkeypatch: pytest.MonkeyPatch) -> None:
    """Relays started from here on say they are a Pixel 8 on Android 14."""
    monkeypatch.setattr(relay_sim.phone, "MODEL", "Pixel 8")
    monkeypatch.setattr(relay_sim.phone, "OS", "Android 14")
    monkeypatch.setattr(relay_sim.pairing, "MODEL", "Pixel 8")


async def readiness(hub: RunningHub, headers: dict[str, str] | None = None) -> dict[str, Any]:
    response = await hub.client.get(
        f"{hub.base_url}/api/v1/launch/readiness",
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}", **(headers or {})},
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def check(body: dict[str, Any], name: str) -> dict[str, Any]:
    (found,) = [c for c in body["checks"] if c["name"] == name]
    return found


async def deliver_one(hub: RunningHub, name: str = "Phone") -> None:
    """A relay online and one message delivered through it."""
    relay = await hub.relay(name)
    request_id = await hub.send(text="first")
    await relay.wait_until(lambda: request_id in delivered_ids(relay) and relay.outbox_size == 0)


@pytest.fixture
async def private_targets_hub(tmp_path: Path) -> AsyncIterator[RunningHub]:
    config = hub_config(tmp_path / "data", webhooks={"allow_private_targets": True})
    async with serve_hub(config) as hub:
        yield hub


def test_the_hub_recognises_relay_sim_by_how_its_hello_introduces_it() -> None:
    assert relay_sim.phone.MODEL == SIMULATOR_MODEL
    assert SIMULATED_OS_MARK in relay_sim.phone.OS


async def test_readiness_is_not_ready_while_every_online_phone_is_simulated(
    hub_server: RunningHub,
) -> None:
    await deliver_one(hub_server)

    body = await readiness(hub_server, BEHIND_TLS)

    assert body["ready"] is False
    real = check(body, "real_phone")
    assert real["ok"] is False and real["optional"] is False
    assert real["detail"] == (
        "every online phone (1) is simulated by relay-sim: no real SMS leaves the hub"
    )
    assert "real Android phone" in real["fix"]
    # It is the only thing in the way: the rest of the checklist passed.
    assert [c["name"] for c in body["checks"] if not c["ok"] and not c["optional"]] == [
        "real_phone"
    ]


@pytest.mark.usefixtures("real_phones")
async def test_readiness_is_ready_with_a_real_phone_behind_tls(hub_server: RunningHub) -> None:
    await deliver_one(hub_server, "Pixel")

    body = await readiness(hub_server, BEHIND_TLS)

    assert body["ready"] is True
    assert check(body, "real_phone") == {
        "name": "real_phone", "ok": True, "optional": False,
        "detail": "1 real phone(s) online", "fix": None,
    }  # fmt: skip
    assert check(body, "https")["detail"] == "served at https://sms.example.com"
    assert check(body, "private_webhook_targets")["ok"] is True
    assert [c["name"] for c in body["checks"] if not c["ok"]] == ["webhook_answers"]


async def test_readiness_counts_a_real_phone_among_simulated_ones(
    hub_server: RunningHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    await hub_server.relay("Simulated")
    monkeypatch.setattr(relay_sim.phone, "MODEL", "Pixel 8")
    monkeypatch.setattr(relay_sim.phone, "OS", "Android 14")
    await hub_server.relay("Pixel")

    real = check(await readiness(hub_server), "real_phone")

    assert real["ok"] is True
    assert real["detail"] == "1 real phone(s) online, besides 1 simulated"


@pytest.mark.parametrize("where", ["public_url", "Host header"])
async def test_readiness_fails_plain_http_on_a_public_address(tmp_path: Path, where: str) -> None:
    public_url = "http://sms.example.com" if where == "public_url" else ""
    config = hub_config(tmp_path / "data", server={"public_url": public_url})
    async with serve_hub(config) as hub:
        body = await readiness(hub, {"Host": "sms.example.com"})

    https = check(body, "https")
    assert body["ready"] is False
    assert https["ok"] is False and https["optional"] is False
    assert https["detail"].startswith("served over plain http at http://sms.example.com:")
    assert 'public_url = "https://…"' in https["fix"]


async def test_readiness_only_warns_about_plain_http_on_loopback(hub_server: RunningHub) -> None:
    https = check(await readiness(hub_server), "https")

    assert https["ok"] is False and https["optional"] is True
    assert https["detail"] == (
        f"served over plain http at {hub_server.base_url}, a loopback address:"
        " only this machine can reach it"
    )
    assert https["fix"]


@pytest.mark.usefixtures("real_phones")
async def test_readiness_warns_when_private_webhook_targets_are_allowed(
    private_targets_hub: RunningHub,
) -> None:
    await deliver_one(private_targets_hub, "Pixel")

    body = await readiness(private_targets_hub, BEHIND_TLS)

    private = check(body, "private_webhook_targets")
    assert private["ok"] is False and private["optional"] is True
    assert private["detail"].startswith("[webhooks] allow_private_targets = true")
    assert "allow_private_targets = false" in private["fix"]
    assert body["ready"] is True  # a warning, shown, that does not hold the launch back
