"""The event feed: who is told when new events have been committed, and reading them.

Writers call ``committed(accounts)`` after a write that carried events of
those accounts has ended. The webhook sender waits on ``next_change()`` (any
account), a live stream on ``next_change(account)`` (its own only, so a busy
account does not make every other stream read). A waiter takes the change
*before* it reads, so an event committed between its read and its wait still
wakes it: no event is missed, at worst one read finds nothing new.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from datetime import datetime

from hub.ids import floor_id
from hub.store.interface import Row, Store


class EventFeed:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._changed = asyncio.Event()
        self._changed_for: dict[str, asyncio.Event] = {}
        self.closed = False

    def committed(self, accounts: Iterable[str]) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()
        for account_id in accounts:
            if (waiting := self._changed_for.pop(account_id, None)) is not None:
                waiting.set()

    def next_change(self, account_id: str | None = None) -> asyncio.Event:
        """Set once events (of ``account_id``, if given) commit after this call,
        or the feed closes."""
        if account_id is None:
            return self._changed
        return self._changed_for.setdefault(account_id, asyncio.Event())

    def close(self) -> None:
        """The hub is stopping: end every live stream."""
        self.closed = True
        self.committed(list(self._changed_for))

    async def last_seq(self) -> int:
        row = await self._store.fetchone("SELECT COALESCE(MAX(seq), 0) FROM events")
        return int(row[0]) if row else 0

    async def seq_of(self, account_id: str, event_id: str) -> int | None:
        """Where the account's event ``event_id`` sits in the feed (None: unknown or pruned)."""
        row = await self._store.fetchone(
            "SELECT seq FROM events WHERE id = ? AND account_id = ?", (event_id, account_id)
        )
        return int(row["seq"]) if row else None

    async def read(
        self, account_id: str, after: int, types: Sequence[str] = (), limit: int = 500
    ) -> list[Row]:
        """The account's events after ``after``, oldest first (``types``: only these)."""
        where, args = "account_id = ? AND seq > ?", [account_id, after]
        if types:
            where += f" AND type IN ({', '.join('?' * len(types))})"
            args += types
        return await self._store.fetchall(
            f"SELECT seq, id, type, body FROM events WHERE {where} ORDER BY seq LIMIT ?",
            (*args, limit),
        )

    def prune(self, before: datetime) -> None:
        """Forget events made before ``before`` (in the background), except those a
        pending webhook delivery still has to carry."""
        # By id, not created_at: ids sort by creation time and are indexed.
        below = floor_id("evt", before)
        self._store.write_later(
            lambda conn: conn.execute(
                "DELETE FROM events WHERE id < ? AND NOT EXISTS (SELECT 1 FROM webhook_deliveries"
                " d WHERE d.event_id = events.id AND d.status = 'pending')",
                (below,),
            )
        )
