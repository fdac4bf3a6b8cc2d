"""Webhook claims on a real PostgreSQL: finding an attempt busy locks nothing.

A claim that locked a delivery another node holds (only to find it busy) kept
that row lock until its whole group commit ended; the holding node's outcome
write for the delivery then waited on it, and with the two batches waiting on
each other's rows PostgreSQL broke a deadlock by failing one: outcomes went
unrecorded and the claim ran out, so the attempt was made twice.
"""

from __future__ import annotations

import psycopg
import pytest

from hub.store.postgres import connect
from hub.store.postgres_writer import PgTx
from hub.webhooks.claims import Busy, Claimed, claim
from tests.hub.webhooks.webhook_rows import STAMP, add_delivery, endpoint_database
from tests.pg_cluster import PgCluster


@pytest.fixture
def database(postgres: PgCluster) -> str:
    url = endpoint_database(postgres, "message.sent")
    with psycopg.connect(url, autocommit=True) as db:
        add_delivery(db, "dlv_1", 1, "message.sent")
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
