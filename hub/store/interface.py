"""What the rest of the hub may know about storage: the narrow interface.

Feature modules own their SQL, written in the portable subset both backends
speak (``?`` placeholders, ``ON CONFLICT``, no ``rowid``); the few statements
that must differ are built by ``hub.store.dialect``. They talk to a ``Store``
and, inside a write, to a ``Tx``; they never import a database driver. The
embedded SQLite backend (``hub.store.sqlite``) is one implementation; another
can sit beside it without a change to the domain.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol, TypeVar

T = TypeVar("T")

# One SQL statement and its parameters; changes are built as lists of these so
# that several of them can share one transaction.
Statement = tuple[str, tuple[object, ...]]


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


# A write: a function run inside one transaction on the store's writer.
WriteOp = Callable[[Tx], T]


class Store(Protocol):
    """Durable storage: writes commit before their futures resolve; reads see committed data."""

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    def submit(self, op: WriteOp[T]) -> asyncio.Future[T]: ...

    async def write(self, op: WriteOp[T]) -> T: ...

    def write_later(self, op: WriteOp[Any]) -> None: ...

    async def barrier(self) -> None: ...

    async def probe(self) -> None: ...

    async def execute(self, sql: str, params: Iterable[Any] = ()) -> int: ...

    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> Row | None: ...

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[Row]: ...
