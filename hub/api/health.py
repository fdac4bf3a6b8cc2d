"""``GET /v1/health``: liveness and a storage round trip; no token needed.

With a token it also says how many of the caller's own relays are online;
without one it says nothing about any account (how many phones a hub serves
is not for anyone who can reach it).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from hub import __version__
from hub.api.errors import ApiError
from hub.api.request import hub_of, require
from hub.api.responses import ok
from hub.clock import rfc3339
from hub.store.interface import StorageUnavailable


async def health(request: Request) -> Response:
    hub = hub_of(request)
    if hub.delivery.rebuilding:
        # A write failed (locked database, full disk): the hub refuses writes and
        # relays until storage takes a write again, so it is not healthy.
        raise ApiError(
            "storage_unavailable",
            "the database refuses writes; the hub resumes by itself once it takes them again",
            headers={"Retry-After": "5"},
        )
    try:
        await hub.store.fetchone("SELECT 1")
    except StorageUnavailable:
        raise ApiError(
            "storage_unavailable", "the database does not answer", headers={"Retry-After": "5"}
        ) from None
    answer: dict[str, object] = {
        "status": "ok",
        "version": __version__,
        "storage": "ok",
        "server_time": rfc3339(hub.clock.now()),
    }
    if "authorization" in request.headers:
        # A token that is sent is checked (401 if wrong), so a monitor with a
        # stale token learns it, rather than silently losing the count.
        principal = await require(request, None)
        answer["relays_online"] = hub.delivery.dispatcher.online_count(principal.account_id)
    return ok(answer)
