"""Migration step 14: a cancelled message is now told as ``message.cancelled``
(it was ``message.failed``), so an endpoint that listened to ``message.failed``
gains ``message.cancelled`` and keeps hearing of cancels; the others are left
as their owners chose. On both backends."""

from __future__ import annotations

import itertools
import sqlite3
from contextlib import closing
from pathlib import Path

import psycopg

from hub.store.migrations import CURRENT
from hub.store.postgres import migrate_database
from tests.hub.store.migration_db import STAMP, open_once, user_version
from tests.pg_cluster import PgCluster

_names = itertools.count()
ENDPOINTS = {
    "wh_failed": "message.sent message.failed",
    "wh_both": "message.failed message.cancelled",
    "wh_sent": "message.sent",
}
AFTER = {
    "wh_failed": "message.sent message.failed message.cancelled",
    "wh_both": "message.failed message.cancelled",
    "wh_sent": "message.sent",
}
INSERT = (
    "INSERT INTO webhook_endpoints (id, account_id, url, events, secret_sealed,"
    " created_at, updated_at) VALUES ({0}, 'acc_1', 'https://127.0.0.1/h', {0}, {0}, {0}, {0})"
)


async def test_a_v13_sqlite_database_keeps_telling_cancels_to_message_failed_endpoints(
    tmp_path: Path,
) -> None:
    path = tmp_path / "hub.db"
    await open_once(path)  # a current database, then made to look like version 13
    with closing(sqlite3.connect(path)) as db, db:
        db.execute("INSERT INTO accounts (id, name, created_at) VALUES ('acc_1', 'a', ?)", (STAMP,))
        for endpoint_id, events in ENDPOINTS.items():
            db.execute(INSERT.format("?"), (endpoint_id, events, b"x", STAMP, STAMP))
        db.execute("PRAGMA user_version = 13")

    await open_once(path)

    with closing(sqlite3.connect(path)) as db:
        events = dict(db.execute("SELECT id, events FROM webhook_endpoints").fetchall())
    assert events == AFTER
    assert user_version(path) == CURRENT


def test_a_v13_postgres_database_keeps_telling_cancels_to_message_failed_endpoints(
    postgres: PgCluster,
) -> None:
    url = postgres.create_database(f"v14_{next(_names)}")
    migrate_database(url)
    with psycopg.connect(url, autocommit=True) as db:
        db.execute(
            "INSERT INTO accounts (id, name, created_at) VALUES ('acc_1', 'a', %s)", (STAMP,)
        )
        for endpoint_id, events in ENDPOINTS.items():
            db.execute(INSERT.format("%s"), (endpoint_id, events, b"x", STAMP, STAMP))
        db.execute("UPDATE schema_version SET version = 13")

    assert migrate_database(url) == 13

    with psycopg.connect(url, autocommit=True) as db:
        events = dict(db.execute("SELECT id, events FROM webhook_endpoints").fetchall())
    assert events == AFTER
