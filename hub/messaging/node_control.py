"""What a cluster node does when another node tells it something, and the
hand-over of a relay's jobs when its socket moved to another node.

On one node a relay's newer socket replaces the older one and keeps the
device's jobs: the welcome re-sends the dispatched ones (same attempt) and the
accepted ones wait for their reports. Across nodes the same holds: the node
whose socket was replaced (4409) gives the device's held messages to the
newer socket's node (``owner_node``, at commit) and tells it ``Adopt``; that
node loads them and re-sends the dispatched ones on the new socket. Nothing
goes back to the queue and no attempt is counted.
"""

from __future__ import annotations

import logging

from hub.clock import Clock
from hub.cluster.control import Adopt, CancelJob, CloseRelay, Control, Why
from hub.cluster.coordination import Coordination
from hub.messaging.background import Background
from hub.messaging.dispatcher import Dispatcher
from hub.messaging.live import LiveMessages, sql_list
from hub.messaging.message import LiveMessage
from hub.messaging.moves import USES_SLOT, Moves
from hub.messaging.relay_fence import RelayFence
from hub.relay.connection import RelayConnection
from hub.relay.devices import DeviceDirectory
from hub.relay.registry import RelayRegistry
from hub.store.interface import Store
from protocol.lifecycle import State

log = logging.getLogger(__name__)

_HELD_SQL = sql_list(USES_SLOT)


class NodeControl:
    def __init__(
        self,
        coordination: Coordination,
        store: Store,
        clock: Clock,
        ack_timeout_s: float,
        devices: DeviceDirectory,
        relays: RelayRegistry,
        dispatcher: Dispatcher,
        moves: Moves,
        live: LiveMessages,
        background: Background,
    ) -> None:
        self._coordination = coordination
        self._store = store
        self._clock = clock
        self._ack_timeout_s = ack_timeout_s
        self._devices = devices
        self._relays = relays
        self._dispatcher = dispatcher
        self._moves = moves
        self._live = live
        self._background = background
        self.fence = RelayFence(relays)

    def told(self, message: Control) -> None:
        """Another node's control message (``hub.cluster.control``)."""
        match message:
            case CloseRelay(why=Why.REVOKED):
                self._devices.forget(message.device)
                self.fence.told(message)
            case CloseRelay():
                self.fence.told(message)
            case CancelJob(message=message_id, device=device_id):
                conn = self._relays.get(device_id)
                if conn is not None:
                    conn.send_cancel(message_id)
            case Adopt(device=device_id):
                self._background.spawn(self._adopt(device_id))
            case _:
                log.info("ignored a control message this node has no use for: %r", message)

    def hand_over(self, conn: RelayConnection, to_node: str) -> None:
        """The device's socket here was replaced by one on ``to_node``: its held
        messages leave this node's memory and go there."""
        device_id = conn.device_id
        held = [
            message
            for message in (
                self._live.get(mid) for mid in sorted(self._dispatcher.held_by(device_id))
            )
            if message is not None and message.device_id == device_id and message.state in USES_SLOT
        ]
        for message in held:
            self._dispatcher.release(message, device_id)
            self._live.remove(message)
        # Sent even with nothing held: the new node's hello may have raced a job
        # this node was committing (that job's write lands first: one writer).
        ids = [m.id for m in held]
        self._live.write([], self._coordination.hand_over(to_node, device_id, ids))
        log.info("relay %s moved to %s with %d held job(s)", device_id, to_node, len(held))

    async def _adopt(self, device_id: str) -> None:
        """Load the device's held messages another node gave this one; re-send the
        dispatched ones to its socket here, as a welcome does."""
        rows = await self._store.fetchall(
            f"SELECT * FROM messages WHERE owner_node = ? AND device_id = ?"
            f" AND state IN {_HELD_SQL} ORDER BY id",
            (self._coordination.node_id, device_id),
        )
        deadline = self._clock.monotonic() + self._ack_timeout_s
        conn = self._relays.get(device_id)
        for row in rows:
            if self._live.get(row["id"]) is not None:
                continue  # a report on the new socket read it in already
            message: LiveMessage = self._live.from_row(row)
            self._live.add(message)
            self._moves.resume(message, deadline)
            if message.state is State.DISPATCHED and conn is not None:
                conn.send_job(message.send_frame())
