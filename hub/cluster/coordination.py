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
from typing import Protocol

from hub.clock import Clock
from hub.cluster import sessions
from hub.cluster.control import BadPayload, Control, Offer, decode
from hub.cluster.node import NodeLease, channel_of, new_node_id
from hub.cluster.sessions import left_session, took_session, wake_holders
from hub.config import Config
from hub.store.interface import Statement, StorageUnavailable, Store
from hub.store.open_store import notify_listener

log = logging.getLogger(__name__)

# Told an account id: another node handed that account's queued messages back to
# the shared queue (or this node just (re)started listening: None).
OnOffer = Callable[[str | None], None]
# Told every other control message another node sent this one (hub.cluster.control).
OnControl = Callable[[Control], None]


class _Listener(Protocol):
    async def start(self) -> None: ...

    async def close(self) -> None: ...


class Coordination(Protocol):
    @property
    def node_id(self) -> str | None:
        """This node's id in the cluster; None on one node."""
        ...

    async def start(self, on_offer: OnOffer, on_control: OnControl) -> None: ...

    async def close(self) -> None: ...

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

    async def start(self, on_offer: OnOffer, on_control: OnControl) -> None:
        return None

    async def close(self) -> None:
        return None

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
    """One node of several on one PostgreSQL: a lease, a channel, relay sessions."""

    def __init__(self, store: Store, clock: Clock, config: Config) -> None:
        self._store = store
        self._clock = clock
        self._url = config.storage.url
        self._lease = NodeLease(store, clock, config.cluster, new_node_id())
        self._renewing: asyncio.Task[None] | None = None
        self._listener: _Listener | None = None

    @property
    def node_id(self) -> str:
        return self._lease.node_id

    async def start(self, on_offer: OnOffer, on_control: OnControl) -> None:
        await self._lease.take()
        self._renewing = asyncio.create_task(self._lease.keep_renewing(), name="node-lease")

        def heard(payload: str) -> None:
            try:
                message = decode(payload)
            except BadPayload as exc:  # a newer node's kind, or a stray NOTIFY
                log.warning("node %s ignored a payload it cannot read: %s", self.node_id, exc)
                return
            if isinstance(message, Offer):
                on_offer(message.account)
            else:
                on_control(message)

        listener = notify_listener(
            self._url, channel_of(self.node_id), heard, lambda: on_offer(None)
        )
        await listener.start()
        self._listener = listener
        log.info("cluster node %s listening on %s", self.node_id, channel_of(self.node_id))

    async def close(self) -> None:
        if self._renewing is not None:
            self._renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._renewing
        if self._listener is not None:
            await self._listener.close()
        try:
            await self._lease.give_up()
        except StorageUnavailable as exc:  # its lease runs out by itself
            log.warning("node %s left without a goodbye: %s", self.node_id, exc)

    def relay_online(self, account_id: str, device_id: str) -> asyncio.Future[int]:
        op = took_session(self.node_id, account_id, device_id)
        return self._store.submit(op)

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
