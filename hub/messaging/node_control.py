"""What a cluster node does when another node tells it something, the
hand-over of a relay's jobs when its socket moved to another node, and a late
``accepted`` for a message another node owns.

On one node a relay's newer socket replaces the older one and keeps the
device's jobs: the welcome re-sends the dispatched ones (same attempt) and the
accepted ones wait for their reports. Across nodes the same holds: the node
whose socket was replaced (4409) gives the device's held messages to the
newer socket's node (``owner_node``, at commit) and tells it ``Adopt``; that
node loads them and re-sends the dispatched ones on the new socket. Nothing
goes back to the queue and no attempt is counted.

A relay may answer ``accepted`` for a job of an earlier attempt after the
message went to another relay through another node (a late accept takes the
job over: PROTOCOL.md, "never send twice"). Only the owner's copy decides, so
the relay's node forwards the answer (``RelayAccepted``); the owner applies it,
gives the message to the accepting relay's node, and once that is committed
sends ``cancel`` to the relay that lost it, as one node does.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from hub.clock import Clock
from hub.cluster.control import (
    Adopt,
    CancelAnswer,
    CancelJob,
    CancelMessage,
    CloseRelay,
    Control,
    RelayAccepted,
    Why,
    encode,
)
from hub.cluster.coordination import Coordination
from hub.cluster.node import channel_of
from hub.messaging.background import Background
from hub.messaging.cancels import MessageCancels
from hub.messaging.dispatcher import Dispatcher
from hub.messaging.live import LiveMessages, sql_list
from hub.messaging.message import LiveMessage, save_statements
from hub.messaging.moves import USES_SLOT, Moves
from hub.messaging.relay_fence import RelayFence
from hub.messaging.rounds import DispatchRounds
from hub.messaging.writes import run_statements
from hub.relay.connection import RelayConnection
from hub.relay.devices import DeviceDirectory
from hub.relay.registry import RelayRegistry
from hub.store.interface import Row, Store, Tx
from protocol import frames as f
from protocol.lifecycle import Decision, State

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
        rounds: DispatchRounds,
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
        self._rounds = rounds
        self.fence = RelayFence(relays)
        self.cancels = MessageCancels(  # a client's cancel of one message, here or on its owner
            store, clock, coordination, moves, live, relays, background, self.cancel_shared
        )

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
            case RelayAccepted():
                self._background.spawn(self._accepted_there(message))
            case CancelMessage() | CancelAnswer():
                self.cancels.told(message)
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

    async def answered_elsewhere(
        self, conn: RelayConnection, frame: f.Accepted | f.Rejected
    ) -> bool:
        """True if another live node owns the message: an ``accepted`` is forwarded
        to it (a rejection of a job this node never gave changes nothing)."""
        node = self._coordination.node_id
        if node is None or self._live.get(frame.id) is not None:
            return False
        row = await self._store.fetchone(
            "SELECT m.owner_node FROM messages m JOIN hub_nodes n ON n.id = m.owner_node"
            " WHERE m.id = ? AND m.account_id = ? AND n.lease_until > now()",
            (frame.id, conn.account_id),
        )
        if row is None or row["owner_node"] == node:
            return False
        if isinstance(frame, f.Accepted):
            told = RelayAccepted(frame.id, conn.device_id, node)
            notify = ("SELECT pg_notify(?, ?)", (channel_of(row["owner_node"]), encode(told)))
            self._store.write_later(run_statements([notify]))
        return True

    async def _accepted_there(self, told: RelayAccepted) -> None:
        message = self._live.get(told.message)
        if message is None or not await self._live.was_given(message, told.device):
            log.info("%s: a forwarded accept for a message not held here", told.message)
            return
        accepted = f.Accepted(id=told.message)
        decision = self._moves.answer(told.device, message, accepted)
        if decision is None:
            self._live.forget_if_done(message)
            return
        # The accepting relay's node owns it from now: its reports land there.
        moving = self._coordination.hand_over(told.node, told.device, [message.id])
        future = self._live.write([message], save_statements(message) + moving)
        self._dispatcher.release(message, told.device)
        self._live.remove(message)
        future.add_done_callback(lambda fut: self._cancel_loser(fut, decision, message))
        self._rounds.soon(message.account_id)

    def _cancel_loser(
        self, future: asyncio.Future[Any], decision: Decision, message: LiveMessage
    ) -> None:
        """Once the takeover is stored, the relay it was dispatched to cancels it."""
        device = decision.cancel_device
        if device is None or future.cancelled() or future.exception() is not None:
            return
        conn = self._relays.get(device)
        if conn is not None:
            conn.send_cancel(message.id)
            return
        cancel = CancelJob(message.id, device)
        statements = self._coordination.tell_holder(message.account_id, device, cancel)
        self._store.write_later(run_statements(statements))

    async def take_expired(self, now: str, limit: int = 500) -> int:
        """Take messages past their ``expires_at`` that wait unowned in the shared
        queue (no node with a fitting relay claimed them), so this node's sweep
        expires them. How many it took."""
        taken = await self._take_unowned(
            "id IN (SELECT id FROM messages WHERE state = 'queued' AND owner_node IS NULL"
            " AND expires_at <= ? ORDER BY expires_at LIMIT ? FOR UPDATE SKIP LOCKED)",
            (now, limit),
        )
        return len(taken)

    async def cancel_shared(
        self, message_ids: list[str], cause: str, cancel: Callable[[list[str], str], list[str]]
    ) -> list[str]:
        """Cancel those of these messages that wait unowned in the shared queue;
        their ids. They are taken first, then ``cancel`` (the engine's own cancel
        of queued messages) cancels them in the same turn of the loop, so no
        dispatch round sees them in between."""
        if not message_ids:
            return []
        return cancel(await self._take_unowned("id = ANY(?)", (message_ids,)), cause)

    async def _take_unowned(self, which: str, params: tuple[object, ...]) -> list[str]:
        """Make this node the owner of the messages ``which`` picks that still wait
        unowned in the shared queue, and load them; their ids. A compare-and-set
        (still queued, still unowned): a node's claim and this never both win.
        Nothing on one node."""
        node = self._coordination.node_id
        if node is None:
            return []

        def take(tx: Tx) -> list[Row]:
            return tx.execute(
                f"UPDATE messages SET owner_node = ? WHERE {which}"
                " AND state = 'queued' AND owner_node IS NULL RETURNING *",
                (node, *params),
            ).fetchall()

        rows = await self._store.write(take)
        for row in rows:
            message = self._live.from_row(row)
            self._live.add(message)
            self._moves.resume(message, self._clock.monotonic())
        return [row["id"] for row in rows]
