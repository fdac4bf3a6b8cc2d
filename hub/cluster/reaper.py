"""Reaping dead nodes and adopting what they held: the write ops, all on PostgreSQL.

A node is dead once its lease (``hub_nodes.lease_until``) is behind the
database's clock. Any live node reaps it: its queued messages go back to the
shared queue, its relay sessions and its row go, and it is remembered in
``reaped_nodes``. Its dispatched, accepted and sent messages become orphans
(``orphan_of`` names it; a partial index finds them by phone) until one node
adopts them with a compare-and-set that clears the mark and sets
``owner_node``:

- the node holding the phone's socket now (its hello, or the reaper's
  ``rescue:`` notification, or its own tick) adopts all of that phone's, and
  re-sends the dispatched ones with the same attempt: the phone dedupes;
- a dispatched one whose phone is held by no node when ``requeue_grace_s`` has
  passed since the reap is adopted by any node, already due: its sweep puts
  it back in the queue, as it does for a phone that left one node.

An accepted (or sent) message is never adopted that way: the phone has it, and
only the phone's own reports may move it on, wherever the phone reconnects.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from hub.cluster.node import HELD, retire
from hub.store.interface import Row, Tx

# What keeps a reaped node remembered: a sent message needs no rescue (its
# phone's report is applied by whichever node reads it from storage).
_RESCUABLE = "('dispatched', 'accepted')"
_STALE_BATCH = 500  # dispatched orphans one tick requeues at most


def reap_expired(me: str, grace_s: float) -> Callable[[Tx], list[str]]:
    """A write op: reap every other node whose lease ran out; the ids reaped.

    ``SKIP LOCKED``: two reapers never wait for each other, and a node whose
    group commit holds its own row (``rh_hold_node``) is reaped on a later tick,
    after that commit, so the reap sees everything it did.
    """

    def op(tx: Tx) -> list[str]:
        dead = [
            str(row[0])
            for row in tx.execute(
                "SELECT id FROM hub_nodes WHERE lease_until < now() AND id <> ?"
                " ORDER BY id FOR UPDATE SKIP LOCKED",
                (me,),
            ).fetchall()
        ]
        for node in dead:
            retire(tx, node, grace_s)
        return dead

    return op


def adopt_phone(me: str, device_id: str) -> Callable[[Tx], list[Row]]:
    """A write op: take the orphans of one phone whose socket this node holds."""

    def op(tx: Tx) -> list[Row]:
        return tx.execute(
            "UPDATE messages SET owner_node = ?, orphan_of = NULL WHERE device_id = ?"
            f" AND orphan_of IS NOT NULL AND state IN {HELD}"
            " AND EXISTS (SELECT 1 FROM relay_sessions WHERE device_id = ? AND node_id = ?)"
            " RETURNING *",
            (me, device_id, device_id, me),
        ).fetchall()

    return op


@dataclass
class Rescued:
    """What one rescue adopted: messages of phones held here, and dispatched ones
    whose phone no node holds after the grace (to requeue now)."""

    held: list[Row] = field(default_factory=list)
    stale: list[Row] = field(default_factory=list)


def rescue(me: str, account_id: str | None = None) -> Callable[[Tx], Rescued]:
    """A write op: adopt orphans for this node's phones (of one account, or all),
    and, over every account, stale dispatched ones; forget reaped nodes that
    hold nothing any more."""

    def op(tx: Tx) -> Rescued:
        mine = "SELECT device_id FROM relay_sessions WHERE node_id = ?"
        params: tuple[object, ...] = (me, me)
        if account_id is not None:
            mine += " AND account_id = ?"
            params += (account_id,)
        held = tx.execute(
            "UPDATE messages SET owner_node = ?, orphan_of = NULL WHERE orphan_of IS NOT NULL"
            f" AND state IN {HELD} AND device_id IN ({mine}) RETURNING *",
            params,
        ).fetchall()
        if account_id is not None:
            return Rescued(held=held)
        stale = tx.execute(
            "WITH picked AS (SELECT m.id FROM messages m JOIN reaped_nodes d"
            " ON d.id = m.orphan_of WHERE m.orphan_of IS NOT NULL AND m.state = 'dispatched'"
            " AND d.rescue_after <= now()"
            " AND NOT EXISTS (SELECT 1 FROM relay_sessions r WHERE r.device_id = m.device_id)"
            " ORDER BY m.id LIMIT ? FOR UPDATE OF m SKIP LOCKED)"
            " UPDATE messages m SET owner_node = ?, orphan_of = NULL FROM picked"
            " WHERE m.id = picked.id AND m.orphan_of IS NOT NULL AND m.state = 'dispatched'"
            " RETURNING m.*",
            (_STALE_BATCH, me),
        ).fetchall()
        tx.execute(
            "DELETE FROM reaped_nodes d WHERE NOT EXISTS (SELECT 1 FROM messages m"
            f" WHERE m.orphan_of = d.id AND m.state IN {_RESCUABLE})"
        )
        return Rescued(held=held, stale=stale)

    return op


# What a node reads on every tick (a read, no write): is any lease out, any orphan left?
LOOK = (
    "SELECT (SELECT count(*) FROM hub_nodes WHERE lease_until < now() AND id <> ?) AS expired,"
    " EXISTS (SELECT 1 FROM reaped_nodes) AS orphans"
)
