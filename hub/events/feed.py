"""The event feed: who is told when new events have been committed, and reading them.

Writers call ``committed(accounts)`` after a write that carried events of
those accounts has ended. The webhook sender waits on ``next_change()`` (any
account), a live stream on ``next_change(account)`` (its own only, so a busy
account does not make every other stream read). A waiter takes the change
*before* it reads, so an event committed between its read and its wait still
wakes it: no event is missed, at worst one read finds nothing new.

Reads follow ``hub.events.order``: positions that never let a late commit slip
behind a cursor. On a cluster, events other nodes commit wake this node's
readers through ``hub.events.tail``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from datetime import datetime

from hub.events.order import Page, Position, order_for, page_of
from hub.ids import floor_id
from hub.store.interface import Store


class EventFeed:
    def __init__(self, store: Store, *, postgres: bool = False) -> None:
        self._store = store
        self.order = order_for(postgres)
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

    async def start(self) -> Position:
        """Where a stream that starts now begins: after every event already final."""
        row = await self._store.fetchone(self.order.start_sql)
        return (int(row[0]), int(row[1])) if row else (0, 0)

    async def position_of(self, account_id: str, event_id: str) -> Position | None:
        """Where the account's event ``event_id`` sits in the feed (None: unknown or pruned)."""
        row = await self._store.fetchone(self.order.position_sql, (event_id, account_id))
        return (int(row[0]), int(row[1])) if row else None

    async def read(
        self, account_id: str, after: Position, types: Sequence[str] = (), limit: int = 500
    ) -> Page:
        """The account's final events after ``after``, oldest first (``types``: only these)."""
        where = f"account_id = ? AND {self.order.where_after()}"
        args: list[object] = [account_id, *self.order.after_params(after)]
        if types:
            where += f" AND type IN ({', '.join('?' * len(types))})"
            args += types
        rows = await self._store.fetchall(
            f"SELECT {self.order.columns}, id, type, body FROM events WHERE {where}"
            f" ORDER BY {self.order.order_by} LIMIT ?",
            (*args, limit),
        )
        return page_of(rows, after)

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
