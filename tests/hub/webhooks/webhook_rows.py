"""Webhook rows written straight into a fresh PostgreSQL database, for the tests
that read deliveries the way the sender and its claims do."""

from __future__ import annotations

import itertools

import psycopg

from hub.store.postgres import migrate_database
from tests.pg_cluster import PgCluster

STAMP = "2026-01-01T00:00:00.000Z"
_names = itertools.count()


def endpoint_database(postgres: PgCluster, events: str) -> str:
    """A migrated database with account ``acc_1`` and its endpoint ``wh_1``
    subscribed to ``events`` (space-separated); its URL."""
    url = postgres.create_database(f"webhooks_{next(_names)}")
    migrate_database(url)
    with psycopg.connect(url, autocommit=True) as db:
        db.execute("INSERT INTO accounts (id, name, created_at) VALUES ('acc_1', 'a', %s)", [STAMP])
        db.execute(
            "INSERT INTO webhook_endpoints (id, account_id, url, events, secret_sealed,"
            " created_at, updated_at) VALUES ('wh_1', 'acc_1', 'https://127.0.0.1/h',"
            " %s, 'x', %s, %s)",
            [events, STAMP, STAMP],
        )
    return url


def add_delivery(
    db: psycopg.Connection[tuple[object, ...]], delivery_id: str, seq: int, type_: str
) -> None:
    """A pending delivery of ``wh_1`` for event ``evt_<seq>`` of ``type_``."""
    db.execute(
        "INSERT INTO webhook_deliveries (id, account_id, endpoint_id, event_id, event_seq,"
        " event_type, status, created_at, updated_at)"
        " VALUES (%s, 'acc_1', 'wh_1', %s, %s, %s, 'pending', %s, %s)",
        [delivery_id, f"evt_{seq}", seq, type_, STAMP, STAMP],
    )
