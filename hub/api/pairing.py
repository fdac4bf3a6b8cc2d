"""Pairing a phone: an operator makes a one-time code, the app exchanges it.

``POST /v1/relay/pairing-codes`` (``devices.manage``) and
``POST /v1/relay/app/pair`` (the code itself is the credential).
"""

from __future__ import annotations

import io
from typing import Annotated

import msgspec
import segno
from msgspec import Meta
from starlette.requests import Request
from starlette.responses import Response

from hub.api.errors import ApiError, validation_error
from hub.api.origin import origin_for
from hub.api.request import (
    hub_of,
    parse_body,
    read_body,
    read_raw_body,
    require,
    require_json,
)
from hub.api.responses import ok
from hub.clock import rfc3339

Name = Annotated[str, Meta(min_length=1, max_length=80)]
Short = Annotated[str, Meta(max_length=120)]


class PairingCodeRequest(msgspec.Struct):
    device_name: Name | None = None


class PairRequest(msgspec.Struct):
    pairing_code: Annotated[str, Meta(max_length=32)] | None = None
    qr_payload: Annotated[str, Meta(max_length=1024)] | None = None
    device_name: Name | None = None
    model: Short | None = None
    app_version: Short | None = None


def _qr_svg(payload: str) -> str:
    buffer = io.BytesIO()
    segno.make(payload, error="m").save(buffer, kind="svg", scale=4, xmldecl=False)
    return buffer.getvalue().decode()


async def create_pairing_code(request: Request) -> Response:
    principal = await require(request, "devices.manage")
    hub = hub_of(request)
    raw = await read_raw_body(request, hub.config.server.max_body_bytes)
    body = PairingCodeRequest()
    if raw.strip():  # the body is optional; one that is there must be JSON
        require_json(request)
        body = parse_body(raw, PairingCodeRequest)
    code = await hub.devices.create_pairing_code(
        principal.account_id, body.device_name, origin_for(request)
    )
    return ok(
        {
            "pairing_code": code.code,
            "qr_payload": code.qr_payload,
            "qr_svg": _qr_svg(code.qr_payload),
            "expires_at": rfc3339(code.expires_at),
        },
        status=201,
    )


async def pair(request: Request) -> Response:
    hub = hub_of(request)
    brake = hub.pairing_brake
    client = request.client.host if request.client else "unknown"
    # Charged before any await: guesses sent together must not all pass a
    # brake that none of them has charged yet.
    wait = brake.charge(client) or await brake.charge_cluster(client)
    if wait:  # even the right code: it could be the millionth guess
        raise ApiError(
            "rate_limited",
            f"too many wrong pairing codes from this address; retry in {wait} s",
            headers=brake.refusal_headers("pairing-guess", wait),
        )
    try:
        body = await read_body(request, PairRequest)
        if (body.pairing_code is None) == (body.qr_payload is None):
            raise validation_error(
                [{"field": "pairing_code", "message": "send either pairing_code or qr_payload"}]
            )
    except BaseException:
        brake.refund(client)  # a request that guessed nothing costs nothing
        brake.refund_cluster(client)
        raise
    paired = await hub.devices.pair(
        pairing_code=body.pairing_code,
        qr_payload=body.qr_payload,
        device_name=body.device_name,
        model=body.model,
        app_version=body.app_version,
    )
    if paired is None:
        raise ApiError(
            "unauthorized",
            "the pairing code is unknown, expired or already used; make a new one in the panel",
        )
    brake.refund(client)  # only wrong codes stay on the count
    brake.refund_cluster(client)
    ws_origin = origin_for(request).replace("http", "ws", 1)
    return ok(
        {
            "device_id": paired.device_id,
            "device_token": paired.device_token,
            "ws_url": f"{ws_origin}/api/v1/relay/ws",
        },
        status=201,
    )
