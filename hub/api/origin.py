"""The hub's public origin: the one address every answer gives clients.

Pairing hands it to phones, the docs page, Postman and the OpenAPI document
print it, the launch checks judge it, and the start banner and the dashboard
sign-in link show it; all of them ask ``public_origin``, so they agree.
"""

from __future__ import annotations

from starlette.requests import Request

from hub.api.request import hub_of
from hub.config import ServerConfig


def public_origin(server: ServerConfig, reached_at: str) -> str:
    """``[server] public_url``, else ``reached_at``: the origin the hub was
    reached at (a request's scheme and host) or, with no request, listens at.

    Never with a trailing slash, so callers append paths as they are.
    """
    return server.public_url.rstrip("/") or reached_at


def origin_for(request: Request) -> str:
    """The public origin as this request sees it."""
    reached_at = f"{request.url.scheme}://{request.url.netloc}"
    return public_origin(hub_of(request).config.server, reached_at)


def listening_origin(host: str, port: int) -> str:
    """The origin of the hub's own socket (an IPv6 host in brackets)."""
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
