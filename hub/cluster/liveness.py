"""One node's heartbeat in the cluster: renew its lease, reap dead nodes, rescue
their orphans, and notice when it was itself reaped.

Everything runs on one timer of ``reap_every_s`` (at most 1 s), so a node
that died is reaped at most ``lease_s + reap_every_s`` (plus a commit) after
its last renewal: each tick reads one row (any lease out? any orphan left?)
and writes only when there is something to do. The lease is renewed on the
ticks that fall ``renew_every_s`` apart (on the next tick after a failed
renewal). A node reaps only once it has held its own lease without a gap for
``lease_s``: after the database was away, every lease lapsed alike, and the
nodes that come back must not reap each other before they could renew.

A renewal that finds the node's row gone, or any write failing with
``NodeFenced``, means another node reaped this one (it was stopped, or cut
from the database, past its lease): ``on_reaped`` fences it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from hub.clock import Clock
from hub.cluster.node import NodeLease
from hub.cluster.reaper import LOOK, Rescued, reap_expired, rescue
from hub.config import ClusterConfig
from hub.store.interface import NodeFenced, Row, StorageUnavailable, Store

log = logging.getLogger(__name__)

# Told rows of messages this node just adopted; True: requeue them now (stale).
OnAdopted = Callable[[list[Row], bool], None]


class Liveness:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        settings: ClusterConfig,
        grace_s: float,
        lease: Callable[[], NodeLease],
        on_adopted: OnAdopted,
        on_reaped: Callable[[], Awaitable[None]],
    ) -> None:
        self._store = store
        self._clock = clock
        self._settings = settings
        self._grace_s = grace_s
        self._lease = lease  # the node's current lease (a fenced node takes a new one)
        self._on_adopted = on_adopted
        self._on_reaped = on_reaped
        # Set by a tick that saw reaped nodes (or a rescue notice): only then does
        # a hello look for its phone's orphans.
        self.orphans_may_exist = False
        # Until when (this process's monotonic clock) the lease surely runs: from
        # the moment a renewal was asked, not answered. Past it the node may have
        # been reaped, so it hands no job to a relay (a SIGSTOPped node wakes
        # past it: the clock ran on while it was stopped).
        self.held_until = 0.0

    def took(self, asked_at: float) -> None:
        """A lease asked for at ``asked_at`` was taken or renewed."""
        self.held_until = asked_at + self._settings.lease_s

    async def run(self) -> None:
        """Tick until cancelled; a failed tick is logged and the next one tries again."""
        renewed_at = tried_at = steady_since = self._clock.monotonic()
        renewal_failed = False
        while True:
            await self._clock.sleep(self._settings.reap_every_s)
            now = self._clock.monotonic()
            renewing = renewal_failed or now - tried_at >= self._settings.renew_every_s
            try:
                if renewing:
                    tried_at = now
                    if not await self._lease().renew():
                        raise NodeFenced("the node's lease row is gone")
                    if renewal_failed:
                        # The database (or this node's link to it) was away: every
                        # node's lease may have lapsed alike. Reap only once the
                        # others have had a whole lease to renew theirs.
                        steady_since = now
                        log.warning("node %s: lease renewed again after %.1f s",
                                    self._lease().node_id, now - renewed_at)  # fmt: skip
                    renewal_failed = False
                    renewed_at = now
                    self.took(now)
                await self.tick(may_reap=now - steady_since >= self._settings.lease_s)
            except NodeFenced as exc:
                log.error("node %s was reaped (%s): fencing itself", self._lease().node_id, exc)
                try:
                    await self._on_reaped()
                except StorageUnavailable as again:  # the next renewal finds no row: again
                    log.error("fencing could not take a new lease yet: %s", again)
                renewed_at = tried_at = steady_since = self._clock.monotonic()
            except StorageUnavailable as exc:
                renewal_failed = renewal_failed or renewing
                late = self._clock.monotonic() - renewed_at
                if late > self._settings.lease_s:
                    # Another node may reap it meanwhile; its writes then fail
                    # (rh_hold_node) and the next renewal finds the row gone.
                    log.error("node %s: lease not renewed for %.1f s (%s)",
                              self._lease().node_id, late, exc)  # fmt: skip
                else:
                    log.warning("node %s: cluster tick failed (%s)", self._lease().node_id, exc)

    async def tick(self, may_reap: bool = True) -> list[str]:
        """Reap what ran out (if ``may_reap``) and rescue what is left; the nodes
        reaped now."""
        me = self._lease().node_id
        row = await self._store.fetchone(LOOK, (me,))
        if row is None:
            return []
        dead: list[str] = []
        if row["expired"] and may_reap:
            dead = await self._store.write(reap_expired(me, self._grace_s))
            for node in dead:
                log.warning("reaped node %s: its lease ran out", node)
        self.orphans_may_exist = bool(row["orphans"] or dead)
        if self.orphans_may_exist:
            self.adopted(await self._store.write(rescue(me)))
        return dead

    def adopted(self, rescued: Rescued) -> None:
        if rescued.held:
            self._on_adopted(rescued.held, False)
        if rescued.stale:
            log.warning("requeueing %d job(s) of reaped nodes: their phones did not come back"
                        " within requeue_grace_s", len(rescued.stale))  # fmt: skip
            self._on_adopted(rescued.stale, True)
