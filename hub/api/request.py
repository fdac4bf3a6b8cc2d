"""Reading a request: the caller's token and scope, a JSON body, query parameters.

``read_body`` reports every problem of a body at once (``errors: [{field,
message}]``), not just the first, so a developer fixes a request in one go.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any, TypeVar

import msgspec
from starlette.requests import ClientDisconnect, Request

from hub.api.errors import ApiError, payload_too_large, validation_error
from hub.auth import Principal
from hub.hub import Hub

T = TypeVar("T", bound=msgspec.Struct)

_PATH_IN_MESSAGE = re.compile(r" - at `\$(.*)`$")
_JSON_MEDIA = re.compile(r"application/(?:[\w.-]+\+)?json")  # application/json, …/merge-patch+json


def hub_of(request: Request) -> Hub:
    hub: Hub = request.app.state.hub
    return hub


async def require(request: Request, scope: str | None) -> Principal:
    """The caller's principal; 401 without a valid token, 403 without ``scope``."""
    header = request.headers.get("authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise ApiError(
            "unauthorized",
            "send your access token as 'Authorization: Bearer <token>'",
            headers={"WWW-Authenticate": "Bearer"},
        )
    hub = hub_of(request)
    principal = await hub.auth.authenticate(secret.strip())
    if principal is None:
        # Only failures are braked: a valid token always works (tokens are far
        # too long to guess; the brake keeps a scan from costing us lookups).
        client = request.client.host if request.client else "unknown"
        brake = hub.token_brake
        wait = brake.retry_after(client)
        if wait:
            raise ApiError(
                "rate_limited",
                f"too many unknown tokens from this address; retry in {wait} s",
                headers=brake.refusal_headers("token-guess", wait),
            )
        brake.failed(client)
        raise ApiError(
            "unauthorized",
            "the access token is unknown, revoked or expired; create a new one",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    if scope is not None and not principal.allows(scope):
        raise ApiError(
            "forbidden",
            f"this token lacks the '{scope}' scope; create a token that has it",
            extra={"missing_scope": scope},
        )
    return principal


async def read_raw_body(request: Request, limit: int) -> bytes:
    # The ASGI messages are read here rather than through request.stream(): an
    # async generator is registered with the event loop on first use, which
    # cost more than decoding the body.
    chunks: list[bytes] = []
    size = 0
    more = True
    while more:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise payload_too_large(limit)
        chunks.append(chunk)
        more = message.get("more_body", False)
    return b"".join(chunks)


def _field_error(name: str, exc: msgspec.ValidationError) -> dict[str, str]:
    message = str(exc)
    match = _PATH_IN_MESSAGE.search(message)
    if match:
        message = message[: match.start()]
        name += match.group(1)
    return {"field": name, "message": message}


Check = Callable[[dict[str, Any]], list[dict[str, str]]]


@functools.cache
def _fields(model: type[msgspec.Struct]) -> tuple[msgspec.structs.FieldInfo, ...]:
    # msgspec resolves annotations on every call: far too slow for each request.
    return msgspec.structs.fields(model)


def parse_body(raw: bytes, model: type[T], check: Check | None = None) -> T:
    """Decode ``raw`` JSON into ``model``, listing every problem at once.

    Type problems come from the model's annotations; ``check`` adds the
    domain's own (a phone number, a text too long) for the fields whose type
    was right, so one answer names everything to fix.
    """
    if not raw.strip():
        raise validation_error([{"field": "body", "message": "a JSON object is required"}])
    try:  # the common case, a good body, in one typed decode
        body = msgspec.json.decode(raw, type=model)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        pass  # the slow path below names every problem
    else:
        if check is None or not check(_given(body)):
            return body
    try:
        data: Any = msgspec.json.decode(raw)
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        raise validation_error([{"field": "body", "message": f"not valid JSON: {exc}"}]) from None
    except RecursionError:  # msgspec nests as deep as the JSON does
        message = "nested too deeply: a body is an object of fields, a few levels deep"
        raise validation_error([{"field": "body", "message": message}]) from None
    if not isinstance(data, dict):
        raise validation_error([{"field": "body", "message": "must be a JSON object"}])
    errors = []
    well_typed: dict[str, Any] = {}
    for field in _fields(model):
        if field.encode_name in data:
            try:
                msgspec.convert(data[field.encode_name], field.type)
                well_typed[field.encode_name] = data[field.encode_name]
            except msgspec.ValidationError as exc:
                errors.append(_field_error(field.encode_name, exc))
        elif field.required:
            errors.append({"field": field.encode_name, "message": "is required"})
    if check is not None:
        errors += check(well_typed)
    if errors:
        raise validation_error(errors)
    try:
        return msgspec.convert(data, model)
    except msgspec.ValidationError as exc:  # a check across fields
        raise validation_error([_field_error("body", exc)]) from None


def _given(body: msgspec.Struct) -> dict[str, Any]:
    """A decoded body's fields as a check sees them: those with a value."""
    return {
        name: value
        for name, value in msgspec.structs.asdict(body).items()
        if value is not None and value is not msgspec.UNSET
    }


def declared_media(request: Request) -> str:
    """The body's declared media type, lower case, without parameters ("" if none)."""
    return request.headers.get("content-type", "").partition(";")[0].strip().lower()


def refuse_media(media: str, wanted: str) -> ApiError:
    """415 for a body declared as ``media`` where ``wanted`` is read."""
    return ApiError(
        "unsupported_media_type",
        f"the body must be {wanted.partition('/')[2].upper()}: send it with"
        f" 'Content-Type: {wanted}', not {media[:80]!r}",
        errors=[{"field": "content-type", "message": f"must be {wanted}"}],
    )


def require_json(request: Request) -> None:
    """Refuse (415) a body declared as anything but JSON; an undeclared one is read as JSON."""
    media = declared_media(request)
    if media and not _JSON_MEDIA.fullmatch(media):
        raise refuse_media(media, "application/json")


async def read_body(request: Request, model: type[T], check: Check | None = None) -> T:
    require_json(request)
    raw = await read_raw_body(request, hub_of(request).config.server.max_body_bytes)
    return parse_body(raw, model, check)


def query_int(request: Request, name: str, default: int, lo: int, hi: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise validation_error([{"field": name, "message": "must be a whole number"}]) from None
    if not lo <= value <= hi:
        raise validation_error([{"field": name, "message": f"must be from {lo} to {hi}"}])
    return value
