"""Group commit: one writer thread turns many concurrent writes into one transaction.

Every write is a function of a ``sqlite3.Connection``. Callers ``await
writer.write(op)``; the writer task takes everything pending (up to
``batch_max``), runs each op inside its own SAVEPOINT in one transaction on its
own thread, commits once, then resolves every caller. So one commit (and one
fsync) serves a whole batch, a failing op rolls back alone and fails only its
caller, and callers learn of success only after the commit: durable before
acknowledged.

Two kinds of failure are told apart. A storage fault (locked past the busy
timeout, disk full, I/O error, a broken file) reaches callers as
``StorageUnavailable``. Anything else an op raises (a value SQLite cannot bind,
a constraint, a bug) is that op's own fault and reaches only its caller, as
raised. If such a failure ends the whole transaction (SQLite rolls it back, or
the commit refuses it), the batch is run again one op to a transaction, so the
op at fault fails alone and its batch-mates commit.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Final, TypeVar

from hub.store.interface import StorageUnavailable

log = logging.getLogger(__name__)

T = TypeVar("T")
WriteOp = Callable[[sqlite3.Connection], T]


# Primary SQLite result codes (an extended code keeps its primary in the low byte).
_SQLITE_BUSY: Final = 5
_SQLITE_LOCKED: Final = 6
_SQLITE_IOERR: Final = 10
_SQLITE_FULL: Final = 13
_SQLITE_TOOBIG: Final = 18


def is_storage_fault(exc: BaseException) -> bool:
    """True when ``exc`` says storage failed (any write would), not one op's data.

    SQLite's operational errors (locked, full, I/O, a missing table) and a
    broken file are the storage's; a string too big, a value that cannot be
    bound, a constraint or a Python error raised by the op are the op's.
    """
    if isinstance(exc, StorageUnavailable):
        return True
    if isinstance(exc, sqlite3.OperationalError):
        code = getattr(exc, "sqlite_errorcode", None)
        return not (isinstance(code, int) and code & 0xFF == _SQLITE_TOOBIG)
    return type(exc) is sqlite3.DatabaseError  # "malformed", "not a database"


def unavailable_of(exc: BaseException) -> StorageUnavailable:
    """What a failed SQLite call means for callers (``exc`` itself if it already is one)."""
    if isinstance(exc, StorageUnavailable):
        return exc
    code = getattr(exc, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    if primary in (_SQLITE_BUSY, _SQLITE_LOCKED):
        cause = "busy"
    elif primary in (_SQLITE_FULL, _SQLITE_IOERR):
        # A write past a file size limit is an I/O error, past free space a full disk.
        cause = "disk"
    else:
        cause = "unavailable"
    return StorageUnavailable(str(exc), cause)


class GroupCommitWriter:
    def __init__(self, connect: Callable[[], sqlite3.Connection], batch_max: int) -> None:
        # Public so a test can wrap it, before start(), with a fault-injecting connection.
        self.connect = connect
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
        self._conn = await loop.run_in_executor(self._executor, self.connect)
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
                except Exception as exc:  # the transaction failed: nobody's write is durable
                    if is_storage_fault(exc):
                        log.error("group commit failed: %r", str(exc))
                        outcomes = [unavailable_of(exc)] * len(batch)
                    else:
                        # One op's data failed the whole transaction: find it.
                        outcomes = await loop.run_in_executor(
                            self._executor, self._commit_each, batch
                        )
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
                    # Locked, full or failing storage is the storage's fault, not the op's.
                    if is_storage_fault(exc):
                        exc = unavailable_of(exc)
                    if not conn.in_transaction:
                        # SQLite rolled the whole transaction back (it may, on a full
                        # disk or an I/O error): the ops before this one are undone
                        # too, so the whole batch fails, with this op's cause.
                        raise exc from None
                    conn.execute("ROLLBACK TO op")
                    conn.execute("RELEASE op")
                    outcomes.append(exc)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        self.batches += 1
        self.ops += len(batch)
        return outcomes

    def _commit_each(self, batch: list[tuple[WriteOp[Any], asyncio.Future[Any]]]) -> list[Any]:
        """Run each op of a failed batch in a transaction of its own; their outcomes."""
        outcomes: list[Any] = []
        for item in batch:
            try:
                outcomes += self._commit([item])
            except Exception as exc:
                outcomes.append(unavailable_of(exc) if is_storage_fault(exc) else exc)
        return outcomes
