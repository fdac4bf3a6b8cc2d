"""``POST /v1/otp/send`` and ``POST /v1/otp/verify``: verification codes over the relays."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta
from starlette.requests import Request
from starlette.responses import Response

from hub.api.errors import ApiError
from hub.api.messages import waiting_of
from hub.api.request import Check, hub_of, read_body, require
from hub.api.schemas import OtpSent, OtpVerification
from hub.errors import InvalidNumber
from hub.ids import new_id
from hub.messaging.message import new_message
from hub.text.phone import to_e164
from protocol.lifecycle import State

Purpose = Annotated[str, Meta(
    min_length=1, max_length=40, pattern=r"^[^\r\n{}]+$",
    description="a short label without line breaks or braces", examples=["login"],
)]  # fmt: skip


class SendOtpRequest(msgspec.Struct, forbid_unknown_fields=True):
    to: Annotated[str, Meta(min_length=1, max_length=32)]
    purpose: Purpose
    locale: Literal["uz", "ru", "en"] = "uz"
    ttl_seconds: Annotated[int, Meta(ge=30, le=900)] | None = None
    length: Annotated[int, Meta(ge=4, le=8)] | None = None
    device_id: Annotated[str, Meta(min_length=1, max_length=64)] | None = None


class VerifyOtpRequest(msgspec.Struct, forbid_unknown_fields=True):
    otp_id: Annotated[str, Meta(min_length=1, max_length=64)]
    code: Annotated[str, Meta(
        pattern=r"^[0-9]{4,8}$", description="a string of 4 to 8 digits", examples=["482913"]
    )]  # fmt: skip


def _number_check(region: str) -> Check:
    def check(body: dict[str, Any]) -> list[dict[str, str]]:
        if "to" in body:
            try:
                to_e164(body["to"], region)
            except InvalidNumber as exc:
                return [{"field": "to", "message": str(exc)}]
        return []

    return check


async def send_otp(request: Request) -> Response:
    principal = await require(request, "otp.send")
    hub = hub_of(request)
    config = hub.config.otp
    body = await read_body(request, SendOtpRequest, _number_check(hub.config.sms.default_region))
    account_id = principal.account_id
    to = to_e164(body.to, hub.config.sms.default_region)
    ttl = body.ttl_seconds or config.default_ttl_s
    hub.accounts.check_open(account_id)
    hub.devices.check_can_send(account_id, body.device_id, None)
    async with hub.otps.recipient(account_id, to, body.purpose):
        superseded = await hub.otps.check_limits(account_id, to, body.purpose)
        hold = await hub.accounts.admit_send(account_id, hub.messaging.queued_count(account_id))
        now = hub.clock.now()
        message_id = new_id("req", now)
        length = body.length or config.default_length
        otp = hub.otps.create(account_id, message_id, to, body.purpose, body.locale, ttl, length)
        message = new_message(
            account_id, to, otp.text, now=now,
            ttl_s=ttl,  # the SMS is useless once the code is
            kind="otp", device_id=body.device_id, message_id=message_id,
            sealed=hub.otps.seal(otp.text),
        )  # fmt: skip
        also = otp.statements if hold is None else [*otp.statements, hold.release]
        try:
            await hub.messaging.submit(message, also=also)
        except BaseException:
            hub.accounts.not_sent(hold)
            raise
        # An old code's SMS still waiting for a relay would only confuse: it goes no further.
        done = set(hub.messaging.cancel_queued(superseded, "superseded"))
        # A cluster node: those no node holds wait in the shared queue.
        await hub.messaging.cancel_shared([m for m in superseded if m not in done], "superseded")
    # No phone could take it: the code stands, but the caller learns it waits, and why.
    queued = message.state is State.QUEUED
    sent = OtpSent(
        otp_id=otp.otp_id,
        status="queued" if queued else "sent",
        expires_in_seconds=ttl,
        request_id=message_id,
        waiting=waiting_of(hub.messaging, message_id) if queued else None,
    )
    return Response(msgspec.json.encode(sent), media_type="application/json")


async def verify_otp(request: Request) -> Response:
    principal = await require(request, "otp.verify")
    hub = hub_of(request)
    body = await read_body(request, VerifyOtpRequest)
    result = await hub.otps.verify(principal.account_id, body.otp_id, body.code)
    if result.status == "unknown":
        raise ApiError("not_found", f"no OTP {body.otp_id} in this account")
    answer = OtpVerification(
        otp_id=body.otp_id,
        valid=result.status == "verified",
        status=result.status,  # type: ignore[arg-type]  # "unknown" answered 404 above
        attempts_left=result.attempts_left,
        reason=result.reason if result.reason is not None else msgspec.UNSET,  # type: ignore[arg-type]
    )
    return Response(msgspec.json.encode(answer), media_type="application/json")
