"""``GET /v1/messages/status`` and ``GET /v1/messages``: what happened to a message, and why."""

from __future__ import annotations

from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from hub.api.errors import ApiError, validation_error
from hub.api.request import hub_of, query_int, require
from hub.api.responses import ok, page
from hub.api.schemas import MessageWaiting
from hub.clock import rfc3339
from hub.errors import InvalidNumber
from hub.messaging.engine import Messaging
from hub.messaging.history import MessageQuery
from hub.messaging.message import PRIORITY
from hub.store.interface import Row
from hub.text.phone import to_e164
from protocol.lifecycle import ENDED_UNDELIVERED, State


def waiting_of(messaging: Messaging, message_id: str) -> MessageWaiting | None:
    """Why a message has not gone to a phone yet; None unless it is waiting."""
    found = messaging.waiting(message_id)
    if found is None:
        return None
    wait, until = found
    return MessageWaiting(
        reason=wait.reason,
        detail=wait.detail,
        until=rfc3339(until) if until is not None else msgspec.UNSET,
    )


def message_body(row: Row, messaging: Messaging, with_text: bool = False) -> dict[str, Any]:
    """A message as the API shows it; ``with_text`` for one message (lists leave it out)."""
    error = None
    if row["error_code"]:
        error = {"code": row["error_code"], "message": row["error_message"] or ""}
    terminal_failure = row["state"] in ENDED_UNDELIVERED
    body: dict[str, Any] = {
        "request_id": row["id"],
        "kind": row["kind"],
        "status": row["state"],
        "to": row["to_number"],
        "device_id": row["device_id"],
        "device_name": row["device_name"],
        "attempts": row["attempts"],
        "parts": row["parts"],
        "encoding": row["encoding"],
        "error": error,
        "queued_at": row["queued_at"],
        "dispatched_at": row["dispatched_at"],
        "accepted_at": row["accepted_at"],
        "sent_at": row["sent_at"],
        "delivered_at": row["delivered_at"],
        "failed_at": row["failed_at"] if terminal_failure else None,
        "expires_at": row["expires_at"],
        "updated_at": row["updated_at"],
        "waiting": msgspec.to_builtins(waiting_of(messaging, row["id"]))
        if row["state"] == State.QUEUED
        else None,
    }
    if with_text:
        # Never an OTP's: its text holds the code, and storage keeps it only
        # sealed, and only until a relay accepts it.
        secret = row["kind"] == "otp" or row["text_sealed"] is not None
        body = {**body, "text": None if secret else row["text"]}
    return body


async def message_status(request: Request) -> Response:
    principal = await require(request, "messages.read")
    request_id = request.query_params.get("request_id", "").strip()
    if not request_id:
        message = "is required: the request_id a send answered, e.g. ?request_id=req_01H..."
        raise validation_error([{"field": "request_id", "message": message}])
    history = hub_of(request).history
    row = await history.find(principal.account_id, request_id)
    if row is None:
        raise ApiError("not_found", f"no message {request_id} in this account")
    events = await history.events_of(request_id)
    moves = [
        {"state": e["state"], "at": e["at"], "cause": e["cause"], "device_id": e["device_id"],
         "detail": e["detail"]}
        for e in events
    ]  # fmt: skip
    body = message_body(row, hub_of(request).messaging, with_text=True)
    return ok({**body, "history": moves})


async def list_messages(request: Request) -> Response:
    principal = await require(request, "messages.read")
    params = request.query_params
    limit = query_int(request, "limit", 50, 1, 500)
    if (status := params.get("status")) and status not in State.__members__.values():
        allowed = ", ".join(s.value for s in State)
        message = f"must be one of {allowed}; got {status[:40]!r}"
        raise validation_error([{"field": "status", "message": message}])
    if (kind := params.get("kind")) and kind not in PRIORITY:
        message = f"must be one of {', '.join(PRIORITY)}; got {kind[:40]!r}"
        raise validation_error([{"field": "kind", "message": message}])
    if to := params.get("to"):
        try:  # written any way a client writes it: matched as E.164, like the send stored it
            to = to_e164(to, hub_of(request).config.sms.default_region)
        except InvalidNumber as exc:
            raise validation_error([{"field": "to", "message": str(exc)}]) from None
    query = MessageQuery(
        status=status,
        kind=kind,
        device_id=params.get("device_id"),
        to=to,
        queued_since=params.get("since"),
        before_id=params.get("cursor"),
    )
    rows, next_cursor = await hub_of(request).history.page(principal.account_id, query, limit)
    messaging = hub_of(request).messaging
    return page([message_body(r, messaging) for r in rows], next_cursor)
