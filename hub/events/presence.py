"""Presence events: ``device.online`` and ``device.offline``, once per real change.

A relay that says hello is announced online at once (unless it already was).
A relay whose socket is gone is announced offline only after
``[relay] offline_grace_s`` without a new socket, so a phone switching from
Wi-Fi to mobile data and reconnecting announces nothing.

The last announcement is stored with the device (``devices.presence``) in the
same transaction as its event. After a restart every device last announced
online gets the same grace to reconnect; one that does not is announced
offline, so a relay that died with the hub is never left "online".

Each announcement is a conditional write, and its event is stored only if the
write changed ``devices.presence``: online only from offline, offline only
from online. On several nodes (``node_id`` set) that makes each event once
cluster-wide: a hello on node C for a device whose session was on a dead node
B finds it online already and says nothing; and an offline is not announced
while another live node holds the device's session, nor once the device has
been heard from (a hello or heartbeat anywhere) since its socket here ended.
A device whose node died and that comes back to no node is announced offline
by whichever node's sweep finds it first (``sweep_orphans``): no live node
holds its session and nobody heard from it for the grace.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from hub.clock import Clock, rfc3339
from hub.events.outbox import event_statements
from hub.store.interface import Store, Tx

log = logging.getLogger(__name__)


@dataclass(slots=True)
class _Gone:
    account_id: str
    name: str | None
    since_mono: float
    since: datetime


class Presence:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        grace_s: float,
        on_events: Callable[[set[str]], None],
        node_id: Callable[[], str | None] = lambda: None,
    ) -> None:
        """``node_id``: this node's id when several share the database (it changes
        if the node is fenced); None alone."""
        self._store = store
        self._node_id_of = node_id
        self._clock = clock
        self._grace_s = grace_s
        self._on_events = on_events
        self._online: set[str] = set()  # devices last announced online
        self._gone: dict[str, _Gone] = {}  # announced online, socket gone, grace running

    async def load(self) -> None:
        """Devices announced online before a restart get the grace to come back."""
        rows = await self._store.fetchall(
            "SELECT id, account_id, name, last_seen_at FROM devices WHERE presence = 'online'"
        )
        mono, now = self._clock.monotonic(), self._clock.now()
        for row in rows:
            self._online.add(row["id"])
            # If it never returns, it went away when it was last heard from.
            seen = row["last_seen_at"]
            since = datetime.fromisoformat(seen) if seen else now
            self._gone[row["id"]] = _Gone(row["account_id"], row["name"], mono, since)

    @property
    def _node_id(self) -> str | None:
        return self._node_id_of()

    async def sweep_orphans(self) -> None:
        """On a cluster node: announce offline every device still stored online
        that no live node holds and nobody heard from for the grace (its node
        died, and it came back to no node). Every node sweeps; the conditional
        write makes the event once."""
        if self._node_id is None:
            return
        cutoff = rfc3339(self._clock.now() - timedelta(seconds=self._grace_s))
        rows = await self._store.fetchall(_ORPHANED, (cutoff,))
        for row in rows:
            if row["id"] in self._gone:
                continue  # this node's own grace for it is running
            seen = row["last_seen_at"]
            since = datetime.fromisoformat(seen) if seen else self._clock.now()
            self._online.discard(row["id"])
            self._announce(row["account_id"], row["id"], row["name"], "offline", since)

    def is_announced_online(self, device_id: str) -> bool:
        return device_id in self._online

    def connected(self, account_id: str, device_id: str, name: str) -> None:
        """A relay said hello."""
        self._gone.pop(device_id, None)
        if device_id not in self._online:
            self._online.add(device_id)
            self._announce(account_id, device_id, name, "online", self._clock.now())

    def disconnected(self, account_id: str, device_id: str, name: str | None) -> None:
        """A relay's registered socket is gone; offline unless it returns in time."""
        if device_id in self._online and device_id not in self._gone:
            self._gone[device_id] = _Gone(
                account_id, name, self._clock.monotonic(), self._clock.now()
            )

    def sweep(self) -> None:
        """Announce every device whose grace has run out."""
        mono = self._clock.monotonic()
        for device_id, gone in list(self._gone.items()):
            if mono - gone.since_mono >= self._grace_s:
                del self._gone[device_id]
                self._online.discard(device_id)
                self._announce(gone.account_id, device_id, gone.name, "offline", gone.since, gone)

    def _announce(
        self,
        account_id: str,
        device_id: str,
        name: str | None,
        status: str,
        at: datetime,
        gone: _Gone | None = None,
    ) -> None:
        data = {"device_id": device_id, "name": name, "status": status, "at": rfc3339(at)}
        update, params = self._change(device_id, status, at)
        event = event_statements(account_id, f"device.{status}", data, self._clock.now())

        def op(tx: Tx) -> bool:
            if not tx.execute(update, params).rowcount:
                return False
            for sql, args in event:
                tx.execute(sql, args)
            return True

        future = self._store.submit(op)
        future.add_done_callback(lambda fut: self._unchanged(fut, device_id, status))
        future.add_done_callback(lambda fut: self._written(fut, account_id, device_id, gone))

    def _change(self, device_id: str, status: str, at: datetime) -> tuple[str, tuple[object, ...]]:
        """The write that moves the stored presence, and changes nothing if it is
        already there (or, on a cluster, the device is online elsewhere)."""
        if status == "online":
            return (
                "UPDATE devices SET presence = 'online' WHERE id = ? AND presence <> 'online'",
                (device_id,),
            )
        if self._node_id is None:
            return (
                "UPDATE devices SET presence = 'offline' WHERE id = ? AND presence = 'online'",
                (device_id,),
            )
        return (
            "UPDATE devices SET presence = 'offline' WHERE id = ? AND presence = 'online'"
            " AND (last_seen_at IS NULL OR last_seen_at <= ?)"
            " AND NOT EXISTS (SELECT 1 FROM relay_sessions r JOIN hub_nodes n"
            " ON n.id = r.node_id WHERE r.device_id = ? AND r.node_id <> ?"
            " AND n.lease_until > now())",
            (device_id, rfc3339(at), device_id, self._node_id),
        )

    def _unchanged(self, future: asyncio.Future[bool], device_id: str, status: str) -> None:
        if not future.cancelled() and future.exception() is None and not future.result():
            # Another node announced it (or, for offline, holds the device now).
            log.info("device %s: %s already announced cluster-wide; no event", device_id, status)

    def _written(
        self, future: asyncio.Future[Any], account_id: str, device_id: str, gone: _Gone | None
    ) -> None:
        if not future.cancelled() and (error := future.exception()) is not None:
            # Not stored: memory goes back to what storage says, so the
            # announcement is made again (next hello, or next sweep).
            log.warning("a presence event could not be stored (%s); will retry", error)
            if gone is None:
                self._online.discard(device_id)
            elif device_id not in self._online:
                self._online.add(device_id)
                self._gone.setdefault(device_id, gone)
        self._on_events({account_id})


# Devices stored online whose session no live node holds, silent since the cutoff.
_ORPHANED = (
    "SELECT d.id, d.account_id, d.name, d.last_seen_at FROM devices d"
    " WHERE d.presence = 'online' AND (d.last_seen_at IS NULL OR d.last_seen_at <= ?)"
    " AND NOT EXISTS (SELECT 1 FROM relay_sessions r JOIN hub_nodes n ON n.id = r.node_id"
    " WHERE r.device_id = d.id AND n.lease_until > now())"
)
