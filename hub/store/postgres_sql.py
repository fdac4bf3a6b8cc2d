"""The hub's shared SQL as psycopg takes it, and psycopg's rows as the hub reads them.

Feature SQL is written once, with SQLite's ``?`` placeholders. psycopg wants
``%s`` and a literal ``%`` doubled; a ``?`` or ``%`` inside a string literal,
a quoted name or a comment is text, not a placeholder, and is left as it is
(only a ``%`` is doubled there too, since psycopg reads the whole string).
Parameters are stored as SQLite stores them: a ``bool`` as 0 or 1, since the
flag columns are integers in both schemas.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from psycopg.abc import Buffer
from psycopg.adapt import Loader
from psycopg.rows import RowMaker

if TYPE_CHECKING:
    from psycopg._cursor_base import BaseCursor

_QUOTES = {"'": "'", '"': '"'}


@lru_cache(maxsize=1024)
def to_psycopg(sql: str) -> str:
    """``sql`` with every placeholder ``?`` as ``%s`` and every ``%`` as ``%%``."""
    out: list[str] = []
    i, n = 0, len(sql)
    while i < n:
        char = sql[i]
        if char in _QUOTES:  # a string literal or a quoted name; '' and "" stay inside
            end = i + 1
            while end < n:
                if sql[end] == char:
                    if end + 1 < n and sql[end + 1] == char:
                        end += 2
                        continue
                    break
                end += 1
            out.append(sql[i : end + 1].replace("%", "%%"))
            i = end + 1
        elif sql.startswith("--", i):
            end = sql.find("\n", i)
            end = n if end < 0 else end
            out.append(sql[i:end].replace("%", "%%"))
            i = end
        elif sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            end = n if end < 0 else end + 2
            out.append(sql[i:end].replace("%", "%%"))
            i = end
        elif char == "?":
            out.append("%s")
            i += 1
        elif char == "%":
            out.append("%%")
            i += 1
        else:
            out.append(char)
            i += 1
    return "".join(out)


def stored(params: Iterable[Any]) -> tuple[Any, ...]:
    """Parameters in storage form: a bool as the integer SQLite would have stored."""
    return tuple(int(p) if isinstance(p, bool) else p for p in params)


class PgRow:
    """One row, readable by column name or position, as ``sqlite3.Row`` is."""

    __slots__ = ("_index", "_values")

    def __init__(self, index: dict[str, int], values: Sequence[Any]) -> None:
        self._index = index
        self._values = tuple(values)

    def __getitem__(self, key: str | int | slice, /) -> Any:
        if isinstance(key, str):
            try:
                return self._values[self._index[key]]
            except KeyError:
                raise IndexError(f"no such column: {key}") from None
        return self._values[key]

    def keys(self) -> list[str]:
        return list(self._index)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PgRow):
            return NotImplemented
        return self._index == other._index and self._values == other._values

    def __hash__(self) -> int:
        return hash(self._values)

    def __repr__(self) -> str:
        return f"PgRow({dict(zip(self._index, self._values, strict=True))!r})"


def pg_row(cursor: BaseCursor[Any, Any]) -> RowMaker[PgRow]:
    """psycopg row factory: rows that read like ``sqlite3.Row``."""
    index = {column.name: i for i, column in enumerate(cursor.description or ())}
    return lambda values: PgRow(index, values)


class WholeOrFloatLoader(Loader):
    """``numeric`` (what SUM and AVG of integers give) as an int when whole, else a float.

    SQLite gives an int or a float, never a ``Decimal``; the hub's code and its
    JSON encoder expect the same from either backend.
    """

    def load(self, data: Buffer) -> int | float:
        text = bytes(data).decode()
        if text.lstrip("-").isdigit():
            return int(text)
        return float(text)
