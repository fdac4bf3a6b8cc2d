"""Dispatch rounds: handing every queued message that can go now to a relay.

A round asks the dispatcher to place the account's queued messages, moves each
placed one to ``dispatched``, writes them, and sends each job to its relay
only once that write is committed. Rounds are coalesced: the answers and
reports of many sockets read in one turn of the event loop share one round at
the end of the turn, instead of one each (with 100 relays that pass was a
fifth of the hub's time). A message that cannot go yet because a rate window
or a retry pause holds it gets a wake-up for when it can.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from hub.clock import Clock
from hub.messaging.background import Background
from hub.messaging.dispatcher import Dispatcher
from hub.messaging.live import LiveMessages
from hub.messaging.message import LiveMessage, statements_of
from hub.messaging.moves import Moves
from hub.messaging.shared_queue import SharedQueue
from hub.relay.registry import RelayRegistry
from protocol.lifecycle import Event, State


class DispatchRounds:
    def __init__(
        self,
        clock: Clock,
        ack_timeout_s: float,
        dispatcher: Dispatcher,
        moves: Moves,
        live: LiveMessages,
        relays: RelayRegistry,
        background: Background,
        shared: SharedQueue,
    ) -> None:
        self._clock = clock
        self._ack_timeout_s = ack_timeout_s
        self._dispatcher = dispatcher
        self._moves = moves
        self._live = live
        self._relays = relays
        self._background = background
        self._shared = shared
        self._due: set[str] = set()  # accounts with a round at the end of this turn
        self._wakeups: set[str] = set()  # accounts with a wake-up pending

    def soon(self, account_id: str) -> None:
        """Run a round for the account once the frames ready now are handled."""
        if account_id in self._due:
            return
        self._due.add(account_id)
        asyncio.get_running_loop().call_soon(self._run_due, account_id)

    def _run_due(self, account_id: str) -> None:
        if account_id not in self._due:
            return  # run early by run_due_now
        self._due.discard(account_id)
        if not self._background.closing:
            self.run(account_id)

    def run_due_now(self) -> None:
        """Run now the rounds due at the end of this turn (lets a test settle at once)."""
        for account_id in list(self._due):
            self._run_due(account_id)

    def run(self, account_id: str) -> None:
        """Hand every queued message of the account that can go now to a relay."""
        moved = self.place(account_id)
        withdrawn = self._shared.withdraw(account_id)  # a cluster node: what it cannot place
        if moved or withdrawn:
            future = self._live.write(moved, statements_of(moved) + withdrawn)
            future.add_done_callback(lambda fut: self.release_jobs(moved, fut))
        self._shared.refill(account_id)
        self.wake_when_room_frees(account_id)

    def place(self, account_id: str) -> list[LiveMessage]:
        """Move what the dispatcher places to ``dispatched`` (and what it found past
        its expiry to ``expired``), in memory; the moved messages, to be written."""
        placed, expired = self._dispatcher.place(
            account_id, self._clock.monotonic(), self._clock.now()
        )
        moved = [m for m in expired if self._moves.local(m, Event.EXPIRE, "expired", None)]
        deadline = self._clock.monotonic() + self._ack_timeout_s
        for message, device_id in placed:
            self._moves.dispatch(message, device_id, deadline)
            moved.append(message)
        return moved

    def release_jobs(self, messages: Iterable[LiveMessage], future: asyncio.Future[Any]) -> None:
        """After the dispatch is committed, write each job to its relay."""
        if future.cancelled() or future.exception() is not None:
            return
        if not self._shared.may_dispatch():
            return  # a cluster node past its lease: the job waits, dispatched, for its owner
        for message in messages:
            if (
                message.state is State.DISPATCHED
                and message.device_id is not None
                and self._live.holds(message)  # not a copy from before a rebuild
            ):
                conn = self._relays.get(message.device_id)
                if conn is not None:
                    conn.send_job(message.send_frame())

    def wake_when_room_frees(self, account_id: str) -> None:
        """Run again once a rate window or a retry delay lets a waiting message go."""
        if (
            account_id in self._wakeups
            or not self._moves.queued_count(account_id)  # nothing waits: skip the queues
            or next(self._dispatcher.queued(account_id), None) is None
        ):
            return
        delay = self._dispatcher.next_room(account_id, self._clock.monotonic())
        if delay is None:
            return
        self._wakeups.add(account_id)

        async def wake() -> None:
            await self._clock.sleep(delay + 0.01)
            self._wakeups.discard(account_id)
            self.run(account_id)

        self._background.spawn(wake())
