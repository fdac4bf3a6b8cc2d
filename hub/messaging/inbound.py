"""Inbound SMS: what a relay's ``received`` report stores, and its event.

The statements join the report's own write (the device's ``last_seq`` moves in
the same transaction), so a replayed report is stored once: the row is unique
per device and seq, and a second copy is skipped.
"""

from __future__ import annotations

from datetime import datetime

from hub.clock import rfc3339
from hub.events.outbox import event_statements
from hub.ids import new_id
from hub.store.interface import Statement
from protocol import frames as f

_INSERT = (
    "INSERT INTO inbound_messages (id, account_id, device_id, seq, from_number, text,"
    " sim_slot, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"
)


def inbound_statements(
    account_id: str, device_id: str, report: f.Received, now: datetime
) -> list[Statement]:
    """Store an inbound SMS and its ``message.received`` event."""
    inbound_id = new_id("inb", now)
    received_at = rfc3339(report.at)
    data = {"id": inbound_id, "from": report.from_, "text": report.text,
            "device_id": device_id, "sim_slot": report.sim_slot,
            "received_at": received_at}  # fmt: skip
    row = (inbound_id, account_id, device_id, report.seq, report.from_, report.text,
           report.sim_slot, received_at)  # fmt: skip
    return [(_INSERT, row), *event_statements(account_id, "message.received", data, now)]
