"""Webhook endpoints: secrets shown once and sealed at rest, the SSRF guard, rotation,
and Standard Webhooks signatures checked with the ``standardwebhooks`` package."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from hub.clock import ManualClock
from hub.webhooks import signer
from tests.e2e.conftest import ADMIN_TOKEN, RunningHub, hub_config, serve_hub
from tests.e2e.test_api_errors import assert_problem

pytestmark = pytest.mark.both_backends  # a route or a state change (conftest.py)

HOOKS = "/api/v1/webhooks"
PUBLIC_URL = "https://93.184.216.34/hooks/relayhub"  # a literal public address: no DNS needed


async def call(hub: RunningHub, method: str, path: str, body: object = None) -> httpx.Response:
    return await hub.client.request(
        method, hub.base_url + path, json=body, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
    )


async def test_endpoint_secret_is_shown_once_and_sealed_at_rest(
    hub_server: RunningHub, tmp_path: Path
) -> None:
    created = await hub_server.post(HOOKS, {"url": PUBLIC_URL, "events": ["message.sent"]})
    assert created.status_code == 201, created.text
    body = created.json()
    secret = body["secret"]
    assert secret.startswith("whsec_") and body["events"] == ["message.sent"]

    listed = await hub_server.get(HOOKS)
    one = await hub_server.get(f"{HOOKS}/{body['id']}")
    assert secret not in listed.text and secret not in one.text
    await hub_server.hub.store.write(lambda conn: None)
    needles = (secret.encode(), secret.removeprefix("whsec_").encode())
    found = await asyncio.to_thread(
        files_containing, Path(hub_server.config.server.data_dir), needles
    )
    assert found == []


def files_containing(folder: Path, needles: tuple[bytes, ...]) -> list[str]:
    """Every file of the data folder (database, WAL, keys) that holds a needle in clear."""
    return [
        str(path) for path in folder.rglob("*")
        if path.is_file() and any(n in path.read_bytes() for n in needles)
    ]  # fmt: skip


async def test_signatures_verify_with_the_standard_webhooks_package(hub_server: RunningHub) -> None:
    created = (await hub_server.post(HOOKS, {"url": PUBLIC_URL})).json()
    payload = json.dumps({"type": "message.sent", "timestamp": "now", "data": {}}).encode()
    secrets = await hub_server.hub.webhook_endpoints.signing_secrets(created["id"])
    headers = signer.headers(secrets, "msg_1", int(time.time()), payload)

    assert Webhook(created["secret"]).verify(payload, headers)["type"] == "message.sent"


async def test_rotation_signs_with_both_secrets_until_the_overlap_ends(tmp_path: Path) -> None:
    clock = ManualClock()
    async with serve_hub(hub_config(tmp_path), clock) as running:
        created = (await running.post(HOOKS, {"url": PUBLIC_URL})).json()
        rotated = await call(running, "POST", f"{HOOKS}/{created['id']}/rotate-secret")
        old, new = created["secret"], rotated.json()["secret"]
        assert old != new and rotated.json()["previous_secret_valid_until"]

        payload = b'{"type":"message.sent"}'
        now = int(time.time())
        secrets = await running.hub.webhook_endpoints.signing_secrets(created["id"])
        during = signer.headers(secrets, "msg_2", now, payload)
        assert Webhook(old).verify(payload, during) and Webhook(new).verify(payload, during)

        clock.advance(running.config.webhooks.rotation_overlap_s + 1)
        after = await running.hub.webhook_endpoints.signing_secrets(created["id"])
        assert after == [new]
        shown = (await running.get(f"{HOOKS}/{created['id']}")).json()
        assert shown["previous_secret_valid_until"] is None


async def test_internal_targets_are_refused_unless_allowed(tmp_path: Path) -> None:
    async with serve_hub(hub_config(tmp_path / "strict")) as strict:
        for url in (
            "http://127.0.0.1:9000/hook",
            "http://localhost/hook",
            "http://10.1.2.3/h",
            "http://169.254.169.254/latest/meta-data",
            "ftp://93.184.216.34/x",
        ):
            problem = assert_problem(await strict.post(HOOKS, {"url": url}), 422,
                                     "validation_error")  # fmt: skip
            assert problem["errors"][0]["field"] == "url", url
    config = hub_config(tmp_path / "dev", webhooks={"allow_private_targets": True})
    async with serve_hub(config) as dev:
        assert (await dev.post(HOOKS, {"url": "http://127.0.0.1:9000/hook"})).status_code == 201


async def test_endpoint_can_be_changed_and_deleted(hub_server: RunningHub) -> None:
    endpoint = (await hub_server.post(HOOKS, {"url": PUBLIC_URL})).json()
    path = f"{HOOKS}/{endpoint['id']}"

    changed = await call(hub_server, "PATCH", path, {"enabled": False, "events": ["otp.verified"]})
    assert changed.json()["enabled"] is False and changed.json()["events"] == ["otp.verified"]
    bad = await call(hub_server, "PATCH", path, {"events": ["message.lost"]})
    assert_problem(bad, 422, "validation_error")

    assert (await call(hub_server, "DELETE", path)).status_code == 200
    assert_problem(await call(hub_server, "GET", path), 404, "not_found")


async def test_rotation_overlap_is_configured_in_hub_toml(hub_server: RunningHub) -> None:
    assert hub_server.config.webhooks.rotation_overlap_s == int(timedelta(days=1).total_seconds())


async def test_endpoints_are_listed_in_pages(hub_server: RunningHub) -> None:
    made = [(await hub_server.post(HOOKS, {"url": PUBLIC_URL})).json()["id"] for _ in range(3)]

    first = (await hub_server.get(f"{HOOKS}?limit=2")).json()
    second = (await hub_server.get(f"{HOOKS}?limit=2&cursor={first['next_cursor']}")).json()

    assert [e["id"] for e in first["items"]] == made[:2]
    assert [e["id"] for e in second["items"]] == made[2:]
    assert second["next_cursor"] is None
