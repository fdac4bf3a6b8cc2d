"""Events: what customers hear about, as webhooks and on the live stream.

An event is written by a statement that joins the transaction of the change
that caused it (``event_statements``): one row of the ``events`` table, whose
insert trigger (``events_fan_out`` in schema.sql) adds one pending webhook
delivery for every enabled endpoint of the account that subscribes to its
type. So a state change, its event and its deliveries commit together or not
at all: the ``events`` table is the source of ``GET /v1/events``, the
deliveries are the webhook outbox.

The body is exactly what a receiver gets: ``{"type", "timestamp", "data"}``;
the event id (``evt_…``) travels as the ``webhook-id`` header and the SSE id.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

import msgspec

from hub.clock import rfc3339
from hub.ids import new_id
from hub.store.interface import Statement

EVENT_TYPES: Final = (
    "message.sent",
    "message.delivered",
    "message.failed",
    "message.cancelled",
    "message.received",
    "otp.verified",
    "device.offline",
    "device.online",
)

INSERT_EVENT: Final = (
    "INSERT INTO events (id, account_id, type, created_at, body) VALUES (?, ?, ?, ?, ?)"
)

_encoder = msgspec.json.Encoder()


def event_statements(
    account_id: str, type_: str, data: dict[str, Any], now: datetime
) -> list[Statement]:
    """Store one event (and so its webhook deliveries), in the transaction of the
    change it reports."""
    assert type_ in EVENT_TYPES, type_
    timestamp = rfc3339(now)
    event_id = new_id("evt", now)
    body = _encoder.encode({"type": type_, "timestamp": timestamp, "data": data})
    return [(INSERT_EVENT, (event_id, account_id, type_, timestamp, body))]


def accounts_with_events(statements: list[Statement]) -> set[str]:
    """The accounts whose events these statements store (empty: no event)."""
    return {str(params[1]) for sql, params in statements if sql is INSERT_EVENT}
