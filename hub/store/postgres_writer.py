"""Group commit on PostgreSQL: many concurrent writes, one transaction, one COMMIT.

The same contract as the SQLite writer (``hub.store.writer``): ops run in the
order submitted, each inside its own SAVEPOINT, so a failing op rolls back
alone and fails only its caller; one COMMIT (one WAL flush) serves the batch;
futures resolve only after it. The batch runs in psycopg's pipeline mode, so the
transaction's own statements cost no round trips of their own. Ops are plain
functions of a ``Tx`` (the hub's write ops are synchronous), so they run on one
thread with one connection of their own, kept apart from the readers' pool.

A lost connection, a server shutting down, a full disk fail the whole batch
as ``StorageUnavailable``; the next batch connects again, so the hub recovers
without a restart once PostgreSQL is back.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import psycopg
from psycopg import pq

from hub.store.interface import Conflict, NodeFenced, StorageUnavailable
from hub.store.postgres_sql import PgRow, stored, to_psycopg

log = logging.getLogger(__name__)
T = TypeVar("T")
Pending = tuple[Callable[[Any], Any], asyncio.Future[Any]]

# SQLSTATE classes and codes that say the storage failed, not one op's data.
_DISK_CLASSES = ("53", "58")  # insufficient resources (disk full, …), system I/O error
_BUSY_CODES = ("55P03", "57014", "53300")  # lock not available, statement timeout, too many
_DOWN_CLASSES = ("08", "57")  # connection, operator intervention (shutdown, …)
# A read-only server (a standby, or default_transaction_read_only). The rest of
# class 25 (25P02: an op went on in an aborted transaction) is that op's bug.
_DOWN_CODES = ("25006",)


def is_storage_fault(exc: BaseException) -> bool:
    """True when any write would fail now (the server, its disk, the link), not this op's."""
    if isinstance(exc, StorageUnavailable | psycopg.OperationalError | psycopg.InterfaceError):
        return True
    state = getattr(exc, "sqlstate", None) or ""
    return state[:2] in (*_DISK_CLASSES, *_DOWN_CLASSES) or state in (*_BUSY_CODES, *_DOWN_CODES)


def unavailable(exc: BaseException) -> StorageUnavailable:
    """What a failed PostgreSQL call means for callers, with the cause for the client's hint."""
    if isinstance(exc, StorageUnavailable):
        return exc
    state = getattr(exc, "sqlstate", None) or ""
    if state in _BUSY_CODES:
        cause = "busy"
    elif state[:2] in _DISK_CLASSES:
        cause = "disk"
    else:
        cause = "unavailable"
    return StorageUnavailable(str(exc).strip() or type(exc).__name__, cause)


class PgResult:
    """A statement's outcome read at once, so the op may look at it in any order."""

    def __init__(self, rowcount: int, rows: list[PgRow]) -> None:
        self.rowcount = rowcount
        self._rows = rows
        self._next = 0

    @classmethod
    def of(cls, cursor: psycopg.Cursor[PgRow]) -> PgResult:
        return cls(cursor.rowcount, cursor.fetchall() if cursor.description else [])

    @classmethod
    def counted(cls, rowcount: int) -> PgResult:
        return cls(rowcount, [])

    def fetchone(self) -> PgRow | None:
        if self._next >= len(self._rows):
            return None
        self._next += 1
        return self._rows[self._next - 1]

    def fetchall(self) -> list[PgRow]:
        rest, self._next = self._rows[self._next :], len(self._rows)
        return rest

    def __iter__(self) -> Any:
        return iter(self.fetchall())


class OpWentOnAfterConflict(Exception):
    """A bug in a write op: it caught ``Conflict`` and ran another statement."""


class PgTx:
    """The transaction an op runs in: the hub's ``?`` SQL on the writer's connection.

    A storage fault raised here is ``StorageUnavailable`` already and a broken
    uniqueness or reference rule ``Conflict``, so the hub reads them the same
    on either backend.
    """

    def __init__(self, conn: psycopg.Connection[PgRow], pipeline: psycopg.Pipeline) -> None:
        self._conn = conn
        self._pipeline = pipeline
        self._conflict: Conflict | None = None

    def begin_op(self) -> None:
        self._conflict = None

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> PgResult:
        if self._conflict is not None:
            # PostgreSQL refuses every statement until the op's savepoint is rolled
            # back (25P02), which would read as a storage fault and fail the batch.
            raise OpWentOnAfterConflict(
                "a write op ran a statement after a Conflict; let Conflict end the op"
                f" (it was: {self._conflict})"
            )
        try:
            cursor = self._conn.execute(to_psycopg(sql).encode(), stored(parameters))
            # The op reads the outcome now: the server runs what the pipeline holds
            # (the transaction's own lines queued before, then this) in one round trip.
            self._pipeline.sync()
            return PgResult.of(cursor)
        except psycopg.IntegrityError as exc:
            self._conflict = Conflict(str(exc).strip())
            raise self._conflict from exc
        except psycopg.Error as exc:
            if is_storage_fault(exc):
                raise unavailable(exc) from exc
            raise

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> PgResult:
        """Each row in turn; the result counts every row changed, as sqlite3's does."""
        changed = 0
        for row in parameters:
            changed += self.execute(sql, row).rowcount
        return PgResult.counted(changed)


