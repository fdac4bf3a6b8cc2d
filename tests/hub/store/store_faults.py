"""Storage faults injected by a wrapper, not by patching the writer's methods.

The group-commit writer opens its connection through its ``connect`` factory.
Wrap that factory (before the writer or store starts) and the writer's
connection becomes a ``FaultyConnection``: everything passes through to the
real SQLite connection, except the commits that ``CommitFaults`` marks to fail,
which raise the way a failing disk does and commit nothing::

    faults = CommitFaults()
    store.writer.connect = faults.wrap(store.writer.connect)
    await store.open()
    faults.fail_next()  # the next batch's COMMIT raises a disk I/O error
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from typing import Any, cast

_SQLITE_IOERR = 10


def disk_io_error() -> sqlite3.OperationalError:
    """What SQLite raises when a write to the file fails (``SQLITE_IOERR``)."""
    error = sqlite3.OperationalError("disk I/O error")
    error.sqlite_errorcode = _SQLITE_IOERR
    error.sqlite_errorname = "SQLITE_IOERR"
    return error


class CommitFaults:
    """How many of the next commits fail, and with what; shared by the connections it wraps."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # armed on the event loop, taken on the writer's thread
        self._due = 0
        self._error: Callable[[], BaseException] = disk_io_error
        self.failed = 0  # commits made to fail so far
        self.tripped = threading.Event()  # set once a commit has been made to fail

    def fail_next(self, count: int = 1, error: Callable[[], BaseException] = disk_io_error) -> None:
        """Make the next ``count`` commits raise ``error()`` (nothing of theirs is written)."""
        with self._lock:
            self._due, self._error = count, error

    def wrap(self, connect: Callable[[], sqlite3.Connection]) -> Callable[[], sqlite3.Connection]:
        """A connect factory like ``connect`` whose connections fail commits when told."""

        def faulty_connect() -> sqlite3.Connection:
            return cast(sqlite3.Connection, FaultyConnection(connect(), self))

        return faulty_connect

    def take(self) -> BaseException | None:
        """The error the commit starting now must raise, if it is one that fails."""
        with self._lock:
            if self._due == 0:
                return None
            self._due -= 1
            self.failed += 1
            self.tripped.set()
            return self._error()


class FaultyConnection:
    """A real connection, except that a COMMIT its ``CommitFaults`` marks raises instead."""

    def __init__(self, conn: sqlite3.Connection, faults: CommitFaults) -> None:
        self._conn = conn
        self._faults = faults

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        if sql.strip().upper() == "COMMIT" and (error := self._faults.take()) is not None:
            raise error  # the transaction stays open; the writer rolls it back
        return self._conn.execute(sql, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)
