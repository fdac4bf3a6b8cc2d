"""Pure ASGI middleware (no per-request task, unlike BaseHTTPMiddleware), one job each.

In the order a request meets them (``hub/app.py``):

- ``RequestIdMiddleware`` names the request: the client's own ``X-Request-Id``
  if it sent a sane one, else a new one; problem bodies and logs quote it.
- ``ResponseHeadersMiddleware`` adds what every answer carries: the request
  id, a few security headers, ``Cache-Control: no-store`` on API answers and a
  strict Content-Security-Policy on pages.
- ``BodyLimitMiddleware`` refuses a declared body over the limit before it is
  read (its 413 gets the headers above like any answer).
"""

from __future__ import annotations

import itertools
import re
import secrets

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub.api.errors import payload_too_large, problem, request_id_of_scope

# Request ids: a random prefix per process and a counter; unique, and cheap.
_PREFIX = "rq_" + secrets.token_hex(5)
_counter = itertools.count(1)
_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")
_SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]
# The pages (dashboard, docs) load nothing from elsewhere and run no inline script.
_PAGE_POLICY = (
    b"content-security-policy",
    b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
    b" connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self';"
    b" frame-ancestors 'none'",
)
_PAGES = ("/dashboard", "/docs")  # and "/", the home page
# API answers carry secrets (a new token, a device token, a webhook secret) and
# account data: no cache, shared or private, may keep them.
_NO_STORE = (b"cache-control", b"no-store")
_API = "/api/"


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            request_id = ""
            for name, value in scope["headers"]:
                if name == b"x-request-id" and _SANE_ID.match(value.decode("latin-1")):
                    request_id = value.decode("latin-1")
            request_id = request_id or f"{_PREFIX}{next(_counter):08x}"
            scope.setdefault("state", {})["request_id"] = request_id
        await self.app(scope, receive, send)


class ResponseHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        added = [(b"x-request-id", request_id_of_scope(scope).encode()), *_SECURITY_HEADERS]
        if scope["path"] == "/" or scope["path"].startswith(_PAGES):
            added.append(_PAGE_POLICY)
        no_store = scope["path"].startswith(_API)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.get("headers", [])
                # An answer that chose its own caching (the event stream) keeps it.
                if no_store and all(name != b"cache-control" for name, _ in headers):
                    headers = [*headers, _NO_STORE]
                message["headers"] = [*headers, *added]
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodyLimitMiddleware:
    def __init__(
        self, app: ASGIApp, max_body_bytes: int, larger: dict[str, int] | None = None
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.larger = larger or {}  # path → its own limit (a CSV import)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            limit = self.larger.get(scope["path"], self.max_body_bytes)
            declared_length = None
            for name, value in scope["headers"]:
                if name == b"content-length" and value.isdigit():
                    declared_length = int(value)
            if declared_length is not None and declared_length > limit:
                refusal = problem(request_id_of_scope(scope), payload_too_large(limit))
                await refusal(scope, receive, send)
                return
        await self.app(scope, receive, send)
