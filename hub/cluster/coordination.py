"""What the engine asks of the cluster, and the one-node answer that does nothing.

``Coordination`` is the engine's only door to the cluster: its node id (None
on one node), its start and stop (lease, LISTEN), the relay sessions it writes
at hello and at the socket's end, and the statement that wakes the nodes
holding an account's relays. ``OneNode`` is used on SQLite and on PostgreSQL
without ``[cluster] enabled``: every method returns at once and nothing is
written, so a single hub runs exactly as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from hub.clock import Clock
from hub.cluster import sessions
from hub.cluster.control import BadPayload, Control, Offer, decode
from hub.cluster.liveness import Liveness, OnAdopted
from hub.cluster.node import RESCUE_PREFIX, NodeLease, channel_of, new_node_id
from hub.cluster.reaper import Rescued, adopt_phone, rescue
from hub.cluster.sessions import left_session, took_session, wake_holders
from hub.config import Config
from hub.store.interface import Row, Statement, StorageUnavailable, Store
from hub.store.open_store import notify_listener

log = logging.getLogger(__name__)

# Told an account id: another node handed that account's queued messages back to
# the shared queue (or this node just (re)started listening: None).
OnOffer = Callable[[str | None], None]
# Told every other control message another node sent this one (hub.cluster.control).
OnControl = Callable[[Control], None]


@dataclass(frozen=True, slots=True)
class Heard:
    """What the engine is told of the cluster: ``offer`` of shared messages,
    ``control`` of what other nodes ask, ``adopted`` the rows of a dead node's
    jobs this node took over, ``fenced`` that this node was reaped."""

    offer: OnOffer
    control: OnControl
    adopted: OnAdopted
    fenced: Callable[[], None]


_DEAF = Heard(
    offer=lambda account_id: None,
    control=lambda message: None,
    adopted=lambda rows, due: None,
    fenced=lambda: None,
)


class _Listener(Protocol):
    async def start(self) -> None: ...

    async def close(self) -> None: ...


class Coordination(Protocol):
    @property
    def node_id(self) -> str | None:
        """This node's id in the cluster; None on one node."""
        ...

    async def start(self, heard: Heard) -> None:
        """Join the cluster; from now on ``heard`` is told what happens in it."""
        ...

    async def close(self) -> None: ...

    def may_dispatch(self) -> bool:
        """False once this node's lease may have run out: it hands no job to a relay."""
        ...

    def relay_online(self, account_id: str, device_id: str) -> asyncio.Future[int] | None:
        """Record that this node holds the device's socket; the write's future, with
        the session's epoch (0: the device was revoked meanwhile). None: one node."""
        ...

    def relay_offline(self, device_id: str) -> None: ...

    def wake_holders(self, account_id: str) -> list[Statement]:
        """Statements that wake the other nodes holding the account's relays at commit."""
        ...

    def tell_holder(self, account_id: str, device_id: str, message: Control) -> list[Statement]:
        """Statements that send ``message`` at commit to the other node holding the
        device's socket (none if this node holds it, or no node does)."""
        ...

    def broadcast(self, message: Control) -> list[Statement]:
        """Statements that send ``message`` at commit to every other live node."""
        ...

    def hand_over(self, to_node: str, device_id: str, message_ids: list[str]) -> list[Statement]:
        """Statements giving the device's held messages to ``to_node`` (its socket's
        node now) and telling it so at commit."""
        ...


class OneNode:
    """A hub alone on its database: it owns every message; nothing to coordinate."""

    @property
    def node_id(self) -> str | None:
        return None

    async def start(self, heard: Heard) -> None:
        return None

    async def close(self) -> None:
        return None

    def may_dispatch(self) -> bool:
        return True

    def relay_online(self, account_id: str, device_id: str) -> asyncio.Future[int] | None:
        return None

    def relay_offline(self, device_id: str) -> None:
        return None

    def wake_holders(self, account_id: str) -> list[Statement]:
        return []

    def tell_holder(self, account_id: str, device_id: str, message: Control) -> list[Statement]:
        return []

    def broadcast(self, message: Control) -> list[Statement]:
        return []

    def hand_over(self, to_node: str, device_id: str, message_ids: list[str]) -> list[Statement]:
        return []


