"""The outbox fan-out: new events become one pending delivery per subscribed endpoint.

Events are committed with the change that caused them (``hub.events``). The
sender then runs ``fan_out`` as one write: it reads the events after the
stored cursor, inserts a delivery for every enabled endpoint of the event's
account that subscribes to its type, and moves the cursor, all in one
transaction. A crash before that commit leaves the cursor behind, so the next
start fans the same events out again, and the unique index on
(event, endpoint) makes sure no event gets two deliveries to one endpoint.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from datetime import datetime
from typing import Final

from hub.clock import rfc3339
from hub.ids import new_id
from hub.store.writer import WriteOp

CURSOR: Final = "webhooks"
BATCH: Final = 1000


# A delivery the fan-out made: (delivery id, endpoint id, event id).
Made = tuple[str, str, str]


def fan_out(now: datetime, due_at: datetime) -> WriteOp[tuple[list[Made], bool]]:
    """A write op; returns the deliveries made and whether more events are waiting."""

    def op(conn: sqlite3.Connection) -> tuple[list[Made], bool]:
        row = conn.execute("SELECT seq FROM outbox_cursor WHERE name = ?", (CURSOR,)).fetchone()
        events = conn.execute(
            "SELECT seq, id, account_id, type, created_at FROM events WHERE seq > ?"
            " ORDER BY seq LIMIT ?",
            (row["seq"] if row else 0, BATCH),
        ).fetchall()
        if not events:
            return [], False
        accounts = sorted({e["account_id"] for e in events})
        subscribed: dict[str, list[sqlite3.Row]] = defaultdict(list)
        for endpoint in conn.execute(
            "SELECT id, account_id, events, created_at FROM webhook_endpoints"
            f" WHERE enabled = 1 AND account_id IN ({', '.join('?' * len(accounts))})",
            accounts,
        ):
            subscribed[endpoint["account_id"]].append(endpoint)
        stamp, due = rfc3339(now), rfc3339(due_at)
        rows = [
            (new_id("dlv", now), event["account_id"], endpoint["id"], event["id"], event["type"],
             due, stamp, stamp)
            for event in events
            for endpoint in subscribed[event["account_id"]]
            # An endpoint hears of events from its creation on, not older ones.
            if event["type"] in endpoint["events"].split()
            and event["created_at"] >= endpoint["created_at"]
        ]  # fmt: skip
        made = []
        for row in rows:
            if conn.execute(
                "INSERT OR IGNORE INTO webhook_deliveries (id, account_id, endpoint_id, event_id,"
                " event_type, status, next_attempt_at, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, 'pending', ?, ?, ?)",
                row,
            ).rowcount:
                made.append((row[0], row[2], row[3]))
        conn.execute(
            "INSERT INTO outbox_cursor (name, seq) VALUES (?, ?)"
            " ON CONFLICT (name) DO UPDATE SET seq = excluded.seq",
            (CURSOR, events[-1]["seq"]),
        )
        return made, len(events) == BATCH

    return op
