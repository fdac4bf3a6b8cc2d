"""The OpenAPI document: valid 3.1, complete, and true to what the hub serves."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import msgspec
import pytest
import uvicorn
from openapi_spec_validator import validate
from starlette.applications import Starlette
from starlette.routing import BaseRoute, Route

from hub.accounts.tokens import SCOPES
from hub.api import health
from hub.api.schemas import MessageStatus, OtpSent, OtpVerification, Problem, SmsQueued
from hub.devdocs.openapi import documented, openapi_json
from hub.devdocs.openapi_operations import OPERATIONS
from hub.serving.server import bind
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


def documented_operations(routes: list[BaseRoute]) -> set[tuple[str, str]]:
    return {
        (route.path, method.lower())
        for route in routes
        if documented(route) and isinstance(route, Route)
        for method in (route.methods or set()) - {"HEAD"}
    }


async def test_every_api_route_and_method_is_in_the_document(
    spec: dict[str, Any], hub_server: RunningHub
) -> None:
    routes = hub_server.app.routes
    in_document = {(path, method) for path, item in spec["paths"].items() for method in item}

    assert documented_operations(routes) == in_document
    assert all(isinstance(r, Route) and r.endpoint in OPERATIONS for r in routes if documented(r))


@contextlib.asynccontextmanager
async def serve_routes(routes: list[BaseRoute], hub_server: RunningHub) -> AsyncIterator[str]:
    """A second app on a loopback port with only ``routes``, sharing the running
    hub's state (the document reads the hub's config for the public origin)."""
    started = asyncio.Event()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        app.state.hub = hub_server.app.state.hub
        started.set()
        yield

    sock = bind("127.0.0.1", 0)
    config = uvicorn.Config(
        Starlette(routes=routes, lifespan=lifespan),
        interface="asgi3", log_level="warning", lifespan="on", timeout_graceful_shutdown=1,
    )  # fmt: skip
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    await started.wait()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await serving
        sock.close()


async def test_the_document_lists_the_routes_of_the_app_that_serves_it(
    hub_server: RunningHub,
) -> None:
    """Not a route table read from elsewhere: an app with two routes documents two."""
    routes: list[BaseRoute] = [
        Route("/api/v1/health", health.health, methods=["GET"]),
        Route("/api/v1/openapi.json", openapi_json, methods=["GET"]),
    ]
    async with serve_routes(routes, hub_server) as url, httpx.AsyncClient() as client:
        answer = await client.get(url + "/api/v1/openapi.json")
    assert answer.status_code == 200
    paths = answer.json()["paths"]

    assert {(p, m) for p, item in paths.items() for m in item} == documented_operations(routes)
    assert set(paths) == {"/api/v1/health"}  # the document does not list itself


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
