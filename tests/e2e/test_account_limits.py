"""Operator settings on an account and what every send then answers."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from hub.clock import ManualClock, rfc3339
from tests.e2e.conftest import ADMIN_TOKEN, RunningHub, hub_config, serve_hub
from tests.e2e.test_api_errors import assert_problem

pytestmark = pytest.mark.both_backends  # a route or a state change (conftest.py)

SEND = "/api/v1/sms/send"
MESSAGE = {"to": "+998901234567", "text": "hi"}


async def customer(hub: RunningHub) -> tuple[str, str]:
    """A new account with one paired (offline) phone: (account id, its token)."""
    created = (await hub.post("/api/v1/admin/accounts", {"name": "Shop"})).json()
    token = created["token"]
    code = (await hub.post("/api/v1/relay/pairing-codes", {}, token)).json()["pairing_code"]
    assert (await hub.post("/api/v1/relay/app/pair", {"pairing_code": code}, None)).is_success
    return created["account_id"], token


async def patch(hub: RunningHub, account_id: str, body: dict[str, Any]) -> httpx.Response:
    return await hub.client.patch(
        f"{hub.base_url}/api/v1/admin/accounts/{account_id}",
        json=body,
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
    )


async def test_paused_account_gets_409_queue_blocked_until_resumed(hub_server: RunningHub) -> None:
    account_id, token = await customer(hub_server)

    assert (await patch(hub_server, account_id, {"paused": True})).json()["paused"] is True
    assert_problem(await hub_server.post(SEND, MESSAGE, token), 409, "queue_blocked")

    await patch(hub_server, account_id, {"paused": False})
    assert (await hub_server.post(SEND, MESSAGE, token)).status_code == 202


async def test_expired_subscription_gets_402_but_reads_still_work(tmp_path: Path) -> None:
    clock = ManualClock()
    async with serve_hub(hub_config(tmp_path), clock) as running:
        account_id, token = await customer(running)
        ends = rfc3339(clock.now() + timedelta(days=1))
        await patch(running, account_id, {"subscription_expires_at": ends})
        assert (await running.post(SEND, MESSAGE, token)).status_code == 202

        clock.advance(86_401)

        problem = assert_problem(
            await running.post(SEND, MESSAGE, token), 402, "subscription_expired"
        )
        assert ends in problem["detail"]
        assert (await running.get("/api/v1/messages", token)).status_code == 200


async def test_send_rate_is_a_token_bucket_with_ratelimit_headers(tmp_path: Path) -> None:
    clock = ManualClock()
    async with serve_hub(hub_config(tmp_path), clock) as running:
        account_id, token = await customer(running)
        await patch(running, account_id, {"limits": {"send_per_minute": 2}})

        first = [await running.post(SEND, MESSAGE, token) for _ in range(2)]
        limited = await running.post(SEND, MESSAGE, token)

        assert [r.status_code for r in first] == [202, 202]
        assert_problem(limited, 429, "rate_limited")
        assert limited.headers["retry-after"] == "30"  # 2 a minute: one every 30 s
        assert limited.headers["ratelimit-policy"] == '"send";q=2;w=60'
        assert limited.headers["ratelimit"] == '"send";r=0;t=30'

        clock.advance(30)
        assert (await running.post(SEND, MESSAGE, token)).status_code == 202


async def test_full_queue_gets_409_queue_blocked(hub_server: RunningHub) -> None:
    account_id, token = await customer(hub_server)  # its phone is offline: messages wait
    await patch(hub_server, account_id, {"limits": {"max_queued": 2}})

    statuses = [(await hub_server.post(SEND, MESSAGE, token)).status_code for _ in range(3)]

    assert statuses == [202, 202, 409]


async def test_patch_answers_404_for_unknown_account_and_422_for_bad_fields(
    hub_server: RunningHub,
) -> None:
    assert_problem(await patch(hub_server, "acc_NOPE", {"paused": True}), 404, "not_found")
    account_id, _ = await customer(hub_server)
    bad = {"paused": "yes", "limits": {"send_per_minute": 0}, "plan": "gold"}
    problem = assert_problem(await patch(hub_server, account_id, bad), 422, "validation_error")
    assert {e["field"] for e in problem["errors"]} >= {"paused", "limits.send_per_minute"}


async def test_account_settings_survive_a_restart(tmp_path: Path) -> None:
    config = hub_config(tmp_path)
    async with serve_hub(config) as first:
        account_id, token = await customer(first)
        await patch(first, account_id, {"paused": True, "limits": {"max_queued": 7}})
    async with serve_hub(config) as second:
        accounts = (await second.get("/api/v1/admin/accounts")).json()["items"]
        (shop,) = [a for a in accounts if a["account_id"] == account_id]
        assert shop["paused"] is True and shop["limits"]["max_queued"] == 7
        assert_problem(await second.post(SEND, MESSAGE, token), 409, "queue_blocked")
