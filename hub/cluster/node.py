"""A node's identity and its lease on the database's clock.

Each start is a new node with a new id (a restarted process never inherits an
older one's sessions). The node is alive while ``hub_nodes.lease_until`` is
ahead of the database's ``now()``; it renews the lease every
``renew_every_s`` (``hub.cluster.liveness`` ticks); a node whose lease ran out
is reaped by another (``hub.cluster.reaper``).
"""

from __future__ import annotations

import logging
import secrets

from hub.clock import Clock
from hub.config import ClusterConfig
from hub.store.interface import Store, Tx

log = logging.getLogger(__name__)


def new_node_id() -> str:
    """A node id that is also a valid channel name once prefixed: lowercase hex."""
    return "node_" + secrets.token_hex(8)


def channel_of(node_id: str) -> str:
    """The NOTIFY channel a node listens on."""
    return "rh_" + node_id


class NodeLease:
    def __init__(self, store: Store, clock: Clock, settings: ClusterConfig, node_id: str) -> None:
        self._store = store
        self._clock = clock
        self._settings = settings
        self.node_id = node_id

    async def take(self) -> None:
        """Register this node with a fresh lease."""
        lease, node = self._settings.lease_s, self.node_id

        def register(tx: Tx) -> None:
            tx.execute(
                "INSERT INTO hub_nodes (id, lease_until)"
                " VALUES (?, now() + make_interval(secs => ?))",
                (node, lease),
            )

        await self._store.write(register)

    async def renew(self) -> bool:
        """Push the lease ``lease_s`` past the database's now; False if the row is gone."""
        lease, node = self._settings.lease_s, self.node_id

        def renew(tx: Tx) -> int:
            return tx.execute(
                "UPDATE hub_nodes SET lease_until = now() + make_interval(secs => ?) WHERE id = ?",
                (lease, node),
            ).rowcount

        return bool(await self._store.write(renew))

    async def give_up(self, grace_s: float = 0.0) -> None:
        """Leave the cluster on a clean stop: the node's sessions and lease go, and
        queued messages it held go back to the shared queue. Jobs its phones hold
        are left as a reaped node's (``hub.cluster.reaper``): the node a phone
        reconnects to adopts them; a dispatched one is requeued ``grace_s`` on
        if its phone never comes back."""
        node = self.node_id

        def leave(tx: Tx) -> None:
            retire(tx, node, grace_s)

        await self._store.write(leave)


# A NOTIFY payload: the account has phones of a reaped node that are back on
# the receiving node, whose orphaned jobs it should adopt now.
RESCUE_PREFIX = "rescue:"
# The states a phone holds a job in: what a node that leaves leaves as orphans.
HELD = "('dispatched', 'accepted', 'sent')"


def retire(tx: Tx, node_id: str, grace_s: float) -> None:
    """The node leaves the cluster, cleanly or reaped: its queued messages go back
    to the shared queue (the nodes holding relays of those accounts hear of it
    at commit); the jobs its phones hold become orphans, for the node each
    phone reaches to adopt (those already back on a live node are told now),
    a dispatched one requeued ``grace_s`` on if its phone never comes back;
    its sessions and its row go."""
    tx.execute(
        "WITH freed AS (UPDATE messages SET owner_node = NULL"
        " WHERE owner_node = ? AND state = 'queued' RETURNING account_id)"
        " SELECT pg_notify(? || s.node_id, s.account_id)"
        " FROM (SELECT DISTINCT r.node_id, r.account_id FROM relay_sessions r"
        " WHERE r.node_id <> ? AND r.account_id IN (SELECT account_id FROM freed)) AS s",
        (node_id, channel_of(""), node_id),
    )
    tx.execute(
        f"UPDATE messages SET orphan_of = owner_node WHERE owner_node = ? AND state IN {HELD}",
        (node_id,),
    )
    tx.execute(
        "INSERT INTO reaped_nodes (id, rescue_after)"
        " VALUES (?, now() + make_interval(secs => ?)) ON CONFLICT (id) DO NOTHING",
        (node_id, grace_s),
    )
    tx.execute(
        "SELECT pg_notify(? || s.node_id, ? || s.account_id) FROM (SELECT DISTINCT"
        " r.node_id, r.account_id FROM relay_sessions r JOIN messages m"
        " ON m.device_id = r.device_id WHERE m.orphan_of = ? AND r.node_id <> ?) AS s",
        (channel_of(""), RESCUE_PREFIX, node_id, node_id),
    )
    tx.execute("DELETE FROM relay_sessions WHERE node_id = ?", (node_id,))
    tx.execute("DELETE FROM hub_nodes WHERE id = ?", (node_id,))
