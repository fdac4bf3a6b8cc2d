"""What a hub stored, read straight from its database, whichever backend the tests' hubs run on.

For tests that look past the API after a hub has stopped (or was killed): the
SQLite file in the hub's data folder, or, with RELAYHUB_TEST_BACKEND=postgres,
the database ``tests.pg_cluster.database_for`` gave that data folder.
"""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path
from typing import Any

import psycopg

from hub.store.open_store import DB_FILE
from tests.pg_cluster import database_for, postgres_backend


def stored_rows(data_dir: Path, sql: str) -> list[tuple[Any, ...]]:
    """Every row ``sql`` (no parameters, portable SQL) reads from the hub's database."""
    if postgres_backend():
        with psycopg.connect(database_for(data_dir), autocommit=True) as conn:
            return list(conn.execute(sql.encode()).fetchall())
    with contextlib.closing(sqlite3.connect(data_dir / DB_FILE)) as db:
        return list(db.execute(sql).fetchall())


# amcheck's checks: every heap (table) page and every B-tree index, with the
# heap's rows matched against each index (heapallindexed). Each finding is a row.
_PG_CHECKS = (
    "CREATE EXTENSION IF NOT EXISTS amcheck",
    """SELECT c.relname || ': ' || v.msg FROM pg_class c
       JOIN pg_namespace n ON n.oid = c.relnamespace,
       LATERAL verify_heapam(c.oid) v
       WHERE n.nspname = 'public' AND c.relkind = 'r'""",
    """SELECT bt_index_check(c.oid, true)::text FROM pg_class c
       JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_am a ON a.oid = c.relam
       WHERE n.nspname = 'public' AND c.relkind = 'i' AND a.amname = 'btree'""",
)


def integrity(data_dir: Path) -> list[str]:
    """``["ok"]`` when the hub's database is sound, else what is wrong with it.

    SQLite's ``integrity_check``; on PostgreSQL the amcheck extension's heap and
    B-tree checks (a broken page raises, a bad row is a finding).
    """
    if not postgres_backend():
        with contextlib.closing(sqlite3.connect(data_dir / DB_FILE)) as db:
            return [row[0] for row in db.execute("PRAGMA integrity_check")]
    findings: list[str] = []
    with psycopg.connect(database_for(data_dir), autocommit=True) as conn:
        conn.execute(_PG_CHECKS[0])
        findings += [row[0] for row in conn.execute(_PG_CHECKS[1])]
        conn.execute(_PG_CHECKS[2]).fetchall()  # void per index; raises on corruption
    return findings or ["ok"]
