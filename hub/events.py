"""Events: what customers hear about, as webhooks and on the live stream.

An event is written as one row of the ``events`` table by a statement that
joins the transaction of the change that caused it (``event_statement``), so a
state change and its event commit together or not at all. That table is the
webhook outbox and the source of ``GET /v1/events``.

The body is exactly what a receiver gets: ``{"type", "timestamp", "data"}``;
the event id (``evt_…``) travels as the ``webhook-id`` header and the SSE id.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

import msgspec

from hub.clock import rfc3339
from hub.ids import new_id
from hub.store.sqlite import Statement

EVENT_TYPES: Final = (
    "message.sent",
    "message.delivered",
    "message.failed",
    "message.received",
    "otp.verified",
    "device.offline",
    "device.online",
)

INSERT_EVENT: Final = (
    "INSERT INTO events (id, account_id, type, created_at, body) VALUES (?, ?, ?, ?, ?)"
)

_encoder = msgspec.json.Encoder()


def event_statement(account_id: str, type_: str, data: dict[str, Any], now: datetime) -> Statement:
    """The insert of one event; run it in the transaction of the change it reports."""
    assert type_ in EVENT_TYPES, type_
    timestamp = rfc3339(now)
    body = _encoder.encode({"type": type_, "timestamp": timestamp, "data": data})
    return (INSERT_EVENT, (new_id("evt", now), account_id, type_, timestamp, body))


def carries_event(statements: list[Statement]) -> bool:
    return any(sql is INSERT_EVENT for sql, _ in statements)
