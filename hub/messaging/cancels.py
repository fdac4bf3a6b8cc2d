"""Cancelling one message (``POST /v1/messages/{id}/cancel``), on one node and across nodes.

Before a relay accepts it (queued, dispatched) a message is cancelled at once:
the lifecycle's ``CANCEL`` is applied and written, and only after the commit
does the relay it was dispatched to get a ``cancel`` frame and the client its
200. A late ``accepted`` from that relay finds it cancelled (terminal: nothing
changes) and is answered with ``cancel`` again (``answers``).

Once a relay has accepted it only the relay can stop it: the hub records that a
cancel was asked, sends ``cancel`` and answers 202. The relay's ``failed`` (or
``rejected``) with code ``cancelled`` ends it ``cancelled`` (lifecycle rule 6); a
``sent`` means it was too late.

On a cluster only the node that owns a live message may change it: its memory
is the copy that decides. A cancel asked on another node is sent to the owner
(``CancelMessage``), which cancels it as above and answers (``CancelAnswer``)
once its write is committed. A message waiting unowned in the shared queue is
taken by a compare-and-set and cancelled on the asking node.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import Any, Final

from hub.clock import Clock
from hub.cluster.control import CancelAnswer, CancelJob, CancelMessage, encode
from hub.cluster.coordination import Coordination
from hub.cluster.node import channel_of
from hub.errors import NotCancellable
from hub.messaging.background import Background
from hub.messaging.live import LiveMessages
from hub.messaging.message import LiveMessage, save_statements
from hub.messaging.moves import Moves
from hub.messaging.writes import run_statements
from hub.relay.connection import RelayConnection
from hub.relay.registry import RelayRegistry
from hub.store.interface import Statement, StorageUnavailable, Store
from protocol.lifecycle import Event, State

log = logging.getLogger(__name__)


class Outcome(enum.StrEnum):
    CANCELLED = "cancelled"  # it will never be sent (200)
    CANCELLING = "cancelling"  # its relay was asked; the report decides (202)


# An asked node's answers besides an ``Outcome`` or an ended state's name.
_MOVED: Final = "moved"  # not held where the row said (it moved meanwhile): read again
_UNKNOWN: Final = "unknown"
_UNAVAILABLE: Final = "unavailable"
_TRIES: Final = 3
# How long a node waits for the owner's answer: one commit on each side, normally
# milliseconds; past this the owner is taken for stuck or dead and the client retries.
OWNER_ANSWER_S: Final = 10.0
# States a cancel ends at once: no relay has accepted the job.
_AT_ONCE: Final = frozenset({State.QUEUED, State.DISPATCHED})

# Cancels what waits unowned in the shared queue with ``cancel``; their ids.
CancelShared = Callable[
    [list[str], str, Callable[[list[str], str], list[str]]], Awaitable[list[str]]
]


class MessageCancels:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        coordination: Coordination,
        moves: Moves,
        live: LiveMessages,
        relays: RelayRegistry,
        background: Background,
        cancel_shared: CancelShared,
    ) -> None:
        self._store = store
        self._clock = clock
        self._coordination = coordination
        self._moves = moves
        self._live = live
        self._relays = relays
        self._background = background
        self._cancel_shared = cancel_shared
        self._waiting: dict[str, asyncio.Future[str]] = {}  # ticket → the owner's answer

    async def cancel(self, account_id: str, message_id: str) -> Outcome | None:
        """Cancel the account's message; None if it has none by that id.

        Raises ``NotCancellable`` once it was sent or ended, and
        ``StorageUnavailable`` if the outcome could not be stored (nothing changed)."""
        for _ in range(_TRIES):
            outcome = await self._cancel_here(account_id, message_id, forward=True)
            if outcome != _MOVED:
                return None if outcome is None else Outcome(outcome)
        raise StorageUnavailable("the message kept moving between nodes while it was cancelled")

    async def _cancel_here(self, account_id: str, message_id: str, forward: bool) -> str | None:
        message = self._live.get(message_id)
        if message is not None and self._live.holds(message):  # the copy that decides
            if message.account_id != account_id:
                return None  # another account's id answers as an unknown one
            if message.state in _AT_ONCE:
                return await self._cancel_now(message)
            if message.state is State.ACCEPTED:
                return await self._ask_relay(message)
            raise NotCancellable(message_id, message.state.value)
        row = await self._store.fetchone(
            "SELECT * FROM messages WHERE id = ? AND account_id = ?", (message_id, account_id)
        )
        if row is None:
            return None
        state = State(row["state"])
        if state not in _AT_ONCE and state is not State.ACCEPTED:
            raise NotCancellable(message_id, state.value)
        node = self._coordination.node_id
        owner = row["owner_node"] if node is not None else None
        if owner is None and state is State.QUEUED and node is not None:
            return await self._cancel_unowned(message_id)
        if owner is None or owner == node or not forward:
            return _MOVED  # in memory by the time it is read again (a load, a hand-over)
        return await self._ask_owner(owner, account_id, message_id)

    async def _cancel_now(self, message: LiveMessage) -> str:
        """Cancel a message no relay accepted yet; once stored, its relay is told."""
        device = message.device_id if message.state is State.DISPATCHED else None
        self._moves.local(message, Event.CANCEL, "api", None)
        await self._live.write([message], save_statements(message))
        if device is not None:
            self._send_cancel(message, device)
        return Outcome.CANCELLED

    async def _cancel_unowned(self, message_id: str) -> str:
        """Cancel a message waiting unowned in the shared queue: the compare-and-set
        gives it to this node, which cancels it in the same turn of the loop."""
        writes: list[asyncio.Future[Any]] = []

        def cancel(message_ids: list[str], cause: str) -> list[str]:
            done = []
            for taken in filter(None, map(self._live.get, message_ids)):
                if self._moves.local(taken, Event.CANCEL, cause, None):
                    writes.append(self._live.write([taken], save_statements(taken)))
                    done.append(taken.id)
            return done

        cancelled = await self._cancel_shared([message_id], "api", cancel)
        for write in writes:
            await write
        return Outcome.CANCELLED if cancelled else _MOVED

    async def _ask_relay(self, message: LiveMessage) -> str:
        """A relay accepted it: ask it to drop the job (asked once, stored; told again
        on every repeated request, in case a frame was lost)."""
        if not message.cancel_asked:
            message.cancel_asked = True  # set first: a second request meanwhile writes nothing
            message.note("cancel_asked", self._clock.now())
            try:
                await self._live.write([message], save_statements(message))
            except StorageUnavailable:
                message.cancel_asked = False  # not stored: the next request asks again
                raise
        if message.device_id is not None and message.state is State.ACCEPTED:
            self._send_cancel(message, message.device_id)
        return Outcome.CANCELLING

    def remind(self, conn: RelayConnection, accepted: list[LiveMessage]) -> None:
        """A relay said hello: its accepted jobs a client asked to cancel are asked
        again (the frame may have been lost with its previous socket)."""
        for message in accepted:
            if message.cancel_asked:
                conn.send_cancel(message.id)

    def _send_cancel(self, message: LiveMessage, device_id: str) -> None:
        conn = self._relays.get(device_id)
        if conn is not None:
            conn.send_cancel(message.id)
            return
        # Its socket may be on another node (a cluster); nothing on one node.
        told = CancelJob(message.id, device_id)
        statements = self._coordination.tell_holder(message.account_id, device_id, told)
        if statements:
            self._store.write_later(run_statements(statements))

    # --- across nodes ------------------------------------------------------------

    def told(self, message: CancelMessage | CancelAnswer) -> None:
        """A cancel's control message from another node."""
        match message:
            case CancelMessage():
                self._background.spawn(self._cancel_for(message))
            case CancelAnswer(ticket=ticket, outcome=outcome):
                waiting = self._waiting.get(ticket)
                if waiting is not None and not waiting.done():
                    waiting.set_result(outcome)

    async def _cancel_for(self, asked: CancelMessage) -> None:
        """Another node's client asked to cancel a message this node owns."""
        try:
            answer = await self._cancel_here(asked.account, asked.message, forward=False)
        except NotCancellable as exc:
            answer = exc.state
        except StorageUnavailable:
            answer = _UNAVAILABLE
        reply = CancelAnswer(asked.ticket, answer or _UNKNOWN)
        self._store.write_later(run_statements([_notify(asked.reply_to, reply)]))

    async def _ask_owner(self, owner: str, account_id: str, message_id: str) -> str | None:
        node = self._coordination.node_id
        assert node is not None
        ticket = secrets.token_hex(8)
        answered: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._waiting[ticket] = answered
        try:
            asked = CancelMessage(message_id, account_id, node, ticket)
            self._store.write_later(run_statements([_notify(owner, asked)]))
            async with asyncio.timeout(OWNER_ANSWER_S):
                answer = await answered
        except TimeoutError:
            raise StorageUnavailable(
                f"the node holding message {message_id} did not answer within {OWNER_ANSWER_S:g} s"
            ) from None
        finally:
            del self._waiting[ticket]
        if answer == _UNKNOWN:
            return None
        if answer == _UNAVAILABLE:
            raise StorageUnavailable("the node holding the message could not store the cancel")
        if answer in (_MOVED, *Outcome):
            return answer
        raise NotCancellable(message_id, answer)


def _notify(node: str, message: CancelMessage | CancelAnswer) -> Statement:
    params: tuple[Any, ...] = (channel_of(node), encode(message))
    return ("SELECT pg_notify(?, ?)", params)
