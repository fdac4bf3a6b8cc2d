"""The OpenAPI document: valid 3.1, complete, and true to what the hub serves."""

from __future__ import annotations

import re
from typing import Any

import msgspec
import pytest
from openapi_spec_validator import validate
from starlette.routing import Route

from hub.api.openapi import OPERATIONS, documented
from hub.api.schemas import MessageStatus, OtpSent, OtpVerification, Problem, SmsQueued
from hub.app import routes
from hub.auth import SCOPES
from tests.e2e.conftest import RunningHub


@pytest.fixture
async def spec(hub_server: RunningHub) -> dict[str, Any]:
    response = await hub_server.get("/api/v1/openapi.json", token=None)
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


async def test_the_document_is_valid_openapi_3_1_and_served_without_a_token(
    spec: dict[str, Any], hub_server: RunningHub
) -> None:
    validate(spec)
    assert spec["openapi"] == "3.1.0"
    assert spec["servers"] == [{"url": hub_server.base_url}]  # paths carry /api/v1
    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert set(spec["webhooks"]) >= {"message.delivered", "otp.verified", "device.offline"}


async def test_every_api_route_and_method_is_in_the_document(spec: dict[str, Any]) -> None:
    served = {
        (route.path, method.lower())
        for route in routes()
        if documented(route) and isinstance(route, Route)
        for method in (route.methods or set()) - {"HEAD"}
    }
    in_document = {(path, method) for path, item in spec["paths"].items() for method in item}

    assert served == in_document
    assert all(isinstance(r, Route) and r.endpoint in OPERATIONS for r in routes() if documented(r))


async def test_the_documented_scope_is_the_scope_each_route_enforces(
    spec: dict[str, Any], hub_server: RunningHub
) -> None:
    """Each operation, called with a token holding every scope but its own, is a 403
    naming that scope: the document cannot claim a scope the code does not check."""
    tokens: dict[str, str] = {}
    for scope in SCOPES:
        others = [s for s in SCOPES if s != scope]
        made = await hub_server.post("/api/v1/tokens", {"name": f"no {scope}", "scopes": others})
        tokens[scope] = made.json()["token"]
    tokens["admin"] = tokens["sms.send"]  # no token but the bootstrap one has admin
    checked = 0
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            match = re.match(r"Scope: `([a-z.]+)`", operation.get("description", ""))
            if match is None:
                assert operation.get("security") == [], f"{method} {path} names no scope"
                continue
            scope = match.group(1)
            url = hub_server.base_url + "/api/v1" + path.removeprefix("/api/v1")
            url = re.sub(r"\{[a-z_]+\}", "x_1", url)
            response = await hub_server.client.request(
                method.upper(), url, json={}, headers={"Authorization": f"Bearer {tokens[scope]}"}
            )
            assert response.status_code == 403, (method, path, response.text)
            assert response.json()["missing_scope"] == scope, (method, path)
            checked += 1
    assert checked >= 40


async def test_live_answers_decode_strictly_into_their_documented_types(
    hub_server: RunningHub,
) -> None:
    relay = await hub_server.relay("A")
    sms = await hub_server.post("/api/v1/sms/send", {"to": "+998901234567", "text": "Salom"})
    otp = await hub_server.post("/api/v1/otp/send", {"to": "+998901234567", "purpose": "login"})
    queued = msgspec.convert(sms.json(), SmsQueued)
    sent = msgspec.convert(otp.json(), OtpSent)
    await relay.wait_until(lambda: any(j.id == sent.request_id for j in relay.jobs_received))
    code = re.findall(r"\b\d{6}\b", next(j.text for j in relay.jobs_received
                                          if j.id == sent.request_id))[0]  # fmt: skip
    verified = await hub_server.post("/api/v1/otp/verify", {"otp_id": sent.otp_id, "code": code})
    again = await hub_server.post("/api/v1/otp/verify", {"otp_id": sent.otp_id, "code": code})
    status = await hub_server.get(f"/api/v1/messages/status?request_id={queued.request_id}")
    problem = await hub_server.post("/api/v1/sms/send", {"to": "12"})

    assert msgspec.convert(verified.json(), OtpVerification).status == "verified"
    assert msgspec.convert(again.json(), OtpVerification).reason == "used"
    assert msgspec.convert(status.json(), MessageStatus).request_id == queued.request_id
    assert msgspec.convert(problem.json(), Problem).code == "validation_error"


async def test_answer_fields_that_are_always_written_are_required_and_show_no_default(
    spec: dict[str, Any],
) -> None:
    schemas = spec["components"]["schemas"]
    sms_queued = schemas["SmsQueued"]
    assert {"ok", "status"} <= set(sms_queued["required"])
    assert "default" not in sms_queued["properties"]["ok"]
    # A field left out while unset stays optional: a verify answer has a reason
    # only when it expired.
    assert "reason" not in schemas["OtpVerification"].get("required", [])
    # A request's defaults are a client's to leave out, so they stay as they are.
    assert "ttl_seconds" not in schemas["SendSmsRequest"].get("required", [])
