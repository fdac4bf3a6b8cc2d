"""The PostgreSQL store: the same ``Store`` as the embedded SQLite one, on a server.

Writes go through one connection of their own (``PostgresWriter``: group
commit, a SAVEPOINT per op); reads through a small pool of autocommit
connections, each read one statement, so it sees everything committed before
it started. The schema is created or upgraded on ``open()`` under an advisory
lock (``hub.store.postgres_migrate``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any, TypeVar

import psycopg
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from hub.store.interface import Row, StorageUnavailable, Tx, WriteOp
from hub.store.postgres_dialect import PostgresDialect
from hub.store.postgres_migrate import migrate
from hub.store.postgres_sql import PgRow, WholeOrFloatLoader, pg_row, stored, to_psycopg
from hub.store.postgres_writer import PostgresWriter, is_storage_fault, unavailable

T = TypeVar("T")
log = logging.getLogger(__name__)

__all__ = ["PostgresStore", "StorageUnavailable"]

_CONNECT_TIMEOUT_S = 5  # libpq's least useful value is 2


def _log_failure(fut: asyncio.Future[Any]) -> None:
    if not fut.cancelled() and fut.exception() is not None:
        log.warning("background write failed: %s", fut.exception())


def _adapt(conn: psycopg.Connection[Any] | psycopg.AsyncConnection[Any]) -> None:
    conn.adapters.register_loader("numeric", WholeOrFloatLoader)


def _session_options(wait_ms: int) -> str:
    """Settings for every connection of the store.

    ``lock_timeout`` bounds a wait for another session's lock, as SQLite's busy
    timeout does: past it the statement fails (55P03) and the caller gets 503.
    PostgreSQL reads 0 as "wait for ever", so the least wait is 1 ms.

    ``plan_cache_mode``: psycopg prepares a statement after its fifth use, and
    PostgreSQL may then keep one generic plan for it, made from the statistics
    of that moment. A table filled inside one long transaction (a 10,000-row
    import) still looks empty to them, so every lookup became a scan of the
    whole table (27 s for that import, 2 s with a plan made for each call).
    """
    return f"-c lock_timeout={max(1, wait_ms)} -c plan_cache_mode=force_custom_plan"


def connect(url: str, wait_ms: int) -> psycopg.Connection[PgRow]:
    """A connection for the writer: autocommit, since it opens its transactions itself."""
    conn = psycopg.connect(
        url,
        autocommit=True,
        row_factory=pg_row,
        connect_timeout=_CONNECT_TIMEOUT_S,
        options=_session_options(wait_ms),
    )
    _adapt(conn)
    return conn


def _nothing(tx: Tx) -> None:
    return None


def _touch_version(tx: Tx) -> None:
    # Rewriting the one version row changes nothing, yet must reach the WAL.
    tx.execute("UPDATE schema_version SET version = version")


class PostgresStore:
    def __init__(
        self, url: str, *, batch_max: int = 512, readers: int = 4, wait_ms: int = 5000
    ) -> None:
        """``wait_ms``: how long a statement waits for a lock another session
        holds, and a read for a free (or new) connection, before it fails with
        ``StorageUnavailable``."""
        self.url = url
        self.writer = PostgresWriter(lambda: connect(url, wait_ms), batch_max)
        self._wait_s = wait_ms / 1000
        self._pool = AsyncConnectionPool(
            url,
            min_size=1,
            max_size=readers,
            open=False,
            kwargs={
                "autocommit": True,
                "row_factory": pg_row,
                "connect_timeout": _CONNECT_TIMEOUT_S,
                "options": _session_options(wait_ms),
            },
            configure=self._configure,
            check=AsyncConnectionPool.check_connection,
            timeout=self._wait_s,
            name="relayhub-readers",
        )
        self._open = False
        self._dialect = PostgresDialect()

    @property
    def dialect(self) -> PostgresDialect:
        return self._dialect

    @staticmethod
    async def _configure(conn: psycopg.AsyncConnection[Any]) -> None:
        _adapt(conn)

    async def open(self) -> None:
        await asyncio.to_thread(migrate_database, self.url)
        await self._pool.open(wait=True, timeout=self._wait_s)
        await self.writer.start()
        self._open = True

    async def close(self) -> None:
        self._open = False
        await self.writer.close()
        await self._pool.close()

    # writes

    def submit(self, op: WriteOp[T]) -> asyncio.Future[T]:
        """Queue a write; returns a future resolved after its commit."""
        return self.writer.submit(op)

    async def write(self, op: WriteOp[T]) -> T:
        return await self.writer.submit(op)

    def write_later(self, op: WriteOp[Any]) -> None:
        """Queue a write nobody waits for (telemetry); a failure is only logged."""
        self.writer.submit(op).add_done_callback(_log_failure)

    async def barrier(self) -> None:
        """Return once every write submitted before this call has ended (they run in order)."""
        await self.write(_nothing)

    async def probe(self) -> None:
        """Commit a real (tiny) change: raises ``StorageUnavailable`` unless the server
        takes writes now."""
        await self.write(_touch_version)

    async def execute(self, sql: str, params: Iterable[Any] = ()) -> int:
        """One statement as its own write; returns the number of rows changed."""
        args = tuple(params)
        rowcount: int = await self.write(lambda tx: tx.execute(sql, args).rowcount)
        return rowcount

    # reads (committed data only)

    async def readers_back(self, timeout_s: float) -> None:
        """Return once the read pool is full again (after the server came back, the
        pool reconnects with a backoff of its own); ``StorageUnavailable`` past ``timeout_s``."""
        try:
            await self._pool.wait(timeout=timeout_s)
        except PoolTimeout as exc:
            raise StorageUnavailable(f"no connection to PostgreSQL: {exc}") from exc

    async def answers(self) -> None:
        """A read round trip: returns once the server answers, else ``StorageUnavailable``."""
        await self.fetchone("SELECT 1")

    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> Row | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        if not self._open:
            raise StorageUnavailable("the store is not open")
        try:
            async with self._pool.connection() as conn:
                cursor = await conn.execute(to_psycopg(sql).encode(), stored(params))
                return list(await cursor.fetchall())
        except PoolTimeout as exc:
            raise StorageUnavailable(f"no connection to PostgreSQL: {exc}") from exc
        except psycopg.Error as exc:
            if is_storage_fault(exc):
                raise unavailable(exc) from exc
            raise


def migrate_database(url: str) -> int:
    """Create or upgrade the schema at ``url``; the version it was at (0: new)."""
    with psycopg.connect(url, autocommit=True, connect_timeout=_CONNECT_TIMEOUT_S) as conn:
        return migrate(conn)
