"""``POST /v1/sms/send``: queue one SMS; 202 only once it is durable."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from msgspec import Meta
from starlette.requests import Request
from starlette.responses import Response

from hub.api.errors import ApiError
from hub.api.request import Check, hub_of, read_body, require
from hub.api.schemas import SmsQueued
from hub.clock import rfc3339
from hub.config import SmsConfig
from hub.messaging import idempotency
from hub.messaging.message import new_message
from hub.text.phone import InvalidNumber, to_e164
from hub.text.sms_text import refusal


class SendSmsRequest(msgspec.Struct):
    to: Annotated[str, Meta(min_length=1, max_length=32)]
    text: Annotated[str, Meta(min_length=1, max_length=5000)]
    device_id: Annotated[str, Meta(min_length=1, max_length=64)] | None = None
    sim_slot: Annotated[int, Meta(ge=0, le=7)] | None = None
    ttl_seconds: int | None = None


def _checks(sms: SmsConfig) -> Check:
    """Domain checks of a send body, run beside the type checks."""

    def check(body: dict[str, Any]) -> list[dict[str, str]]:
        errors = []
        if "to" in body:
            try:
                to_e164(body["to"], sms.default_region)
            except InvalidNumber as exc:
                errors.append({"field": "to", "message": str(exc)})
        if "text" in body and (unfit := refusal(body["text"], sms.max_parts)):
            errors.append({"field": "text", "message": unfit})
        ttl = body.get("ttl_seconds")
        if ttl is not None and not sms.min_ttl_s <= ttl <= sms.max_ttl_s:
            errors.append({
                "field": "ttl_seconds",
                "message": f"must be from {sms.min_ttl_s} to {sms.max_ttl_s}",
            })  # fmt: skip
        return errors

    return check


async def send_sms(request: Request) -> Response:
    principal = await require(request, "sms.send")
    hub = hub_of(request)
    key = idempotency.check_key(request.headers.get(idempotency.HEADER))
    body = await read_body(request, SendSmsRequest, _checks(hub.config.sms))
    if key is None:
        return await _send(request, principal.account_id, body, None)
    digest = idempotency.request_hash(body)
    # Claim first, then look: a first request that finished in between is
    # found, one still running gets 409; neither can queue a second message.
    with hub.idempotency.claim(principal.account_id, key):
        replay = await hub.idempotency.replay(principal.account_id, key, digest, hub.clock.now())
        if replay is not None:
            return Response(
                replay.body,
                replay.status,
                media_type="application/json",
                headers={"Idempotent-Replayed": "true"},
            )
        return await _send(request, principal.account_id, body, (key, digest))


async def _send(
    request: Request, account_id: str, body: SendSmsRequest, key: tuple[str, bytes] | None
) -> Response:
    hub = hub_of(request)
    sms = hub.config.sms
    hub.accounts.check_open(account_id)
    check_device(request, account_id, body.device_id, body.sim_slot)
    hub.accounts.admit(account_id, hub.messaging.queued_count(account_id))

    now = hub.clock.now()
    ttl = body.ttl_seconds if body.ttl_seconds is not None else sms.default_ttl_s
    message = new_message(
        account_id, to_e164(body.to, sms.default_region), body.text, now=now, ttl_s=ttl,
        device_id=body.device_id, sim_slot=body.sim_slot,
    )  # fmt: skip
    answer = msgspec.json.encode(SmsQueued(request_id=message.id, queued_at=rfc3339(now)))
    also = []
    if key is not None:
        also.append(hub.idempotency.statement(account_id, key[0], key[1], 202, answer, now))
    await hub.messaging.submit(message, also=also)
    return Response(answer, 202, media_type="application/json")


def check_device(
    request: Request, account_id: str, device_id: str | None, sim_slot: int | None
) -> None:
    """``invalid_device`` unless a device of this account can take the message."""
    devices = hub_of(request).devices
    if device_id is None:
        if devices.count(account_id) == 0:
            raise ApiError(
                "invalid_device",
                "no device is paired yet; pair the Android relay app first",
                extra={"field": "device_id"},
            )
        slots = devices.slots(account_id)
        if sim_slot is not None and slots and sim_slot not in slots:
            known = ", ".join(map(str, sorted(slots)))
            raise ApiError(
                "invalid_device",
                f"no device of this account has a SIM in slot {sim_slot} (slots: {known})",
                extra={"field": "sim_slot"},
            )
        return
    device = devices.get(account_id, device_id)
    if device is None:
        raise ApiError(
            "invalid_device", f"no device {device_id} in this account",
            extra={"field": "device_id"},
        )  # fmt: skip
    if device.disabled:
        raise ApiError(
            "invalid_device", f"device {device_id} is disabled; enable it or pick another",
            extra={"field": "device_id"},
        )  # fmt: skip
    if sim_slot is not None and device.sims and sim_slot not in device.sims:
        has = ", ".join(map(str, device.sims))
        raise ApiError(
            "invalid_device", f"device {device_id} has no SIM in slot {sim_slot}"
            f" (it has {has})", extra={"field": "sim_slot"},
        )  # fmt: skip
