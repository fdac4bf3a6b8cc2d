"""The attempts log: each account's webhook deliveries, their attempts, and redeliver."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

import msgspec

from hub.clock import Clock, rfc3339
from hub.ids import floor_id, new_id
from hub.store.interface import Row, Store, Tx

STATUSES = ("pending", "succeeded", "failed")


def _attempt(row: Row) -> dict[str, Any]:
    return {
        "n": row["n"],
        "at": row["at"],
        "status_code": row["status_code"],
        "latency_ms": row["latency_ms"],
        "error": row["error"],
        "response_excerpt": row["response_excerpt"],
    }


class _EventData(msgspec.Struct):
    request_id: str | None = None


class _EventBody(msgspec.Struct):
    data: _EventData


_event_decoder = msgspec.json.Decoder(_EventBody)


def _request_id(body: bytes | None) -> str | None:
    """The message an event is about (message.* and otp.verified carry one);
    None for other events, or once the event is pruned."""
    if body is None:
        return None
    try:
        return _event_decoder.decode(body).data.request_id
    except msgspec.DecodeError:
        return None


def _delivery(row: Row, attempts: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "endpoint_id": row["endpoint_id"],
        "event_id": row["event_id"],
        "event_type": row["event_type"],
        "status": row["status"],
        "attempt_count": row["attempt_count"],
        "next_attempt_at": row["next_attempt_at"],
        "redelivery_of": row["redelivery_of"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
        "attempts": attempts,
        "request_id": _request_id(row["body"]),
    }


class WebhookDeliveries:
    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    async def page(
        self,
        account_id: str,
        *,
        endpoint_id: str | None = None,
        event_type: str | None = None,
        status: str | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Newest first, each with its attempts; and the cursor of the next page."""
        where, args = ["d.account_id = ?"], [account_id]
        for column, value in (
            ("endpoint_id", endpoint_id), ("event_type", event_type), ("status", status),
        ):  # fmt: skip
            if value is not None:
                where.append(f"d.{column} = ?")
                args.append(value)
        if cursor:
            where.append("d.id < ?")
            args.append(cursor)
        rows = await self._store.fetchall(
            # The event's body names the message (request_id) the delivery is about.
            "SELECT d.*, v.body FROM webhook_deliveries d LEFT JOIN events v"
            f" ON v.id = d.event_id WHERE {' AND '.join(where)} ORDER BY d.id DESC LIMIT ?",
            (*args, limit + 1),
        )
        page = rows[:limit]
        attempts = await self._attempts_of([r["id"] for r in page])
        next_cursor = page[-1]["id"] if len(rows) > limit else None
        return [_delivery(r, attempts[r["id"]]) for r in page], next_cursor

    async def get(self, account_id: str, delivery_id: str) -> dict[str, Any] | None:
        """One delivery with its attempts and the event it carries."""
        row = await self._store.fetchone(
            "SELECT d.*, v.body FROM webhook_deliveries d LEFT JOIN events v"
            " ON v.id = d.event_id WHERE d.id = ? AND d.account_id = ?",
            (delivery_id, account_id),
        )
        if row is None:
            return None
        attempts = await self._attempts_of([delivery_id])
        event = msgspec.Raw(row["body"]) if row["body"] is not None else None
        return {**_delivery(row, attempts[delivery_id]), "event": event}

    async def redeliver(self, account_id: str, delivery_id: str) -> Row | None:
        """A new delivery of the same event to the same endpoint, due now.

        It keeps the event's ``webhook-id``: receivers that already handled it
        can tell. None if there is no such delivery in this account.
        """
        now = self._clock.now()
        new = new_id("dlv", now)
        stamp = rfc3339(now)

        def op(conn: Tx) -> Row | None:
            row = conn.execute(
                "SELECT d.* FROM webhook_deliveries d JOIN webhook_endpoints e"
                " ON e.id = d.endpoint_id WHERE d.id = ? AND d.account_id = ?",
                (delivery_id, account_id),
            ).fetchone()
            if row is None:
                return None  # no such delivery, or its endpoint was just deleted
            conn.execute(
                "INSERT INTO webhook_deliveries (id, account_id, endpoint_id, event_id,"
                " event_type, status, next_attempt_at, redelivery_of, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?)",
                (new, account_id, row["endpoint_id"], row["event_id"], row["event_type"],
                 stamp, delivery_id, stamp, stamp),
            )  # fmt: skip
            found: Row | None = conn.execute(
                "SELECT * FROM webhook_deliveries WHERE id = ?", (new,)
            ).fetchone()
            return found

        return await self._store.write(op)

    def prune(self, before: datetime) -> None:
        """Forget finished deliveries (and their attempts) made before ``before``."""
        below = floor_id("dlv", before)  # by id: ids sort by creation time and are indexed
        self._store.write_later(
            lambda conn: conn.execute(
                "DELETE FROM webhook_deliveries WHERE id < ? AND status != 'pending'", (below,)
            )
        )

    async def _attempts_of(self, delivery_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
        found: dict[str, list[dict[str, Any]]] = defaultdict(list)
        if delivery_ids:
            rows = await self._store.fetchall(
                "SELECT * FROM webhook_attempts WHERE delivery_id IN"
                f" ({', '.join('?' * len(delivery_ids))}) ORDER BY delivery_id, n",
                delivery_ids,
            )
            for row in rows:
                found[row["delivery_id"]].append(_attempt(row))
        return found
