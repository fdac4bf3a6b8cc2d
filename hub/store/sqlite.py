"""The embedded SQLite store: one writer thread (group commit) and one reader.

WAL mode lets the reader run beside the writer. ``synchronous`` defaults to
FULL: with group commit its fsync is shared by a whole batch, so it costs
little and survives power loss, not only a crash of the process.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Iterable
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from hub.ids import new_id
from hub.serving import private_files
from hub.store.dialect import SqliteDialect
from hub.store.interface import Conflict, Row, StorageUnavailable, Store, Tx, WriteOp
from hub.store.migrations import migrate
from hub.store.writer import GroupCommitWriter, unavailable_of

T = TypeVar("T")
log = logging.getLogger(__name__)
# The repository's top-level schema.sql, shipped in the package (hub/schema.sql
# links to it) so that an installed wheel finds it too.
SCHEMA_PATH = resources.files("hub").joinpath("schema.sql")


def _log_failure(fut: asyncio.Future[Any]) -> None:
    if not fut.cancelled() and fut.exception() is not None:
        log.warning("background write failed: %s", fut.exception())


def _connect(path: Path, synchronous: str, busy_timeout_ms: int) -> sqlite3.Connection:
    # isolation_level=None: transactions are opened explicitly by the writer.
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={synchronous}")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
    # The webhook fan-out trigger (schema.sql) makes its delivery ids with this.
    conn.create_function("new_id", 1, _new_id)
    return conn


def _new_id(prefix: str) -> str:
    return new_id(prefix, datetime.now(UTC))


def _nothing(tx: Tx) -> None:
    return None


def _rewrite_user_version(conn: Tx) -> None:
    # Setting the schema version to what it is changes nothing, yet dirties the
    # database header page, so the commit must write a page to the WAL.
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    conn.execute(f"PRAGMA user_version = {version}")


def _conflicts_raised(op: WriteOp[T]) -> WriteOp[T]:
    """``op`` with SQLite's constraint error told as the interface's ``Conflict``."""

    def run(tx: Tx) -> T:
        try:
            return op(tx)
        except sqlite3.IntegrityError as exc:
            raise Conflict(str(exc)) from exc

    return run


class SqliteStore:
    dialect = SqliteDialect()

    def __init__(
        self,
        path: Path,
        *,
        synchronous: str = "FULL",
        batch_max: int = 512,
        busy_timeout_ms: int = 5000,
    ) -> None:
        """``busy_timeout_ms``: how long a write (or read) waits for another
        process's lock on the file before it fails with ``StorageUnavailable``."""
        self.path = path
        self.busy_timeout_ms = busy_timeout_ms
        self.writer = GroupCommitWriter(
            lambda: _connect(path, synchronous, busy_timeout_ms), batch_max
        )
        self._reader: aiosqlite.Connection | None = None

    async def open(self) -> None:
        private_files.make_folder(self.path.parent)
        # Before SQLite opens it: its WAL and shared-memory files take this file's mode.
        private_files.create_file(self.path)
        await self.writer.start()
        schema = SCHEMA_PATH.read_text()
        await self.writer.run_in_thread(lambda conn: migrate(conn, schema))
        self._reader = await aiosqlite.connect(self.path, isolation_level=None)
        self._reader.row_factory = sqlite3.Row
        await self._reader.execute(f"PRAGMA busy_timeout={int(self.busy_timeout_ms)}")

    async def close(self) -> None:
        if self._reader is not None:
            reader, self._reader = self._reader, None
            await reader.close()
        await self.writer.close()

    # writes

    def submit(self, op: WriteOp[T]) -> asyncio.Future[T]:
        """Queue a write; returns a future resolved after its commit."""
        return self.writer.submit(_conflicts_raised(op))

    async def write(self, op: WriteOp[T]) -> T:
        return await self.submit(op)

    async def barrier(self) -> None:
        """Return once every write submitted before this call has ended (they run in order)."""
        await self.write(_nothing)

    async def probe(self) -> None:
        """Commit a real (tiny) change: raises ``StorageUnavailable`` unless the file
        can be written now.

        Unlike ``barrier()``, whose empty transaction commits even on a full
        disk, this writes a page, so after a failed write the hub waits on it
        before it lets relays and sends touch storage again.
        """
        await self.write(_rewrite_user_version)

    def write_later(self, op: WriteOp[Any]) -> None:
        """Queue a write nobody waits for (telemetry); a failure is only logged."""
        self.submit(op).add_done_callback(_log_failure)

    async def execute(self, sql: str, params: Iterable[Any] = ()) -> int:
        """One statement as its own write; returns the number of rows changed."""
        args = tuple(params)
        return await self.write(lambda tx: tx.execute(sql, args).rowcount)

    # reads (committed data only)

    # Each read runs whole in one step on the reader's thread (execute_fetchall).
    # A cursor stepped across awaits would keep its statement, and so its
    # snapshot, open on the shared connection: a read started meanwhile would
    # not see what was committed since, not even its own caller's last write.

    async def answers(self) -> None:
        await self.fetchone("SELECT 1")

    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> Row | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        reader = self._require_reader()
        try:
            rows = await reader.execute_fetchall(sql, tuple(params))
        except sqlite3.Error as exc:
            raise unavailable_of(exc) from exc
        return list(rows)

    def _require_reader(self) -> aiosqlite.Connection:
        if self._reader is None:
            raise StorageUnavailable("the store is not open")
        return self._reader


# Checked by mypy: the SQLite store is a whole ``Store``.
_satisfies_the_interface: type[Store] = SqliteStore
