"""What the rest of the hub may know about storage: the narrow interface.

Feature modules own their SQL, written in the portable subset both backends
speak (``?`` placeholders, ``ON CONFLICT``, no ``rowid``); the few conditions
that must differ they take from ``Store.dialect`` (``hub.store.dialect``). They
talk to a ``Store`` and, inside a write, to a ``Tx``; they never import a
database driver, and catch ``StorageUnavailable`` and ``Conflict`` rather than a
driver's errors. The embedded SQLite backend (``hub.store.sqlite``) is one
implementation; another can sit beside it without a change to the domain.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol, TypeVar

T = TypeVar("T")

# One SQL statement and its parameters; changes are built as lists of these so
# that several of them can share one transaction.
Statement = tuple[str, tuple[object, ...]]


class StorageUnavailable(Exception):
    """The database could not commit (locked, full, broken); nothing was written.

    ``cause`` says which, for the client's hint: ``"busy"`` (another process
    holds the database's lock longer than the busy timeout), ``"disk"`` (the
    disk is full or failing) or ``"unavailable"`` (anything else, such as the
    hub closing or reloading its state).
    """

    def __init__(self, message: str, cause: str = "unavailable") -> None:
        super().__init__(message)
        self.cause = cause


class NodeFenced(StorageUnavailable):
    """A cluster node was reaped (its lease ran out): nothing it writes may commit."""


class Conflict(Exception):
    """A write broke a uniqueness or reference rule of the schema; that op changed nothing.

    Raised by the store in place of its driver's own error, so feature code can
    catch it (a pairing code drawn twice, a key already taken) without knowing
    which database it runs on. Catch it around the write, not inside the op: on
    PostgreSQL the op's transaction takes no further statement after it (its
    store fails such an op alone, with a bug's error); check first, or use
    ``ON CONFLICT``, where an op must go on.
    """


class Row(Protocol):
    """One result row: read by column name (or position)."""

    def __getitem__(self, key: str | int, /) -> Any: ...

    def keys(self) -> list[str]: ...


class Result(Protocol):
    """What a statement run inside a write gives back."""

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


class Tx(Protocol):
    """The transaction a write op runs in: statements only, no commit or rollback.

    The store commits (or rolls back) the op; an op that raises changes nothing.
    """

    def execute(self, sql: str, parameters: Sequence[Any] = ..., /) -> Result: ...

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> Result: ...


# A write: a function run inside one transaction on the store's writer.
WriteOp = Callable[[Tx], T]


class Dialect(Protocol):
    """The conditions each backend writes its own way; ``hub.store.dialect`` has them.

    Each returns a condition to put in a WHERE clause and the parameters its
    ``?`` placeholders take, in order.
    """

    def recipients_matching(self, forms: list[str]) -> tuple[str, list[object]]:
        """Recipients (table alias ``r``) whose search text holds any of ``forms``."""
        ...

    def json_array_holds(self, column: str) -> str:
        """``column`` (a JSON array of strings) holds the value of the one placeholder."""
        ...


class Store(Protocol):
    """Durable storage: writes commit before their futures resolve; reads see committed data.

    A failure of the storage itself reaches callers as ``StorageUnavailable``,
    a broken constraint as ``Conflict``.
    """

    @property
    def dialect(self) -> Dialect:
        """The conditions this backend writes its own way."""
        ...

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    def submit(self, op: WriteOp[T]) -> asyncio.Future[T]: ...

    async def write(self, op: WriteOp[T]) -> T: ...

    def write_later(self, op: WriteOp[Any]) -> None: ...

    async def barrier(self) -> None: ...

    async def probe(self) -> None: ...

    async def answers(self) -> None:
        """A read round trip: returns once the database answers, else ``StorageUnavailable``."""
        ...

    async def execute(self, sql: str, params: Iterable[Any] = ()) -> int: ...

    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> Row | None: ...

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[Row]: ...
