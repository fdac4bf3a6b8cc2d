"""What the migration tests share: reading an old database's shape on a plain
connection of their own, and opening it once with the hub's store (which
migrates it to ``CURRENT``)."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from hub.store.sqlite import SqliteStore

STAMP = "2026-01-01T00:00:00.000Z"

# ``accounts`` as the version-4 and version-5 schemas created it.
EARLY_ACCOUNTS = """
CREATE TABLE accounts (
    id                       TEXT PRIMARY KEY,
    name                     TEXT NOT NULL,
    created_at               TEXT NOT NULL,
    subscription_expires_at  TEXT,
    paused                   INTEGER NOT NULL DEFAULT 0,
    send_per_minute          INTEGER,
    max_queued               INTEGER
)"""


def columns(path: Path, table: str) -> dict[str, sqlite3.Row]:
    """``table``'s columns by name, each with its ``PRAGMA table_info`` row."""
    with closing(sqlite3.connect(path)) as db:
        db.row_factory = sqlite3.Row
        return {row["name"]: row for row in db.execute(f"PRAGMA table_info({table})")}


def tables(path: Path) -> set[str]:
    with closing(sqlite3.connect(path)) as db:
        return {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def user_version(path: Path) -> int:
    """The schema version the database file records."""
    with closing(sqlite3.connect(path)) as db:
        return int(db.execute("PRAGMA user_version").fetchone()[0])


async def open_once(path: Path) -> None:
    """Open the database with the hub's store (migrating it) and close it again."""
    store = SqliteStore(path)
    await store.open()
    await store.close()