# Raised by rh_hold_node (postgres_schema.sql) when the node's row is gone.
_FENCED_CODE = "RH001"
_HOLD_NODE = b"SELECT rh_hold_node(%s)"
_IDLE_LIMIT = b"SELECT set_config('idle_in_transaction_session_timeout', %s, true)"


class PostgresWriter:
    def __init__(self, connect: Callable[[], psycopg.Connection[PgRow]], batch_max: int) -> None:
        # Public so a test can wrap it, before start(), with a fault-injecting connection.
        self.connect = connect
        # A cluster node's id: each batch then commits only while the node's row
        # stands (zombie fencing); None on one node, where nothing is checked.
        self.fence_node: str | None = None
        # With a fence: a transaction left open this long (its process stopped
        # mid-batch) is ended by the server, so its locks cannot hold up the reap.
        self.fence_idle_ms = 0
        self._batch_max = batch_max
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pg-writer")
        self._conn: psycopg.Connection[PgRow] | None = None
        self._pending: list[Pending] = []
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self.batches = 0
        self.ops = 0

    async def start(self) -> None:
        await asyncio.get_running_loop().run_in_executor(self._executor, self._connection)
        self._task = asyncio.create_task(self._run(), name="pg-group-commit-writer")

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
        await asyncio.get_running_loop().run_in_executor(self._executor, self._disconnect)
        self._executor.shutdown(wait=True)

    def submit(self, op: Callable[[Any], T]) -> asyncio.Future[T]:
        fut: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        if self._closing:
            fut.set_exception(StorageUnavailable("the hub is shutting down"))
            return fut
        self._pending.append((op, fut))
        self._wakeup.set()
        return fut

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while not (self._closing and not self._pending):
            await self._wakeup.wait()
            self._wakeup.clear()
            await asyncio.sleep(0)  # let writes that are ready right now join this batch
            while self._pending:
                batch = self._pending[: self._batch_max]
                del self._pending[: self._batch_max]
                outcomes = await loop.run_in_executor(self._executor, self._commit_batch, batch)
                for (_, fut), outcome in zip(batch, outcomes, strict=True):
                    if fut.done():
                        continue
                    if isinstance(outcome, BaseException):
                        fut.set_exception(outcome)
                    else:
                        fut.set_result(outcome)

    def _commit_batch(self, batch: list[Pending]) -> list[Any]:
        """Each op's result or exception; the whole batch fails alike on a storage fault."""
        try:
            return self._commit(batch)
        except Exception as exc:
            self._disconnect()  # a connection in an unknown state is not used again
            log.error("group commit failed: %s", str(exc).strip())
            if getattr(exc, "sqlstate", None) == _FENCED_CODE:
                return [NodeFenced(str(exc).strip())] * len(batch)
            return [unavailable(exc)] * len(batch)

    def _commit(self, batch: list[Pending]) -> list[Any]:
        conn = self._connection()
        # Pipeline mode: BEGIN, SAVEPOINT, RELEASE and COMMIT wait in the pipeline and
        # travel with the op's next statement, so an op of one statement costs one
        # round trip instead of three. Leaving the block waits for the COMMIT's answer.
        with conn.pipeline() as pipeline:
            tx = PgTx(conn, pipeline)
            outcomes: list[Any] = []
            conn.execute(b"BEGIN")
            if self.fence_node is not None and self.fence_idle_ms:
                conn.execute(_IDLE_LIMIT, (str(self.fence_idle_ms),))
            for op, _ in batch:
                conn.execute(b"SAVEPOINT op")
                tx.begin_op()
                try:
                    outcomes.append(op(tx))
                    conn.execute(b"RELEASE op")
                except Exception as exc:
                    if is_storage_fault(exc):
                        raise  # the whole batch fails: nothing of it is durable
                    conn.execute(b"ROLLBACK TO op")
                    conn.execute(b"RELEASE op")
                    outcomes.append(exc)
            if (node := self.fence_node) is not None:
                # Sent in the same flush as the COMMIT, so the server runs both even
                # if this process is stopped right now (a zombie's last batch).
                conn.execute(_HOLD_NODE, (node,))
            conn.execute(b"COMMIT")
        self.batches += 1
        self.ops += len(batch)
        return outcomes

    def _connection(self) -> psycopg.Connection[PgRow]:
        conn = self._conn
        if conn is not None and not conn.closed and not conn.broken:
            if conn.info.transaction_status == pq.TransactionStatus.IDLE:
                return conn
            self._disconnect()
        try:
            self._conn = self.connect()
        except psycopg.Error as exc:
            raise unavailable(exc) from exc
        return self._conn

    def _disconnect(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()
