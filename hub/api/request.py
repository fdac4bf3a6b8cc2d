"""Reading a request: the caller's token and scope, a JSON body, query parameters.

``read_body`` reports every problem of a body at once (``errors: [{field,
message}]``), not just the first, so a developer fixes a request in one go.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

import msgspec
from starlette.requests import ClientDisconnect, Request

from hub.accounts.tokens import (
    ACCESS_TOKEN_PREFIX,
    DEVICE_TOKEN_PREFIX,
    Principal,
    bearer_token,
)
from hub.api.errors import ApiError, payload_too_large, validation_error
from hub.api.explain import explain, guesses, missing, shown, struct_info, unknown
from hub.clock import rfc3339
from hub.hub import Hub
from hub.text.rules import control_character, control_problems, may_hold_control

T = TypeVar("T", bound=msgspec.Struct)

_PATH_IN_MESSAGE = re.compile(r" - at `\$(.*)`$")
_BYTE_IN_MESSAGE = re.compile(r"\(byte (\d+)\)")
_JSON_MEDIA = re.compile(r"application/(?:[\w.-]+\+)?json")  # application/json, …/merge-patch+json


def hub_of(request: Request) -> Hub:
    hub: Hub = request.app.state.hub
    return hub


# How to get a token, said with every 401 and 403.
GET_A_TOKEN = (
    "create one in the dashboard (Tokens) or with `relayhub token create NAME --scope SCOPE`;"
    " the admin token was shown on the hub's first start (or set in RELAYHUB_ADMIN_TOKEN)"
)
_SCHEME = re.compile(r"[A-Za-z][\w.-]{0,19}")


def _why_no_bearer(header: str) -> str:
    """Why an Authorization header carries no Bearer token (``bearer_token`` found none)."""
    scheme = header.strip().partition(" ")[0]
    if not header.strip():
        return "no Authorization header: send your access token as 'Authorization: Bearer <token>'"
    if scheme.startswith((ACCESS_TOKEN_PREFIX, DEVICE_TOKEN_PREFIX)):
        return "the Authorization header holds a bare token: put 'Bearer ' before it"
    if scheme.lower() != "bearer":
        named = f" (it uses {scheme!r})" if _SCHEME.fullmatch(scheme) else ""
        return (
            f"the Authorization header is not a Bearer token{named}:"
            " send 'Authorization: Bearer <token>'"
        )
    return "the Authorization header says Bearer but no token follows it"


def _refused(secret: str, expired: datetime | None) -> str:
    if expired is not None:
        return f"the access token expired at {rfc3339(expired)}: {GET_A_TOKEN}"
    if secret.startswith(DEVICE_TOKEN_PREFIX):
        return (
            "this is a relay device's token (rhd_...), which only opens the relay socket;"
            f" the REST API takes an access token (rh_...): {GET_A_TOKEN}"
        )
    return f"the access token is unknown or revoked (check that it was copied whole): {GET_A_TOKEN}"


async def require(request: Request, scope: str | None) -> Principal:
    """The caller's principal; 401 without a valid token, 403 without ``scope``."""
    header = request.headers.get("authorization", "")
    secret = bearer_token(header)
    if secret is None:
        raise ApiError(
            "unauthorized",
            f"{_why_no_bearer(header)}; {GET_A_TOKEN}",
            headers={"WWW-Authenticate": "Bearer"},
        )
    hub = hub_of(request)
    # Charged before the lookup, which may await the database: lookups in
    # flight together must not all find the brake uncharged. A token found
    # is refunded, so only unknown ones count; and found, it works even while
    # the address is braked (256 random bits: braking it would only lock out
    # honest clients that share an address with a scanner).
    client = request.client.host if request.client else "unknown"
    brake = hub.token_brake
    principal, wait = await brake.look_up(client, hub.auth.authenticate(secret))
    if principal is None:
        if wait:
            raise ApiError(
                "rate_limited",
                f"too many unknown tokens from this address; retry in {wait} s",
                headers=brake.refusal_headers("token-guess", wait),
            )
        raise ApiError(
            "unauthorized",
            _refused(secret, hub.auth.expired_at(secret)),
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    await hub.refresh_account(principal.account_id)  # a cluster node only
    if scope is not None and not principal.allows(scope):
        raise ApiError(
            "forbidden",
            f"this token lacks the '{scope}' scope: use a token that has it, or have one made"
            " with it (in the dashboard's Tokens view, or `relayhub token create NAME --scope"
            f" {scope}`) by a token that holds it",
            extra={"missing_scope": scope},
        )
    _refuse_control_characters(request)
    return principal


def _refuse_control_characters(request: Request) -> None:
    """422 for a path id or query parameter with a control character: none is
    ever meant, and one must not reach a query (a NUL broke full-text search)."""
    given = [*request.path_params.items(), *request.query_params.multi_items()]
    problems = [
        {"field": name, "message": why}
        for name, value in given
        if isinstance(value, str) and (why := control_character(value)) is not None
    ]
    if problems:
        raise validation_error(problems)


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
        clean = not may_hold_control(raw) or not control_problems(body, "")
        if clean and (check is None or not check(_given(body))):
            return body
    try:
        data: Any = msgspec.json.decode(raw)
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        message = f"not valid JSON ({_json_fault(exc)}); check its quotes, commas and brackets"
        raise validation_error([{"field": "body", "message": message}]) from None
    except RecursionError:  # msgspec nests as deep as the JSON does
        message = "nested too deeply: a body is an object of fields, a few levels deep"
        raise validation_error([{"field": "body", "message": message}]) from None
    if not isinstance(data, dict):
        message = f"must be a JSON object of fields; got {shown(data)}"
        raise validation_error([{"field": "body", "message": message}])
    info = struct_info(model)
    names = [field.encode_name for field in info.fields]
    meant = guesses(data, names)
    errors = []
    well_typed: dict[str, Any] = {}
    for field, described in zip(_fields(model), info.fields, strict=True):
        name = field.encode_name
        if name in data:
            try:
                msgspec.convert(data[name], field.type)
                well_typed[name] = data[name]
            except msgspec.ValidationError as exc:
                # msgspec judges; explain words the verdict (msgspec's own words if it cannot)
                errors += explain(name, data[name], described.type) or [_field_error(name, exc)]
        elif field.required:
            errors.append(missing(name, described.type, meant))
    if check is not None:
        errors += check(well_typed)
    # A control character is the fault named first: whatever else a check
    # finds in that field ("not a phone number") follows from it.
    control = control_problems(well_typed, "")
    named = {p["field"] for p in control}
    errors = control + [e for e in errors if e["field"] not in named]
    if errors or info.forbid_unknown_fields:
        # Unknown fields are named whenever the body is refused: they are often the cause.
        errors += unknown("", meant, names)
    if errors:
        raise validation_error(errors)
    try:
        return msgspec.convert(data, model)
    except msgspec.ValidationError as exc:  # a check across fields
        raise validation_error([_field_error("body", exc)]) from None


def _json_fault(exc: Exception) -> str:
    """Where and how the JSON broke, without msgspec's phrasing of it."""
    if isinstance(exc, UnicodeDecodeError):
        return f"byte {exc.start} is not UTF-8"
    text = str(exc)
    where = _BYTE_IN_MESSAGE.search(text)
    at = f" at byte {where.group(1)}" if where else ""
    if "truncated" in text:
        return "it ends too soon: a closing bracket or quote is missing"
    if "trailing comma" in text:
        return f"a comma before a closing bracket{at}"
    if "trailing characters" in text:
        return f"more follows the JSON value{at}"
    if "keys must be strings" in text:
        return f"a field name without double quotes{at}"
    expected = re.search(r"expected (\S+)", text)
    if expected:
        return f"{expected.group(1)} expected{at}"
    return f"an unexpected character{at}"


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
        message = f"must be a whole number from {lo} to {hi}; got {shown(raw)}"
        raise validation_error([{"field": name, "message": message}]) from None
    if not lo <= value <= hi:
        message = f"must be a whole number from {lo} to {hi}; got {value}"
        raise validation_error([{"field": name, "message": message}])
    return value
