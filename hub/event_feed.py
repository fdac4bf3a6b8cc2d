"""The event feed: who is told when new events have been committed, and reading them.

Writers call ``committed()`` after a write that carried events has ended; the
webhook sender and every live stream wait on ``next_change()``. A waiter takes
the change *before* it reads, so an event committed between its read and its
wait still wakes it: no event is missed, at worst one read finds nothing new.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Sequence
from datetime import datetime

from hub.clock import rfc3339
from hub.store.sqlite import SqliteStore


class EventFeed:
    def __init__(self, store: SqliteStore) -> None:
        self._store = store
        self._changed = asyncio.Event()
        self.closed = False

    def committed(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    def next_change(self) -> asyncio.Event:
        """Set once events commit after this call (or the feed closes)."""
        return self._changed

    def close(self) -> None:
        """The hub is stopping: end every live stream."""
        self.closed = True
        self.committed()

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
    ) -> list[sqlite3.Row]:
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
        """Forget events older than ``before`` (in the background)."""
        cutoff = rfc3339(before)
        self._store.write_later(
            lambda conn: conn.execute("DELETE FROM events WHERE created_at < ?", (cutoff,))
        )
