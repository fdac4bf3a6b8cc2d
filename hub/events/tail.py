"""Several nodes: hearing of events that other nodes commit.

A node's own writes wake its readers in-process (``EventFeed.committed``); an
event written by another node would only be seen at a stream's next
keepalive. So each cluster node follows the events table itself: every
``POLL_S`` one indexed read of what became final since its last look (below
the oldest running transaction, as ``hub.events.order`` reads), and the
accounts it finds are woken. A stream on node A sees an event committed on
node B within ``POLL_S`` plus the time older transactions take to end.

A poll rather than a NOTIFY to every node: a NOTIFY in every transaction that
writes an event would take PostgreSQL's commit-wide notify lock in nearly all
of them, and notifications are not kept while a listener reconnects, so a
poll would be needed beside it anyway. One read every 50 ms per node is
cheap; an idle cluster reads an empty index range.
"""

from __future__ import annotations

import logging
from typing import Final

from hub.clock import Clock
from hub.events.feed import EventFeed
from hub.events.order import Position, page_of
from hub.store.interface import StorageUnavailable, Store

log = logging.getLogger(__name__)

POLL_S: Final = 0.05
_BATCH: Final = 1000


class ClusterTail:
    def __init__(self, store: Store, clock: Clock, feed: EventFeed) -> None:
        self._store = store
        self._clock = clock
        self._feed = feed

    async def follow(self) -> None:
        """Wake readers of the accounts whose events other nodes commit; until cancelled."""
        cursor = await self._feed.start()
        while True:
            await self._clock.sleep(POLL_S)
            try:
                cursor = await self._catch_up(cursor)
            except StorageUnavailable as exc:
                log.warning("event tail: storage unavailable (%s); retrying", exc)

    async def _catch_up(self, cursor: Position) -> Position:
        order = self._feed.order
        while True:
            rows = await self._store.fetchall(
                f"SELECT {order.columns}, account_id FROM events"
                f" WHERE {order.where_after()} ORDER BY {order.order_by} LIMIT ?",
                (*order.after_params(cursor), _BATCH),
            )
            # Those above the line wait for the next poll.
            page = page_of(rows, cursor)
            if page.rows:
                self._feed.committed({row["account_id"] for row in page.rows})
            cursor = page.cursor
            if len(page.rows) < _BATCH:
                return cursor