class ClusterNode:
    """One node of several on one PostgreSQL: a lease, a channel, relay sessions,
    and the liveness tick that reaps dead nodes and fences this one if reaped."""

    def __init__(self, store: Store, clock: Clock, config: Config) -> None:
        self._store = store
        self._clock = clock
        self._url = config.storage.url
        self._settings = config.cluster
        self._grace_s = config.relay.requeue_grace_s
        self._lease = NodeLease(store, clock, config.cluster, new_node_id())
        self._liveness = Liveness(
            store, clock, config.cluster, config.relay.requeue_grace_s,
            lambda: self._lease, self._adopted, self._fence,
        )  # fmt: skip
        self._ticking: asyncio.Task[None] | None = None
        self._listener: _Listener | None = None
        self._heard_by = _DEAF

    @property
    def node_id(self) -> str:
        return self._lease.node_id

    async def start(self, heard: Heard) -> None:
        self._heard_by = heard
        asked_at = self._clock.monotonic()
        await self._lease.take()
        self._liveness.took(asked_at)
        # From now on a write commits only while this node's row stands.
        self._set_fence(self.node_id)
        await self._listen()
        self._ticking = asyncio.create_task(self._liveness.run(), name="node-liveness")

    async def _listen(self) -> None:
        on_offer = self._heard_by.offer
        listener = notify_listener(
            self._url, channel_of(self.node_id), self._heard, lambda: on_offer(None)
        )
        await listener.start()
        self._listener = listener
        log.info("cluster node %s listening on %s", self.node_id, channel_of(self.node_id))

    def _heard(self, payload: str) -> None:
        if payload.startswith(RESCUE_PREFIX):
            self._liveness.orphans_may_exist = True
            account = payload[len(RESCUE_PREFIX) :]
            future = self._store.submit(rescue(self.node_id, account))
            future.add_done_callback(self._rescued)
            return
        try:
            message = decode(payload)
        except BadPayload as exc:  # a newer node's kind, or a stray NOTIFY
            log.warning("node %s ignored a payload it cannot read: %s", self.node_id, exc)
            return
        if isinstance(message, Offer):
            self._heard_by.offer(message.account)
        else:
            self._heard_by.control(message)

    def _rescued(self, future: asyncio.Future[Rescued]) -> None:
        if not future.cancelled() and future.exception() is None:
            self._liveness.adopted(future.result())  # else the next tick adopts them

    def _adopted(self, rows: list[Row], due: bool) -> None:
        self._heard_by.adopted(rows, due)

    async def _fence(self) -> None:
        """This node was reaped: what it holds in memory is no longer its own.
        Stop (the engine halts, closes its relay sockets and drops its memory),
        let every write already submitted end (they fail: the old row is gone),
        then join again as a new node that owns nothing yet."""
        old = self.node_id
        self._heard_by.fenced()
        if self._listener is not None:
            await self._listener.close()
            self._listener = None
        with contextlib.suppress(StorageUnavailable):
            await self._store.barrier()
        lease = NodeLease(self._store, self._clock, self._settings, new_node_id())
        self._lease = lease
        self._set_fence(lease.node_id)
        asked_at = self._clock.monotonic()
        await lease.take()  # if this fails, the next tick's renewal finds no row: again
        self._liveness.took(asked_at)
        await self._listen()
        log.warning("node %s fenced itself; it serves again as node %s", old, lease.node_id)

    def _set_fence(self, node_id: str) -> None:
        writer = getattr(self._store, "writer", None)  # PostgresStore's group commit
        if writer is not None:
            writer.fence_node = node_id
            # A node stopped mid-transaction would hold row locks its reaper needs.
            writer.fence_idle_ms = int(self._settings.lease_s * 1000)

    async def close(self) -> None:
        if self._ticking is not None:
            self._ticking.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticking
        if self._listener is not None:
            await self._listener.close()
        try:
            await self._lease.give_up(self._grace_s)
        except StorageUnavailable as exc:  # its lease runs out by itself
            log.warning("node %s left without a goodbye: %s", self.node_id, exc)

    def may_dispatch(self) -> bool:
        return self._clock.monotonic() < self._liveness.held_until

    def relay_online(self, account_id: str, device_id: str) -> asyncio.Future[int]:
        op = took_session(self.node_id, account_id, device_id)
        took = self._store.submit(op)
        if self._liveness.orphans_may_exist:
            # Its jobs held by a reaped node come here (the phone is back): the op
            # runs after the session's, in the same transaction or a later one.
            adopt = self._store.submit(adopt_phone(self.node_id, device_id))
            adopt.add_done_callback(self._adopted_phone)
        return took

    def _adopted_phone(self, future: asyncio.Future[list[Row]]) -> None:
        if not future.cancelled() and future.exception() is None and future.result():
            self._heard_by.adopted(future.result(), False)

    def relay_offline(self, device_id: str) -> None:
        sql, params = left_session(self.node_id, device_id)
        self._store.write_later(lambda tx: tx.execute(sql, params))

    def wake_holders(self, account_id: str) -> list[Statement]:
        return wake_holders(self.node_id, account_id)

    def tell_holder(self, account_id: str, device_id: str, message: Control) -> list[Statement]:
        return sessions.tell_holder(self.node_id, account_id, device_id, message)

    def broadcast(self, message: Control) -> list[Statement]:
        return sessions.broadcast(self.node_id, message)

    def hand_over(self, to_node: str, device_id: str, message_ids: list[str]) -> list[Statement]:
        return sessions.hand_over(self.node_id, to_node, device_id, message_ids)


def coordination_for(store: Store, clock: Clock, config: Config) -> Coordination:
    """The coordination a configuration asks for."""
    if config.cluster.enabled:
        return ClusterNode(store, clock, config)
    return OneNode()
