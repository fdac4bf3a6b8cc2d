"""Webhook claims on a real PostgreSQL: finding an attempt busy locks nothing.

A claim that locked a delivery another node holds (only to find it busy) kept
that row lock until its whole group commit ended; the holding node's outcome
write for the delivery then waited on it, and with the two batches waiting on
each other's rows PostgreSQL broke a deadlock by failing one: outcomes went
unrecorded and the claim ran out, so the attempt was made twice.
"""

from __future__ import annotations

import itertools

import psycopg
import pytest

from hub.store.postgres import connect, migrate_database
from hub.store.postgres_writer import PgTx
from hub.webhooks.claims import Busy, Claimed, claim
from tests.pg_cluster import PgCluster

_names = itertools.count()
STAMP = "2026-01-01T00:00:00.000Z"


@pytest.fixture
def database(postgres: PgCluster) -> str:
    url = postgres.create_database(f"claims_{next(_names)}")
    migrate_database(url)
    with psycopg.connect(url, autocommit=True) as db:
        db.execute("INSERT INTO accounts (id, name, created_at) VALUES ('acc_1', 'a', %s)", [STAMP])
        db.execute(
            "INSERT INTO webhook_endpoints (id, account_id, url, events, secret_sealed,"
            " created_at, updated_at) VALUES ('wh_1', 'acc_1', 'https://127.0.0.1/h',"
            " 'message.sent', 'x', %s, %s)",
            [STAMP, STAMP],
        )
        db.execute(
            "INSERT INTO webhook_deliveries (id, account_id, endpoint_id, event_id, event_seq,"
            " event_type, status, created_at, updated_at) VALUES ('dlv_1', 'acc_1', 'wh_1',"
            " 'evt_1', 1, 'message.sent', 'pending', %s, %s)",
            [STAMP, STAMP],
        )
    return url


def test_a_claim_that_finds_the_attempt_busy_leaves_the_row_unlocked(database: str) -> None:
    node_a, node_b = connect(database, 1000), connect(database, 1000)
    try:
        with node_a.transaction(), node_a.pipeline() as pipeline:
            assert claim("node_a", "dlv_1", 0, 30, STAMP)(PgTx(node_a, pipeline)) == Claimed(0)

        with node_b.transaction(), node_b.pipeline() as pipeline:  # B's batch stays open
            assert claim("node_b", "dlv_1", 0, 30, STAMP)(PgTx(node_b, pipeline)) == Busy()
            # A records its outcome meanwhile: it must not wait for B's batch.
            node_a.execute("SET lock_timeout = '200ms'")
            done = node_a.execute(
                "UPDATE webhook_deliveries SET status = 'succeeded', locked_by = NULL"
                " WHERE id = 'dlv_1' AND locked_by = 'node_a'"
            )
            assert done.rowcount == 1
    finally:
        node_a.close()
        node_b.close()
