"""The live messages: in-memory copies of the messages still moving, and how
their changes reach storage.

The engine decides on these copies synchronously, so one job has one holder at
a time; every change is then written through the group-commit store. A copy
stays here while it is queued, dispatched or accepted, and while a write of it
is in flight; after that storage is the only copy, read back when a late
report names the message.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Collection, Iterator
from typing import Any, Final

from hub.events.outbox import accounts_with_events
from hub.messaging.message import LiveMessage
from hub.messaging.writes import SeqStep, report_op, run_statements
from hub.store.interface import Row, Statement, Store
from protocol.lifecycle import LIVE, State

log = logging.getLogger(__name__)


def sql_list(states: Collection[State]) -> str:
    """``states`` as an SQL list literal in lifecycle order: ``('queued', 'accepted')``.

    Only for the lifecycle's own names, never for input: they are quoted, not
    escaped.
    """
    return "(" + ", ".join(f"'{state.value}'" for state in State if state in states) + ")"


LIVE_SQL: Final = sql_list(LIVE)


class LiveMessages:
    def __init__(
        self,
        store: Store,
        on_write_failed: Callable[[BaseException, list[LiveMessage]], None],
        on_events: Callable[[set[str]], None],
        unseal: Callable[[bytes], str],
        node: Callable[[], str | None] = lambda: None,
    ) -> None:
        self._store = store
        self._node = node  # a cluster node's id now: it loads only the messages it owns
        self._unseal = unseal  # opens a sealed (OTP) text read back from storage
        self._on_write_failed = on_write_failed
        self._on_events = on_events  # a write that carried events has ended
        self._messages: dict[str, LiveMessage] = {}

    def __len__(self) -> int:
        return len(self._messages)

    def __getitem__(self, message_id: str) -> LiveMessage:
        return self._messages[message_id]

    def messages(self) -> list[LiveMessage]:
        """Every live message now (those still moving)."""
        return list(self._messages.values())

    def get(self, message_id: str) -> LiveMessage | None:
        return self._messages.get(message_id)

    def holds(self, message: LiveMessage) -> bool:
        """True for the index's own copy (not one left over from before a reload)."""
        return self._messages.get(message.id) is message

    def add(self, message: LiveMessage) -> None:
        self._messages[message.id] = message

    def remove(self, message: LiveMessage) -> None:
        """Forget a message another node may own from now on (the shared queue's)."""
        if self.holds(message):
            del self._messages[message.id]

    def clear(self) -> None:
        self._messages = {}

    async def load_live(self) -> Iterator[LiveMessage]:
        """Read every message still moving from storage into the index, oldest first."""
        node = self._node()
        if node is None:
            rows = await self._store.fetchall(
                f"SELECT * FROM messages WHERE state IN {LIVE_SQL} ORDER BY id"
            )
        else:
            rows = await self._store.fetchall(
                f"SELECT * FROM messages WHERE state IN {LIVE_SQL} AND owner_node = ? ORDER BY id",
                (node,),
            )
        loaded = [LiveMessage.from_row(row, self._unseal) for row in rows]
        for message in loaded:
            self.add(message)
        return iter(loaded)

    async def find(self, account_id: str, message_id: str) -> LiveMessage | None:
        """The message if this account has it: the live copy, else storage's."""
        message = self._messages.get(message_id)
        if message is None:
            row = await self._store.fetchone(
                "SELECT * FROM messages WHERE id = ? AND account_id = ?", (message_id, account_id)
            )
            if row is None:
                return None
            # Another report may have loaded it while we waited.
            found = LiveMessage.from_row(row, self._unseal)
            message = self._messages.setdefault(message_id, found)
        return message if message.account_id == account_id else None

    async def stored_row(self, message_id: str) -> Row | None:
        """Storage's row of the message (None if it was never stored)."""
        return await self._store.fetchone("SELECT * FROM messages WHERE id = ?", (message_id,))

    async def was_given(self, message: LiveMessage, device_id: str) -> bool:
        """True if the message was ever dispatched to this device.

        Only such a device may answer or report it: "a report implies accepted"
        (and the takeover it allows) must not let a phone claim a message it was
        never handed. The last holder is known in memory; an earlier one only
        from the message's history.
        """
        if message.device_id == device_id:
            return True
        row = await self._store.fetchone(
            "SELECT 1 FROM message_events WHERE message_id = ? AND state = ? AND device_id = ?"
            " LIMIT 1",
            (message.id, State.DISPATCHED.value, device_id),
        )
        return row is not None

    def write(
        self,
        messages: list[LiveMessage],
        statements: list[Statement],
        seq_step: SeqStep | None = None,
    ) -> asyncio.Future[Any]:
        """Store changes; ``seq_step`` for a report's write (see ``writes.report_op``).

        The future resolves after the commit. A failed write is reported to
        ``on_write_failed`` with the messages it carried: memory may then be
        ahead of storage for them (for every message, if storage failed).
        """
        op = run_statements(statements) if seq_step is None else report_op(statements, seq_step)
        future: asyncio.Future[Any] = self._store.submit(op)
        self.track(messages, statements, future)
        return future

    def track(
        self, messages: list[LiveMessage], statements: list[Statement], future: asyncio.Future[Any]
    ) -> None:
        """Follow a write of ``statements`` that ``future`` commits, as ``write`` does
        (the shared queue's claim runs them inside an op of its own)."""
        for message in messages:
            message.writes_in_flight += 1
        future.add_done_callback(lambda fut: self._written(messages, fut))
        if accounts := accounts_with_events(statements):
            future.add_done_callback(lambda fut: self._on_events(accounts))

    def _written(self, messages: list[LiveMessage], future: asyncio.Future[Any]) -> None:
        # Told before the messages may be forgotten: the handler may keep them
        # here until they are read back from storage.
        if not future.cancelled() and (error := future.exception()) is not None:
            self._on_write_failed(error, messages)
        for message in messages:
            message.writes_in_flight -= 1
            self.forget_if_done(message)

    def from_row(self, row: Row) -> LiveMessage:
        """The message a stored row holds (a sealed text opened)."""
        return LiveMessage.from_row(row, self._unseal)

    def forget_if_done(self, message: LiveMessage) -> None:
        if message.state not in LIVE and message.writes_in_flight == 0 and self.holds(message):
            del self._messages[message.id]
