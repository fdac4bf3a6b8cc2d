"""``hub/serving/middleware.py``: each piece does its one job, driven as plain ASGI."""

from __future__ import annotations

import json
from typing import Any

from starlette.types import Message, Receive, Scope, Send

from hub.serving.middleware import (
    BodyLimitMiddleware,
    RequestIdMiddleware,
    ResponseHeadersMiddleware,
)


class Answering:
    """An app that answers 200 with ``headers`` and remembers the scope it saw."""

    def __init__(self, headers: list[tuple[bytes, bytes]] | None = None) -> None:
        self.headers = headers or []
        self.scope: Scope | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.scope = scope
        await send({"type": "http.response.start", "status": 200, "headers": self.headers})
        await send({"type": "http.response.body", "body": b"ok"})


async def call(app: Any, path: str = "/api/v1/health", **scope: Any) -> list[Message]:
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    await app({"type": "http", "path": path, "headers": [], **scope}, receive, send)
    return sent


async def test_request_id_keeps_a_sane_client_id_and_replaces_any_other() -> None:
    inner = Answering()
    app = RequestIdMiddleware(inner)

    await call(app, headers=[(b"x-request-id", b"client-id-1234")])
    assert inner.scope is not None and inner.scope["state"]["request_id"] == "client-id-1234"
    await call(app, headers=[(b"x-request-id", b"bad id with spaces")])
    minted = inner.scope["state"]["request_id"]
    await call(app)
    assert minted.startswith("rq_") and inner.scope["state"]["request_id"] != minted


async def test_response_headers_carry_the_id_security_headers_and_no_store_on_api_answers() -> None:
    app = ResponseHeadersMiddleware(Answering([(b"content-type", b"application/json")]))

    start = (await call(app, state={"request_id": "rq_1"}))[0]

    assert start["headers"] == [
        (b"content-type", b"application/json"),
        (b"cache-control", b"no-store"),
        (b"x-request-id", b"rq_1"),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer"),
        (b"x-frame-options", b"DENY"),
    ]


async def test_response_headers_keep_an_answers_own_caching_and_give_pages_a_policy() -> None:
    app = ResponseHeadersMiddleware(Answering([(b"cache-control", b"no-cache")]))

    api = dict((await call(app, "/api/v1/events", state={"request_id": "rq_2"}))[0]["headers"])
    page = dict((await call(app, "/docs", state={"request_id": "rq_3"}))[0]["headers"])

    assert api[b"cache-control"] == b"no-cache" and b"content-security-policy" not in api
    assert page[b"cache-control"] == b"no-cache"
    assert page[b"content-security-policy"].startswith(b"default-src 'self'")


async def test_body_limit_refuses_a_declared_body_over_the_limit_of_its_path() -> None:
    inner = Answering()
    app = BodyLimitMiddleware(inner, max_body_bytes=10, larger={"/import": 100})
    declared = [(b"content-length", b"50")]

    refused = await call(app, "/api/v1/sms/send", headers=declared, state={"request_id": "rq_4"})
    assert inner.scope is None
    await call(app, "/import", headers=declared, state={"request_id": "rq_5"})
    assert inner.scope is not None  # its own, larger limit

    assert refused[0]["status"] == 413
    body = json.loads(refused[1]["body"])
    assert (body["code"], body["request_id"]) == ("payload_too_large", "rq_4")
    assert body["errors"] == [{"field": "body", "message": "is over 10 bytes"}]
