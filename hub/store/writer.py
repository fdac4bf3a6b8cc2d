"""Group commit: one writer thread turns many concurrent writes into one transaction.

Every write is a function of a ``sqlite3.Connection``. Callers ``await
writer.write(op)``; the writer task takes everything pending (up to
``batch_max``), runs each op inside its own SAVEPOINT in one transaction on its
own thread, commits once, then resolves every caller. So one commit (and one
fsync) serves a whole batch, a failing op rolls back alone and fails only its
caller, and callers learn of success only after the commit: durable before
acknowledged.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
WriteOp = Callable[[sqlite3.Connection], T]


class StorageUnavailable(Exception):
    """The database could not commit (locked, full, broken); nothing was written."""


class GroupCommitWriter:
    def __init__(self, connect: Callable[[], sqlite3.Connection], batch_max: int) -> None:
        self._connect = connect
        self._batch_max = batch_max
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-writer")
        self._conn: sqlite3.Connection | None = None
        self._pending: list[tuple[WriteOp[Any], asyncio.Future[Any]]] = []
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self.batches = 0
        self.ops = 0

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._conn = await loop.run_in_executor(self._executor, self._connect)
        self._task = asyncio.create_task(self._run(), name="group-commit-writer")

    async def close(self) -> None:
        """Commit everything already submitted, then stop; later writes fail."""
        self._closing = True
        self._wakeup.set()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
        for _, fut in self._pending:  # only if the writer task died
            if not fut.done():
                fut.set_exception(StorageUnavailable("the hub is shutting down"))
        self._pending.clear()
        if self._conn is not None:
            conn, self._conn = self._conn, None
            await asyncio.get_running_loop().run_in_executor(self._executor, conn.close)
        self._executor.shutdown(wait=True)

    def submit(self, op: WriteOp[T]) -> asyncio.Future[T]:
        """Queue ``op``; the future resolves with its result once committed.

        Ops run in the order they were submitted, so a later op sees what an
        earlier one wrote.
        """
        fut: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        if self._closing:
            fut.set_exception(StorageUnavailable("the hub is shutting down"))
            return fut
        self._pending.append((op, fut))
        self._wakeup.set()
        return fut

    async def write(self, op: WriteOp[T]) -> T:
        return await self.submit(op)

    async def run_in_thread(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn`` on the writer's connection outside any batch (start-up work)."""
        conn = self._conn
        assert conn is not None, "writer not started"
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, conn)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while not (self._closing and not self._pending):
            await self._wakeup.wait()
            self._wakeup.clear()
            # One more turn of the loop lets tasks that are ready right now (the
            # next frames of a socket, other requests) join this batch.
            await asyncio.sleep(0)
            while self._pending:
                batch = self._pending[: self._batch_max]
                del self._pending[: self._batch_max]
                try:
                    outcomes = await loop.run_in_executor(self._executor, self._commit, batch)
                except Exception as exc:  # the commit itself failed: nobody's write is durable
                    log.error("group commit failed: %s", exc)
                    outcomes = [StorageUnavailable(str(exc))] * len(batch)
                for (_, fut), outcome in zip(batch, outcomes, strict=True):
                    if fut.done():
                        continue
                    if isinstance(outcome, BaseException):
                        fut.set_exception(outcome)
                    else:
                        fut.set_result(outcome)

    def _commit(self, batch: list[tuple[WriteOp[Any], asyncio.Future[Any]]]) -> list[Any]:
        conn = self._conn
        assert conn is not None
        outcomes: list[Any] = []
        conn.execute("BEGIN IMMEDIATE")
        try:
            for op, _ in batch:
                conn.execute("SAVEPOINT op")
                try:
                    outcomes.append(op(conn))
                    conn.execute("RELEASE op")
                except Exception as exc:
                    conn.execute("ROLLBACK TO op")
                    conn.execute("RELEASE op")
                    # Locked, full or failing storage is the storage's fault, not the op's.
                    if isinstance(exc, sqlite3.OperationalError):
                        exc = StorageUnavailable(str(exc))
                    outcomes.append(exc)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        self.batches += 1
        self.ops += len(batch)
        return outcomes
