"""``POST /v1/sms/send``: queue one SMS; 202 only once it is durable."""

from __future__ import annotations

import re
from typing import Annotated, Any, Final

import msgspec
from msgspec import Meta
from starlette.requests import Request
from starlette.responses import Response

from hub.api.errors import validation_error
from hub.api.request import Check, hub_of, read_body, require
from hub.api.schemas import SmsQueued
from hub.clock import rfc3339
from hub.config import SmsConfig
from hub.errors import InvalidNumber
from hub.messaging import idempotency
from hub.messaging.message import new_message
from hub.text.phone import to_e164
from hub.text.sms_text import refusal

IDEMPOTENCY_KEY: Final = "idempotency-key"
_VALID_KEY: Final = re.compile(r"^[\x21-\x7e]{1,255}$")  # printable ASCII, no spaces


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


def _idempotency_key(request: Request) -> str | None:
    raw = request.headers.get(IDEMPOTENCY_KEY)
    if raw is None:
        return None
    if not _VALID_KEY.match(raw):
        raise validation_error(
            [{"field": "Idempotency-Key", "message": "1 to 255 printable ASCII characters"}]
        )
    return raw


async def send_sms(request: Request) -> Response:
    principal = await require(request, "sms.send")
    hub = hub_of(request)
    key = _idempotency_key(request)
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
        try:
            return await _send(request, principal.account_id, body, (key, digest))
        except BaseException:
            await hub.idempotency.unclaim(principal.account_id, key)
            raise


async def _send(
    request: Request, account_id: str, body: SendSmsRequest, key: tuple[str, bytes] | None
) -> Response:
    hub = hub_of(request)
    sms = hub.config.sms
    hub.accounts.check_open(account_id)
    hub.devices.check_can_send(account_id, body.device_id, body.sim_slot)
    hold = await hub.accounts.admit_send(account_id, hub.messaging.queued_count(account_id))

    now = hub.clock.now()
    ttl = body.ttl_seconds if body.ttl_seconds is not None else sms.default_ttl_s
    message = new_message(
        account_id, to_e164(body.to, sms.default_region), body.text, now=now, ttl_s=ttl,
        device_id=body.device_id, sim_slot=body.sim_slot,
    )  # fmt: skip
    answer = msgspec.json.encode(SmsQueued(request_id=message.id, queued_at=rfc3339(now)))
    also = [] if hold is None else [hold.release]  # a cluster's count of the send
    if key is not None:
        also.append(hub.idempotency.statement(account_id, key[0], key[1], 202, answer, now))
    try:
        await hub.messaging.submit(message, also=also)
    except BaseException:
        hub.accounts.not_sent(hold)
        raise
    return Response(answer, 202, media_type="application/json")
