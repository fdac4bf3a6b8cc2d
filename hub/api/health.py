"""``GET /v1/health``: liveness and a storage round trip; no token needed."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from hub import __version__
from hub.api.errors import ApiError
from hub.api.request import hub_of
from hub.api.responses import ok
from hub.clock import rfc3339
from hub.store.writer import StorageUnavailable


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
    return ok(
        {
            "status": "ok",
            "version": __version__,
            "storage": "ok",
            "relays_online": hub.delivery.dispatcher.online_count(),
            "server_time": rfc3339(hub.clock.now()),
        }
    )
