"""The two schemas describe the same tables with the same columns.

The feature modules write one SQL for both backends, so a column that exists
in ``schema.sql`` but not in ``postgres_schema.sql`` (or the other way) is a
bug that only one backend's tests would show, late. Only the cluster's own
tables, which a single SQLite hub never needs, may live on PostgreSQL alone;
only SQLite's full-text index (served by ``pg_trgm`` on PostgreSQL) may live
on SQLite alone.
"""

from __future__ import annotations

import itertools
import sqlite3
from pathlib import Path

import psycopg

from hub.store.migrations import migrate
from hub.store.postgres import migrate_database
from hub.store.sqlite import SCHEMA_PATH
from tests.pg_cluster import PgCluster

_names = itertools.count()

# Several nodes share work through these (hub/cluster/); one SQLite hub has no peers.
POSTGRES_ONLY = {"hub_nodes", "relay_sessions", "reaped_nodes", "schema_version"}
# Limits and keys that the nodes of a cluster share (hub/limits/shared.py).
POSTGRES_ONLY |= {"rate_limits", "limit_holds", "guess_failures", "hub_secrets"}
# Columns only a cluster reads: which node holds a message in memory, and which
# reaped node left it behind.
POSTGRES_ONLY_COLUMNS = {
    "messages": {"owner_node", "orphan_of"},
    # Commit order and webhook claims (PostgreSQL's 11; SQLite's one writer needs neither).
    "events": {"xid"},
    "webhook_deliveries": {"made_xid", "locked_by", "locked_until", "locked_at"},
}


def sqlite_tables(path: Path) -> dict[str, set[str]]:
    conn = sqlite3.connect(path)
    try:
        migrate(conn, SCHEMA_PATH.read_text(encoding="utf-8"))
        names = [
            row[0]
            for row in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'"
                " AND name NOT LIKE 'sqlite_%' AND sql NOT LIKE 'CREATE VIRTUAL TABLE%'"
            )
        ]
        # The full-text index's shadow tables are SQLite's own machinery.
        shadow = {n for n in names if n.startswith("recipients_fts_")}
        return {
            name: {row[1] for row in conn.execute(f'PRAGMA table_info("{name}")')}
            for name in names
            if name not in shadow
        }
    finally:
        conn.close()


def postgres_tables(url: str) -> dict[str, set[str]]:
    migrate_database(url)
    tables: dict[str, set[str]] = {}
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE table_schema = 'public'"
        ).fetchall()
    for table, column in rows:
        tables.setdefault(table, set()).add(column)
    return tables


def test_both_backends_have_the_same_tables_and_columns(
    postgres: PgCluster, tmp_path: Path
) -> None:
    on_sqlite = sqlite_tables(tmp_path / "hub.db")
    on_postgres = postgres_tables(postgres.create_database(f"parity_{next(_names)}"))

    assert set(on_sqlite) == set(on_postgres) - POSTGRES_ONLY
    differing = {}
    for table, columns in on_sqlite.items():
        shared = on_postgres[table] - POSTGRES_ONLY_COLUMNS.get(table, set())
        if columns != shared:
            differing[table] = {
                "sqlite only": sorted(columns - shared),
                "postgres only": sorted(shared - columns),
            }
    assert differing == {}
