"""Listening to one PostgreSQL NOTIFY channel on a connection of its own.

A cluster node hears other nodes through its channel (``hub.cluster``). LISTEN
lives and dies with its connection, and a notification sent while nobody
listens is not kept, so after every (re)connect ``on_listening`` is told: the
node then looks for what it may have missed. The connection is not the
writer's nor a reader's: a LISTEN must not wait behind a group commit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Callable
from typing import Any

import psycopg
from psycopg import sql

log = logging.getLogger(__name__)

_CHANNEL = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_CONNECT_TIMEOUT_S = 5
_BACKOFF_FIRST_S = 0.1
_BACKOFF_MAX_S = 5.0


class NotifyListener:
    def __init__(
        self,
        url: str,
        channel: str,
        on_payload: Callable[[str], None],
        on_listening: Callable[[], None],
    ) -> None:
        if not _CHANNEL.match(channel):
            raise ValueError(f"a channel name is lowercase letters, digits and _: {channel!r}")
        self._url = url
        self._channel = channel
        self._on_payload = on_payload
        self._on_listening = on_listening
        self._task: asyncio.Task[None] | None = None
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._listening = asyncio.Event()
        self._listened = False  # the current connection reached LISTEN

    async def start(self) -> None:
        """Start listening; returns once the first LISTEN is in place."""
        self._task = asyncio.create_task(self._run(), name=f"listen-{self._channel}")
        waiting = asyncio.create_task(self._listening.wait())
        await asyncio.wait({self._task, waiting}, return_when=asyncio.FIRST_COMPLETED)
        waiting.cancel()
        if self._task.done():
            self._task.result()  # raise what stopped it

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._conn is not None:
            await self._conn.close()

    async def _run(self) -> None:
        delay = _BACKOFF_FIRST_S
        while True:
            self._listened = False
            try:
                await self._listen()
            except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
                if self._listened:
                    delay = _BACKOFF_FIRST_S  # it was listening: a fresh loss, not a retry
                log.warning("LISTEN %s lost (%s); again in %.1f s", self._channel, exc, delay)
            if self._conn is not None:
                await self._conn.close()
                self._conn = None
            await asyncio.sleep(delay)  # a reconnect backoff, not a wait for an event
            delay = min(delay * 2, _BACKOFF_MAX_S)

    async def _listen(self) -> None:
        self._conn = conn = await psycopg.AsyncConnection.connect(
            self._url, autocommit=True, connect_timeout=_CONNECT_TIMEOUT_S
        )
        await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self._channel)))
        self._listened = True
        self._listening.set()
        self._on_listening()
        async for notify in conn.notifies():
            self._on_payload(notify.payload)
