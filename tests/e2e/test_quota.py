"""Issue 16, finding 5: an account cannot fill the shared disk with sends.

Messages are kept for good, so each account may keep at most
``[limits] max_stored_messages``; past it every way of sending (SMS, OTP, a
list) answers 403 ``quota_exceeded`` with the count, the quota and the fix,
and other accounts send on. The count is kept in memory and loaded at start.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import ADMIN_TOKEN, RunningHub, hub_config, serve_hub
from tests.e2e.test_api_errors import assert_problem

pytestmark = pytest.mark.both_backends  # a route or a state change (conftest.py)

QUOTA = 5
SEND = "/api/v1/sms/send"


def quota_config(tmp_path: Path) -> Any:
    return hub_config(tmp_path / "data", limits={"max_stored_messages": QUOTA})


async def fill(hub: RunningHub, token: str = ADMIN_TOKEN, count: int = QUOTA) -> None:
    for n in range(count):
        response = await hub.post(SEND, {"to": "+998901234567", "text": f"n {n}"}, token)
        assert response.status_code == 202, response.text


async def stored_messages(hub: RunningHub) -> int:
    await hub.hub.store.write(lambda conn: None)
    row = await hub.hub.store.fetchone("SELECT COUNT(*) AS n FROM messages")
    assert row is not None
    return int(row["n"])


async def test_a_send_past_the_quota_is_403_quota_exceeded_with_the_fix(tmp_path: Path) -> None:
    async with serve_hub(quota_config(tmp_path)) as hub:
        await hub.pair("Phone")
        await fill(hub)

        response = await hub.post(SEND, {"to": "+998901234567", "text": "one too many"})

        problem = assert_problem(response, 403, "quota_exceeded")
        assert (problem["stored"], problem["quota"]) == (QUOTA, QUOTA)
        assert "[limits] max_stored_messages" in problem["detail"]
        assert await stored_messages(hub) == QUOTA


async def test_otp_and_list_sends_meet_the_same_quota(tmp_path: Path) -> None:
    async with serve_hub(quota_config(tmp_path)) as hub:
        await hub.pair("Phone")
        await fill(hub, count=QUOTA - 1)
        ids = []
        for phone in ("+998901110001", "+998901110002"):
            made = await hub.post("/api/v1/recipients", {"name": "R", "phone": phone})
            ids.append(made.json()["id"])
        made = await hub.post("/api/v1/recipient-lists", {"name": "L", "recipient_ids": ids})
        list_id = made.json()["id"]

        listed = await hub.post("/api/v1/recipient-lists/queue", {"list_id": list_id, "text": "x"})
        assert_problem(listed, 403, "quota_exceeded")  # two would pass it: none is queued
        otp = await hub.post("/api/v1/otp/send", {"to": "+998901110003", "purpose": "login"})
        assert otp.status_code == 200, otp.text  # the last one the quota allows
        again = await hub.post("/api/v1/otp/send", {"to": "+998901110004", "purpose": "login"})

        assert_problem(again, 403, "quota_exceeded")
        assert await stored_messages(hub) == QUOTA


async def test_the_quota_is_per_account_and_survives_a_restart(tmp_path: Path) -> None:
    config = quota_config(tmp_path)
    async with serve_hub(config) as hub:
        await hub.pair("Phone")
        await fill(hub)
        other = (await hub.post("/api/v1/admin/accounts", {"name": "Other"})).json()["token"]
        code = (await hub.post("/api/v1/relay/pairing-codes", {}, other)).json()["pairing_code"]
        assert (await hub.post("/api/v1/relay/app/pair", {"pairing_code": code}, None)).is_success
        await fill(hub, other, 1)

    async with serve_hub(config) as hub:
        response = await hub.post(SEND, {"to": "+998901234567", "text": "after restart"})
        assert_problem(response, 403, "quota_exceeded")
        await fill(hub, other, 1)
