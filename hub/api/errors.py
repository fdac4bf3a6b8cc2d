"""Error responses: RFC 9457 problem bodies that also carry ``ok: false`` and a stable ``code``.

Every failure of the REST API ends here, including malformed JSON, unknown
routes and bugs: the client always gets a precise code, a human ``detail``
with a hint, and the ``request_id`` to quote, never a stack trace.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Final

import msgspec
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Scope

log = logging.getLogger(__name__)

DOCS_URL: Final = "/docs/errors"

# code → (HTTP status, title)
ERRORS: Final[dict[str, tuple[int, str]]] = {
    "unauthorized": (401, "Unauthorized"),
    "forbidden": (403, "Forbidden"),
    "not_found": (404, "Not found"),
    "method_not_allowed": (405, "Method not allowed"),
    "validation_error": (422, "Validation error"),
    "invalid_device": (422, "Invalid device"),
    "rate_limited": (429, "Rate limited"),
    "queue_blocked": (409, "Queue blocked"),
    "quota_exceeded": (403, "Storage quota exceeded"),
    "subscription_expired": (402, "Subscription expired"),
    "idempotency_conflict": (409, "Idempotency conflict"),
    "not_cancellable": (409, "Not cancellable"),
    "payload_too_large": (413, "Payload too large"),
    "unsupported_media_type": (415, "Unsupported media type"),
    "storage_unavailable": (503, "Storage unavailable"),
    "internal_error": (500, "Internal error"),
}
# The statuses a code answers with besides its own above: an Idempotency-Key
# reused with another body is 422 (while its first request runs, 409).
OTHER_STATUSES: Final[dict[str, tuple[int, ...]]] = {"idempotency_conflict": (422,)}


def statuses(code: str) -> tuple[int, ...]:
    """Every status a problem with this code can have, its usual one first."""
    return (ERRORS[code][0], *OTHER_STATUSES.get(code, ()))


class ApiError(Exception):
    def __init__(
        self,
        code: str,
        detail: str,
        *,
        errors: list[dict[str, str]] | None = None,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.errors = errors
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})
        self.status = status or ERRORS[code][0]


DETAIL_PROBLEMS: Final = 5  # the detail lists this many; ``errors`` has them all


def validation_error(errors: list[dict[str, str]]) -> ApiError:
    """422 naming every problem: all in ``errors``, the first few in ``detail`` too."""
    listed = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:DETAIL_PROBLEMS])
    if len(errors) > DETAIL_PROBLEMS:
        listed += f"; and {len(errors) - DETAIL_PROBLEMS} more, all listed in errors"
    return ApiError("validation_error", listed, errors=errors)


def payload_too_large(limit: int) -> ApiError:
    return ApiError(
        "payload_too_large",
        f"the body is over {limit} bytes; send a smaller one, or split it into several calls",
        errors=[{"field": "body", "message": f"is over {limit} bytes"}],
    )


_encoder = msgspec.json.Encoder()


def problem(request_id: str, error: ApiError) -> Response:
    title = ERRORS.get(error.code, (error.status, error.code))[1]
    body: dict[str, Any] = {
        "ok": False,
        "code": error.code,
        "type": f"{DOCS_URL}#{error.code}",
        "title": title,
        "status": error.status,
        "detail": error.detail,
        "request_id": request_id,
    }
    if error.errors is not None:
        body["errors"] = error.errors
    body.update(error.extra)
    return Response(
        _encoder.encode(body),
        status_code=error.status,
        media_type="application/problem+json",
        headers=error.headers,
    )


def request_id_of_scope(scope: Scope) -> str:
    """The id ``RequestIdMiddleware`` gave this request ("" before it ran)."""
    return str(scope.get("state", {}).get("request_id", ""))


def request_id_of(request: Request) -> str:
    return request_id_of_scope(request.scope)


async def handle_api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return problem(request_id_of(request), exc)


async def handle_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        error = ApiError("method_not_allowed", f"{request.method} is not allowed on this path")
    elif exc.status_code == 404:
        error = ApiError(
            "not_found", f"no endpoint at {request.url.path}; see /api/v1/openapi.json"
        )
    else:
        code = next((c for c, (s, _) in ERRORS.items() if s == exc.status_code), "internal_error")
        error = ApiError(code, str(exc.detail), status=exc.status_code)
    return problem(request_id_of(request), error)


# What a client reads for each cause of StorageUnavailable (hub/store/writer.py).
# The SQLite message itself goes to the log only.
STORAGE_DETAILS: Final = {
    "busy": "the hub's database is locked by another process",
    "disk": "the hub cannot write to its disk (it is full or failing)",
    "unavailable": "the hub could not reach its storage",
}


async def handle_storage_unavailable(request: Request, exc: Exception) -> Response:
    request_id = request_id_of(request)
    log.error("request %s: storage unavailable: %s", request_id, exc)
    cause = getattr(exc, "cause", "unavailable")
    reason = STORAGE_DETAILS.get(cause, STORAGE_DETAILS["unavailable"])
    error = ApiError(
        "storage_unavailable",
        f"{reason}; nothing was changed: retry after Retry-After seconds (with the same"
        " Idempotency-Key, if the request had one), and tell the hub's operator if it lasts",
        headers={"Retry-After": "5"},
    )
    return problem(request_id, error)


async def handle_unexpected(request: Request, exc: Exception) -> Response:
    request_id = request_id_of(request)
    log.error("request %s failed", request_id, exc_info=exc)
    # This handler runs outside the request middleware, so it adds the header itself.
    return problem(
        request_id,
        ApiError(
            "internal_error",
            f"an unexpected error; quote request id {request_id}",
            headers={"X-Request-Id": request_id},
        ),
    )
