"""Access tokens over the real server: scopes, expiry, revocation, secrets shown once."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from hub.clock import ManualClock, rfc3339
from tests.e2e.conftest import ADMIN_TOKEN, RunningHub, hub_config, serve_hub
from tests.e2e.test_api_errors import assert_problem

pytestmark = pytest.mark.both_backends  # a route or a state change (conftest.py)

TOKENS = "/api/v1/tokens"


async def make_token(hub: RunningHub, scopes: list[str], **fields: object) -> dict[str, object]:
    response = await hub.post(TOKENS, {"name": "app", "scopes": scopes, **fields})
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    return body


async def test_token_is_shown_once_and_listed_without_its_secret(hub_server: RunningHub) -> None:
    created = await make_token(hub_server, ["sms.send", "messages.read"])

    assert str(created["token"]).startswith("rh_")
    assert created["scopes"] == ["messages.read", "sms.send"]
    listed = (await hub_server.get(TOKENS)).json()["items"]
    mine = [t for t in listed if t["id"] == created["id"]]
    assert len(mine) == 1 and "token" not in mine[0]
    assert str(created["token"]) not in (await hub_server.get(TOKENS)).text


async def test_token_without_the_scope_gets_403_naming_it(hub_server: RunningHub) -> None:
    await hub_server.pair("Phone")
    created = await make_token(hub_server, ["sms.send"])
    token = str(created["token"])

    sent = await hub_server.post("/api/v1/sms/send", {"to": "+998901234567", "text": "x"}, token)
    listed = await hub_server.get("/api/v1/messages", token)

    assert sent.status_code == 202
    problem = assert_problem(listed, 403, "forbidden")
    assert problem["missing_scope"] == "messages.read"
    assert "messages.read" in problem["detail"]


async def test_revoked_token_is_refused_at_once(hub_server: RunningHub) -> None:
    created = await make_token(hub_server, ["messages.read"])
    token = str(created["token"])
    assert (await hub_server.get("/api/v1/messages", token)).status_code == 200

    revoked = await hub_server.client.delete(
        f"{hub_server.base_url}{TOKENS}/{created['id']}",
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
    )

    assert revoked.status_code == 200
    assert_problem(await hub_server.get("/api/v1/messages", token), 401, "unauthorized")
    again = await hub_server.client.delete(
        f"{hub_server.base_url}{TOKENS}/{created['id']}",
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
    )
    assert_problem(again, 404, "not_found")


async def test_token_stops_working_when_it_expires(tmp_path: Path) -> None:
    clock = ManualClock()
    async with serve_hub(hub_config(tmp_path), clock) as running:
        expires = rfc3339(clock.now() + timedelta(hours=1))
        token = str((await make_token(running, ["messages.read"], expires_at=expires))["token"])
        assert (await running.get("/api/v1/messages", token)).status_code == 200

        clock.advance(3601)

        assert_problem(await running.get("/api/v1/messages", token), 401, "unauthorized")


async def test_token_request_lists_every_problem(hub_server: RunningHub) -> None:
    response = await hub_server.post(
        TOKENS, {"name": "", "scopes": ["sms.send", "root"], "expires_at": "2001-01-01T00:00:00Z"}
    )
    problem = assert_problem(response, 422, "validation_error")
    assert {e["field"] for e in problem["errors"]} == {"name", "scopes", "expires_at"}


async def test_token_can_grant_only_scopes_it_holds(hub_server: RunningHub) -> None:
    manager = str((await make_token(hub_server, ["tokens.manage", "messages.read"]))["token"])

    for scopes in (["admin"], ["sms.send"]):
        response = await hub_server.post(TOKENS, {"name": "x", "scopes": scopes}, manager)
        problem = assert_problem(response, 422, "validation_error")
        assert problem["errors"][0]["field"] == "scopes"
    narrower = await hub_server.post(TOKENS, {"name": "x", "scopes": ["messages.read"]}, manager)
    assert narrower.status_code == 201


async def test_token_records_when_it_was_last_used(hub_server: RunningHub) -> None:
    created = await make_token(hub_server, ["messages.read"])
    await hub_server.get("/api/v1/messages", str(created["token"]))
    await hub_server.hub.store.write(lambda conn: None)  # the touch is written in order

    listed = (await hub_server.get(TOKENS)).json()["items"]
    (mine,) = [t for t in listed if t["id"] == created["id"]]
    assert mine["last_used_at"] is not None


async def test_token_with_an_expiry_cannot_make_one_that_outlives_it(tmp_path: Path) -> None:
    clock = ManualClock()
    async with serve_hub(hub_config(tmp_path), clock) as running:
        ends = clock.now() + timedelta(hours=1)
        parent = str(
            (await make_token(running, ["tokens.manage", "sms.send"], expires_at=rfc3339(ends)))[
                "token"
            ]
        )
        later = rfc3339(ends + timedelta(days=1))
        refused = await running.post(
            TOKENS, {"name": "x", "scopes": ["sms.send"], "expires_at": later}, parent
        )
        assert_problem(refused, 422, "validation_error")

        child = await running.post(TOKENS, {"name": "x", "scopes": ["sms.send"]}, parent)
        assert child.json()["expires_at"] == rfc3339(ends)


async def test_token_cannot_revoke_one_with_scopes_it_lacks(hub_server: RunningHub) -> None:
    narrow = str((await make_token(hub_server, ["tokens.manage"]))["token"])
    admin_id = next(
        t["id"] for t in (await hub_server.get(TOKENS)).json()["items"] if "admin" in t["scopes"]
    )

    refused = await hub_server.client.delete(
        f"{hub_server.base_url}{TOKENS}/{admin_id}", headers={"Authorization": f"Bearer {narrow}"}
    )

    assert_problem(refused, 403, "forbidden")
    assert (await hub_server.get("/api/v1/messages")).status_code == 200  # admin still works


async def test_the_token_list_marks_the_callers_own_token(hub_server) -> None:  # type: ignore[no-untyped-def]
    created = (
        await hub_server.post("/api/v1/tokens", {"name": "ops", "scopes": ["tokens.manage"]})
    ).json()
    seen_by_ops = (await hub_server.get("/api/v1/tokens", token=created["token"])).json()["items"]

    assert [t["name"] for t in seen_by_ops if t["current"]] == ["ops"]
