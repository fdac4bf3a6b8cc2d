"""Every route, walked with no token, a token without its scope, and another tenant's token."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import ADMIN_TOKEN, RunningHub
from tests.e2e.test_api_errors import assert_problem


@dataclass
class Tenants:
    """Account A (the default one) with a device, a message and a token; account B empty."""

    a_device: str
    a_message: str
    a_token_id: str
    b_token: str


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # may name {a_message}, {a_token_id}, {a_device}
    scope: str
    body: dict[str, Any] | None = None


ROUTES = [
    Route("GET", "/api/v1/account", "account.read"),
    Route("GET", "/api/v1/launch/readiness", "account.read"),
    Route("POST", "/api/v1/relay/pairing-codes", "devices.manage", {}),
    Route("POST", "/api/v1/sms/send", "sms.send", {"to": "+998901234567", "text": "hi"}),
    Route("GET", "/api/v1/messages/status?request_id={a_message}", "messages.read"),
    Route("GET", "/api/v1/messages", "messages.read"),
    Route("GET", "/api/v1/devices", "devices.read"),
    Route("GET", "/api/v1/devices/{a_device}", "devices.read"),
    Route("PATCH", "/api/v1/devices/{a_device}", "devices.manage", {"name": "x"}),
    Route("DELETE", "/api/v1/devices/{a_device}", "devices.manage"),
    Route("POST", "/api/v1/tokens", "tokens.manage", {"name": "t", "scopes": ["sms.send"]}),
    Route("GET", "/api/v1/tokens", "tokens.manage"),
    Route("DELETE", "/api/v1/tokens/{a_token_id}", "tokens.manage"),
    Route("POST", "/api/v1/webhooks", "webhooks.manage", {"url": "https://93.184.216.34/h"}),
    Route("GET", "/api/v1/webhooks", "webhooks.manage"),
    Route("POST", "/api/v1/admin/accounts", "admin", {"name": "Clinic"}),
    Route("GET", "/api/v1/admin/accounts", "admin"),
    Route("PATCH", "/api/v1/admin/accounts/acc_any", "admin", {"paused": True}),
]


@pytest.fixture
async def tenants(hub_server: RunningHub) -> Tenants:
    relay = await hub_server.relay("A's phone")
    message = await hub_server.send(text="A's message")
    token = await hub_server.post("/api/v1/tokens", {"name": "a", "scopes": ["sms.send"]})
    account_b = await hub_server.post("/api/v1/admin/accounts", {"name": "B"})
    assert account_b.status_code == 201
    return Tenants(relay.device_id, message, token.json()["id"], account_b.json()["token"])


async def call(
    hub: RunningHub, route: Route, token: str | None, tenants: Tenants
) -> httpx.Response:
    path = route.path.format(
        a_message=tenants.a_message, a_token_id=tenants.a_token_id, a_device=tenants.a_device
    )
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return await hub.client.request(
        route.method, hub.base_url + path, json=route.body, headers=headers
    )


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.method} {r.path}")
async def test_route_answers_401_without_a_token(
    hub_server: RunningHub, tenants: Tenants, route: Route
) -> None:
    assert_problem(await call(hub_server, route, None, tenants), 401, "unauthorized")


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.method} {r.path}")
async def test_route_answers_403_naming_the_scope_a_token_lacks(
    hub_server: RunningHub, tenants: Tenants, route: Route
) -> None:
    # A real scope; for the routes that ask for it, another one.
    other = "otp.verify" if route.scope == "account.read" else "account.read"
    created = await hub_server.post("/api/v1/tokens", {"name": "narrow", "scopes": [other]})
    narrow = created.json()["token"]

    problem = assert_problem(await call(hub_server, route, narrow, tenants), 403, "forbidden")
    assert problem["missing_scope"] == route.scope


async def test_other_tenant_sees_none_of_a_message_device_or_token(
    hub_server: RunningHub, tenants: Tenants
) -> None:
    b = tenants.b_token
    status = await hub_server.get(f"/api/v1/messages/status?request_id={tenants.a_message}", b)
    assert_problem(status, 404, "not_found")
    assert (await hub_server.get("/api/v1/messages", b)).json()["items"] == []
    assert (await hub_server.get("/api/v1/devices", b)).json()["items"] == []
    tokens = (await hub_server.get("/api/v1/tokens", b)).json()["items"]
    assert tenants.a_token_id not in [t["id"] for t in tokens]
    for path in (f"/api/v1/tokens/{tenants.a_token_id}", f"/api/v1/devices/{tenants.a_device}"):
        foreign = await hub_server.client.delete(
            hub_server.base_url + path, headers={"Authorization": f"Bearer {b}"}
        )
        assert_problem(foreign, 404, "not_found")
    assert_problem(await hub_server.get(f"/api/v1/devices/{tenants.a_device}", b), 404, "not_found")


async def test_other_tenant_cannot_send_through_a_foreign_device(
    hub_server: RunningHub, tenants: Tenants
) -> None:
    body = {"to": "+998901234567", "text": "x", "device_id": tenants.a_device}
    response = await hub_server.post("/api/v1/sms/send", body, tenants.b_token)
    problem = assert_problem(response, 422, "invalid_device")
    assert "in this account" in problem["detail"]  # the same answer as for an unknown id


async def test_new_account_token_holds_every_customer_scope_but_not_admin(
    hub_server: RunningHub, tenants: Tenants
) -> None:
    listed = await hub_server.get("/api/v1/admin/accounts", tenants.b_token)
    assert_problem(listed, 403, "forbidden")
    accounts = (await hub_server.get("/api/v1/admin/accounts", ADMIN_TOKEN)).json()["items"]
    assert {a["name"] for a in accounts} == {"Default account", "B"}


# What another tenant's full-scope token gets on every route that names A's
# things: the same answer as for ids that do not exist anywhere.
FOREIGN = [
    (Route("GET", "/api/v1/messages/status?request_id={a_message}", ""), 404, "not_found"),
    (Route("GET", "/api/v1/devices/{a_device}", ""), 404, "not_found"),
    (Route("PATCH", "/api/v1/devices/{a_device}", "", {"name": "mine now"}), 404, "not_found"),
    (Route("DELETE", "/api/v1/devices/{a_device}", ""), 404, "not_found"),
    (Route("DELETE", "/api/v1/tokens/{a_token_id}", ""), 404, "not_found"),
    (Route("POST", "/api/v1/sms/send", "",
           {"to": "+998901234567", "text": "x", "device_id": "{a_device}"}),
     422, "invalid_device"),
    (Route("GET", "/api/v1/admin/accounts", ""), 403, "forbidden"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("route", "status", "code"),
    FOREIGN,
    ids=lambda v: f"{v.method} {v.path}" if isinstance(v, Route) else str(v),
)
async def test_route_answers_another_tenant_as_if_the_id_did_not_exist(
    hub_server: RunningHub, tenants: Tenants, route: Route, status: int, code: str
) -> None:
    body = route.body
    if body is not None and body.get("device_id") == "{a_device}":
        body = {**body, "device_id": tenants.a_device}
    response = await call(
        hub_server, Route(route.method, route.path, "", body), tenants.b_token, tenants
    )
    assert_problem(response, status, code)
    # and nothing of A's changed
    devices = (await hub_server.get("/api/v1/devices")).json()["items"]
    assert [(d["name"], d["disabled"]) for d in devices] == [("A's phone", False)]
    tokens = (await hub_server.get("/api/v1/tokens")).json()["items"]
    assert tenants.a_token_id in [t["id"] for t in tokens]
