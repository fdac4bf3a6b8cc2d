"""Deliveries made in one PostgreSQL transaction are read in the order of their
events: delivery ids are random within a millisecond, so a message's
``message.delivered`` could otherwise be read (and sent) before its
``message.sent`` written in the same group commit."""

from __future__ import annotations

import itertools

import psycopg

from hub.events.order import deliveries_after, order_for
from hub.store.postgres import migrate_database
from hub.store.postgres_sql import to_psycopg
from tests.pg_cluster import PgCluster

_names = itertools.count()
STAMP = "2026-01-01T00:00:00.000Z"


def test_deliveries_of_one_transaction_come_in_their_events_order(postgres: PgCluster) -> None:
    url = postgres.create_database(f"order_{next(_names)}")
    migrate_database(url)
    with psycopg.connect(url, autocommit=True) as db:
        db.execute("INSERT INTO accounts (id, name, created_at) VALUES ('acc_1', 'a', %s)", [STAMP])
        db.execute(
            "INSERT INTO webhook_endpoints (id, account_id, url, events, secret_sealed,"
            " created_at, updated_at) VALUES ('wh_1', 'acc_1', 'https://127.0.0.1/h',"
            " 'message.sent message.delivered', 'x', %s, %s)",
            [STAMP, STAMP],
        )
        with db.transaction():  # one group commit: sent (seq 7), then delivered (seq 8)
            for delivery_id, seq, type_ in [("dlv_z", 7, "sent"), ("dlv_a", 8, "delivered")]:
                db.execute(
                    "INSERT INTO webhook_deliveries (id, account_id, endpoint_id, event_id,"
                    " event_seq, event_type, status, created_at, updated_at)"
                    " VALUES (%s, 'acc_1', 'wh_1', %s, %s, %s, 'pending', %s, %s)",
                    [delivery_id, f"evt_{seq}", seq, f"message.{type_}", STAMP, STAMP],
                )
        sql, params = deliveries_after(order_for(postgres=True), (0, 0, ""), 10)
        rows = db.execute(to_psycopg(sql), params).fetchall()

    assert [row[0] for row in rows] == ["dlv_z", "dlv_a"]  # by seq, not by id
