"""Deliveries made in one PostgreSQL transaction are read in the order of their
events: delivery ids are random within a millisecond, so a message's
``message.delivered`` could otherwise be read (and sent) before its
``message.sent`` written in the same group commit."""

from __future__ import annotations

import psycopg

from hub.events.order import deliveries_after, order_for
from hub.store.postgres_sql import to_psycopg
from tests.hub.webhooks.webhook_rows import add_delivery, endpoint_database
from tests.pg_cluster import PgCluster


def test_deliveries_of_one_transaction_come_in_their_events_order(postgres: PgCluster) -> None:
    url = endpoint_database(postgres, "message.sent message.delivered")
    with psycopg.connect(url, autocommit=True) as db:
        with db.transaction():  # one group commit: sent (seq 7), then delivered (seq 8)
            add_delivery(db, "dlv_z", 7, "message.sent")
            add_delivery(db, "dlv_a", 8, "message.delivered")
        sql, params = deliveries_after(order_for(postgres=True), (0, 0, ""), 10)
        rows = db.execute(to_psycopg(sql), params).fetchall()

    assert [row[0] for row in rows] == ["dlv_z", "dlv_a"]  # by seq, not by id
