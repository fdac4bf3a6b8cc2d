"""What storage says about an account's messages, for reading: their status,
their history, lists and counts (``/v1/messages``, ``/v1/stats``, ``/v1/account``,
``/v1/devices``). The live queue is the engine's; this reads committed rows only.

Message ids sort by queue time and are indexed, so a read over a recent window
starts at the first id a message still in that window can have: one queued the
longest TTL before the window opened.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from hub.clock import Clock, rfc3339
from hub.ids import floor_id
from hub.store.interface import Row, Store

# A message with the name of the device it went to, if any.
_SELECT = (
    "SELECT m.*, d.name AS device_name FROM messages m LEFT JOIN devices d ON d.id = m.device_id"
)


@dataclass(frozen=True, slots=True)
class MessageQuery:
    """Which of an account's messages a list shows; None leaves a field out."""

    status: str | None = None
    kind: str | None = None
    device_id: str | None = None
    to: str | None = None  # E.164
    queued_since: str | None = None
    before_id: str | None = None  # newest first: the last id of the previous page


class MessageHistory:
    def __init__(self, store: Store, clock: Clock, max_ttl_s: int) -> None:
        self._store = store
        self._clock = clock
        self._max_ttl = timedelta(seconds=max_ttl_s)

    async def find(self, account_id: str, message_id: str) -> Row | None:
        """The account's message with its device's name; None if it has no such message."""
        return await self._store.fetchone(
            f"{_SELECT} WHERE m.id = ? AND m.account_id = ?", (message_id, account_id)
        )

    async def events_of(self, message_id: str) -> list[Row]:
        """Every state the message entered, in the order they were written."""
        return await self._store.fetchall(
            "SELECT at, state, cause, device_id, detail FROM message_events"
            " WHERE message_id = ? ORDER BY seq",
            (message_id,),
        )

    async def page(
        self, account_id: str, query: MessageQuery, limit: int
    ) -> tuple[list[Row], str | None]:
        """Up to ``limit`` messages, newest first, and the cursor of the next page (None: last)."""
        where = ["m.account_id = ?"]
        args: list[Any] = [account_id]
        for condition, value in (
            ("m.state = ?", query.status),
            ("m.kind = ?", query.kind),
            ("m.device_id = ?", query.device_id),
            ("m.to_number = ?", query.to),
            ("m.queued_at >= ?", query.queued_since),
            ("m.id < ?", query.before_id),
        ):
            if value:
                where.append(condition)
                args.append(value)
        rows = await self._store.fetchall(
            f"{_SELECT} WHERE {' AND '.join(where)} ORDER BY m.id DESC LIMIT ?", (*args, limit + 1)
        )
        return rows[:limit], rows[limit - 1]["id"] if len(rows) > limit else None

    async def sent_today(self, account_id: str) -> int:
        """Messages of the account handed to a carrier since midnight (UTC)."""
        row = await self._store.fetchone(
            "SELECT COUNT(*) AS n FROM messages WHERE account_id = ? AND sent_at >= ?",
            (account_id, rfc3339(self._midnight())),
        )
        return int(row["n"]) if row else 0

    async def sent_today_by_device(self, account_id: str) -> dict[str, int]:
        """Messages each device of the account handed to its carrier since midnight (UTC)."""
        midnight = self._midnight()
        rows = await self._store.fetchall(
            "SELECT device_id, COUNT(*) AS n FROM messages WHERE account_id = ? AND id >= ?"
            " AND sent_at >= ? GROUP BY device_id",
            (account_id, self._first_id_since(midnight), rfc3339(midnight)),
        )
        return {r["device_id"]: r["n"] for r in rows}

    async def ended_since(self, account_id: str, since: datetime) -> list[Row]:
        """``queued_at``, ``sent_at``, ``failed_at`` and ``state`` of the account's
        messages sent or failed at ``since`` or later."""
        return await self._store.fetchall(
            "SELECT queued_at, sent_at, failed_at, state FROM messages"
            " WHERE account_id = ? AND id >= ? AND (sent_at >= ? OR failed_at >= ?)",
            (account_id, self._first_id_since(since), rfc3339(since), rfc3339(since)),
        )

    async def last_delivered_since(self, account_id: str, since: datetime) -> str | None:
        """When the account's latest delivery at ``since`` or later was reported, if any."""
        row = await self._store.fetchone(
            "SELECT MAX(delivered_at) AS at FROM messages"
            " WHERE account_id = ? AND delivered_at >= ?",
            (account_id, rfc3339(since)),
        )
        return row["at"] if row else None

    def _midnight(self) -> datetime:
        return self._clock.now().replace(hour=0, minute=0, second=0, microsecond=0)

    def _first_id_since(self, moment: datetime) -> str:
        """The lowest id a message still moving at ``moment`` can have."""
        return floor_id("req", moment - self._max_ttl)
