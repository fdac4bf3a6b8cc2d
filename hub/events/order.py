"""The order events are read in, and the cursor a reader keeps.

SQLite has one writer: ``events.seq`` is handed out in commit order, and a
reader that has seen seq 12 will never see 11 appear. PostgreSQL with several
writers (nodes, or a node and an admin command) hands out seq at insert: 12
may commit while 11 is still running, and a reader that moved past 12 would
skip 11 for ever. There an event's position is ``(xid, seq)``, its writing
transaction's id first, and a reader only takes events whose transaction is
older than every transaction still running (``pg_snapshot_xmin``): nothing can
still appear below that line, so a cursor never jumps over a late commit.
Events committed above the line wait (``Page.held``) until the older
transactions end, a few milliseconds at most under ordinary writes.

This costs no lock and no extra write; serialising event inserts instead
(one lock held to commit) would make every node's group commits take turns.

A position is ``(xid, seq)`` on both backends (xid 0 on SQLite), so the
stream and the webhook sender keep one kind of cursor.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from hub.store.interface import Row

Position = tuple[int, int]

# Below this line every transaction has ended (PostgreSQL).
_HORIZON: Final = "pg_snapshot_xmin(pg_current_snapshot())"


@dataclass(frozen=True, slots=True)
class Page:
    rows: list[Row]  # final events, oldest first
    cursor: Position  # after the last of them (or where the read started)
    held: bool = False  # committed events wait behind an older running transaction


class SeqOrder:
    """SQLite: seq is commit order."""

    def where_after(self) -> str:
        return "seq > ?"

    def after_params(self, cursor: Position) -> list[object]:
        return [cursor[1]]

    columns = "0 AS pos_xid, seq, 1 AS final"
    order_by = "seq"
    start_sql = "SELECT 0, COALESCE(MAX(seq), 0) FROM events"
    position_sql = "SELECT 0, seq FROM events WHERE id = ? AND account_id = ?"


class XidOrder:
    """PostgreSQL: (transaction id, seq), read only below the oldest running transaction."""

    def where_after(self) -> str:
        return "(xid, seq) > (CAST(CAST(? AS TEXT) AS xid8), ?)"

    def after_params(self, cursor: Position) -> list[object]:
        return [cursor[0], cursor[1]]

    # Not filtered by the horizon in SQL: a row above it tells the reader to come back.
    columns = f"CAST(CAST(xid AS TEXT) AS BIGINT) AS pos_xid, seq, xid < {_HORIZON} AS final"
    order_by = "xid, seq"
    # A stream starting now begins at the horizon: an event still running (or
    # committed above the line) comes after it; everything below is the past.
    start_sql = f"SELECT CAST(CAST({_HORIZON} AS TEXT) AS BIGINT), 0"
    position_sql = (
        "SELECT CAST(CAST(xid AS TEXT) AS BIGINT), seq FROM events WHERE id = ? AND account_id = ?"
    )


EventOrder = SeqOrder | XidOrder


def order_for(postgres: bool) -> EventOrder:
    return XidOrder() if postgres else SeqOrder()


def page_of(rows: Sequence[Row], after: Position) -> Page:
    """The final rows of a read (ordered by position), and whether some had to wait."""
    final: list[Row] = []
    for row in rows:
        if not row["final"]:
            return Page(final, position_of(final[-1]) if final else after, held=True)
        final.append(row)
    return Page(final, position_of(final[-1]) if final else after)


def position_of(row: Row) -> Position:
    return (int(row["pos_xid"]), int(row["seq"]))


# The webhook sender's cursor over new deliveries: (xid, seq, delivery id).
DeliveryPosition = tuple[int, int, str]


def deliveries_after(
    order: EventOrder, after: DeliveryPosition, limit: int
) -> tuple[str, list[object]]:
    """The query for deliveries made after ``after``, in the order of their events."""
    xid, seq, last_id = after
    if isinstance(order, SeqOrder):
        # One event makes a delivery per endpoint: paged on (event seq, id) so a
        # page that ends inside one event's deliveries loses none of them.
        return (
            "SELECT *, 0 AS pos_xid, event_seq AS seq, 1 AS final FROM webhook_deliveries"
            " WHERE redelivery_of IS NULL AND (event_seq > ? OR (event_seq = ? AND id > ?))"
            " ORDER BY event_seq, id LIMIT ?",
            [seq, seq, last_id, limit],
        )
    # A delivery's transaction is its event's (or its redeliver's): the same
    # line as the events keeps late commits from slipping behind the cursor.
    # Within one transaction, the events' seq keeps their order (a message's
    # sent before its delivered); delivery ids are random within a millisecond.
    return (
        "SELECT *, CAST(CAST(made_xid AS TEXT) AS BIGINT) AS pos_xid,"
        f" COALESCE(event_seq, 0) AS seq, made_xid < {_HORIZON} AS final"
        " FROM webhook_deliveries WHERE made_xid >= CAST(CAST(? AS TEXT) AS xid8)"
        " AND (made_xid, COALESCE(event_seq, 0), id)"
        " > (CAST(CAST(? AS TEXT) AS xid8), ?, ?)"
        " ORDER BY made_xid, COALESCE(event_seq, 0), id LIMIT ?",
        [xid, xid, seq, last_id, limit],
    )


def delivery_position_of(row: Row) -> DeliveryPosition:
    return (int(row["pos_xid"]), int(row["seq"]), str(row["id"]))
