"""PostgresStore against a real private PostgreSQL: the same promises as the SQLite store.

Group commit with a SAVEPOINT per op (a failing op fails alone), futures
resolved only after COMMIT, reads that see what was committed, storage faults
as ``StorageUnavailable``, and recovery once the server is back without a new
store.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator
from typing import Any

import psycopg
import pytest

from hub.store.interface import Conflict, StorageUnavailable, Tx
from hub.store.postgres import PostgresStore, migrate_database
from hub.store.postgres_migrate import CURRENT
from hub.store.postgres_sql import to_psycopg
from hub.store.postgres_writer import OpWentOnAfterConflict, is_storage_fault
from tests.pg_cluster import PgCluster

_names = itertools.count()
NOW = "2026-01-01T00:00:00Z"


@pytest.fixture
async def store(postgres: PgCluster) -> AsyncIterator[PostgresStore]:
    url = postgres.create_database(f"unit_{next(_names)}")
    store = PostgresStore(url, wait_ms=1000)
    await store.open()
    yield store
    await store.close()


def insert_account(account_id: str) -> Any:
    def op(tx: Tx) -> int:
        sql = "INSERT INTO accounts (id, name, created_at) VALUES (?, ?, ?)"
        return tx.execute(sql, (account_id, account_id, NOW)).rowcount

    return op


def test_placeholders_outside_literals_become_psycopg_ones() -> None:
    sql = "SELECT '?', \"a?\", x FROM t WHERE a = ? AND b LIKE '%x' -- ? %\n AND c = ?"
    assert to_psycopg(sql) == (
        "SELECT '?', \"a?\", x FROM t WHERE a = %s AND b LIKE '%%x' -- ? %%\n AND c = %s"
    )
    assert to_psycopg("SELECT 'it''s ?' WHERE x = ?") == "SELECT 'it''s ?' WHERE x = %s"


async def test_a_failing_op_fails_alone_and_its_batch_mates_commit(store: PostgresStore) -> None:
    await store.write(insert_account("acc_taken"))
    first = store.submit(insert_account("acc_a"))
    clash = store.submit(insert_account("acc_taken"))
    last = store.submit(insert_account("acc_b"))
    outcomes = await asyncio.gather(first, clash, last, return_exceptions=True)
    assert outcomes[0] == 1 and outcomes[2] == 1
    assert isinstance(outcomes[1], Conflict)
    rows = await store.fetchall("SELECT id FROM accounts ORDER BY id")
    assert [r["id"] for r in rows] == ["acc_a", "acc_b", "acc_taken"]
    assert store.writer.batches == 2  # the three shared one transaction


async def test_an_op_that_goes_on_after_a_conflict_fails_alone_not_the_batch(
    store: PostgresStore,
) -> None:
    await store.write(insert_account("acc_taken"))

    def swallow_conflict(tx: Tx) -> None:
        with contextlib.suppress(Conflict):
            insert_account("acc_taken")(tx)
        insert_account("acc_after")(tx)  # refused: the transaction is aborted here

    first = store.submit(insert_account("acc_a"))
    buggy = store.submit(swallow_conflict)
    last = store.submit(insert_account("acc_b"))
    outcomes = await asyncio.gather(first, buggy, last, return_exceptions=True)

    assert outcomes[0] == 1 and outcomes[2] == 1
    assert isinstance(outcomes[1], OpWentOnAfterConflict), outcomes[1]
    assert "let Conflict end the op" in str(outcomes[1])
    rows = await store.fetchall("SELECT id FROM accounts ORDER BY id")
    assert [r["id"] for r in rows] == ["acc_a", "acc_b", "acc_taken"]
    await store.write(insert_account("acc_c"))  # the next batch has no trace of it


async def test_a_write_resolves_only_after_its_commit(
    store: PostgresStore, postgres: PgCluster
) -> None:
    seen: list[object] = []

    def look(_: asyncio.Future[Any]) -> None:
        # Another session sees only committed rows: the row is there when the future is done.
        with psycopg.connect(store.url) as other:
            seen.append(other.execute("SELECT id FROM accounts").fetchone())

    fut = store.submit(insert_account("acc_c"))
    fut.add_done_callback(look)
    await fut
    await asyncio.sleep(0)  # done callbacks run on the next turn of the loop
    assert seen == [("acc_c",)]


async def test_a_read_after_a_write_sees_it_by_name_and_position(store: PostgresStore) -> None:
    await store.write(insert_account("acc_d"))
    paused = await store.execute("UPDATE accounts SET paused = ? WHERE id = ?", (True, "acc_d"))
    row = await store.fetchone("SELECT id, paused, SUM(paused) AS total FROM accounts GROUP BY id")
    assert paused == 1
    assert row is not None
    assert (row["id"], row[0], row["paused"], row["total"]) == ("acc_d", "acc_d", 1, 1)
    assert type(row["total"]) is int  # SUM gives numeric; the hub reads an int, as on SQLite
    assert row.keys() == ["id", "paused", "total"]


async def test_the_fan_out_trigger_makes_one_delivery_per_subscribed_endpoint(
    store: PostgresStore,
) -> None:
    await store.write(insert_account("acc_e"))

    def endpoints(tx: Tx) -> None:
        sql = (
            "INSERT INTO webhook_endpoints (id, account_id, url, events, secret_sealed,"
            " created_at, updated_at) VALUES (?, 'acc_e', 'https://x.test', ?, ?, ?, ?)"
        )
        tx.execute(sql, ("whe_1", "sms.sent sms.delivered", b"\x00", NOW, NOW))
        tx.execute(sql, ("whe_2", "sms.failed", b"\x00", NOW, NOW))
        tx.execute(
            "INSERT INTO events (id, account_id, type, created_at, body) VALUES (?, ?, ?, ?, ?)",
            ("evt_1", "acc_e", "sms.delivered", NOW, b"{}"),
        )

    await store.write(endpoints)
    rows = await store.fetchall("SELECT id, endpoint_id, event_seq FROM webhook_deliveries")
    assert [(r["endpoint_id"], r["event_seq"]) for r in rows] == [("whe_1", 1)]
    assert rows[0]["id"].startswith("dlv_") and len(rows[0]["id"]) == 30


async def test_a_lost_connection_is_storage_unavailable_then_the_next_write_reconnects(
    store: PostgresStore, postgres: PgCluster
) -> None:
    await store.barrier()  # the writer's connection is open
    with psycopg.connect(postgres.url(), autocommit=True) as admin:
        ended = admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = %s",
            (store.url.rsplit("/", 1)[1],),
        ).fetchone()
    assert ended is not None and ended[0] >= 2  # the writer's and a reader's
    with pytest.raises(StorageUnavailable) as lost:
        await store.write(insert_account("acc_lost"))
    assert lost.value.cause == "unavailable"
    assert await store.write(insert_account("acc_f")) == 1
    assert await store.fetchone("SELECT id FROM accounts WHERE id = 'acc_lost'") is None


async def test_a_stopped_server_gives_storage_unavailable_and_the_store_recovers(
    store: PostgresStore, postgres: PgCluster
) -> None:
    await store.write(insert_account("acc_g"))
    postgres.stop()
    try:
        with pytest.raises(StorageUnavailable):
            await store.write(insert_account("acc_h"))
        with pytest.raises(StorageUnavailable):
            await store.probe()
        with pytest.raises(StorageUnavailable):
            await store.fetchall("SELECT id FROM accounts")
    finally:
        postgres.start()
    await store.probe()  # the writer reconnects at once
    assert await store.write(insert_account("acc_h")) == 1
    await store.readers_back(timeout_s=10)  # the read pool, after its own backoff
    rows = await store.fetchall("SELECT id FROM accounts ORDER BY id")
    assert [r["id"] for r in rows] == ["acc_g", "acc_h"]


async def test_migrating_again_or_from_many_hubs_at_once_changes_nothing(
    postgres: PgCluster,
) -> None:
    url = postgres.create_database(f"unit_{next(_names)}")
    versions = await asyncio.gather(*(asyncio.to_thread(migrate_database, url) for _ in range(3)))
    assert sorted(versions) == [0, CURRENT, CURRENT]  # one created, the others found it done


async def test_a_database_newer_than_the_hub_is_refused(postgres: PgCluster) -> None:
    url = postgres.create_database(f"unit_{next(_names)}")
    migrate_database(url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("UPDATE schema_version SET version = %s", (CURRENT + 1,))
    with pytest.raises(RuntimeError, match="newer than this hub's"):
        migrate_database(url)


def test_both_backends_end_at_the_same_schema_version() -> None:
    # A SQLite migration that changes a table needs its PostgreSQL step under the same number.
    from hub.store import migrations

    assert CURRENT == migrations.CURRENT


async def test_a_read_only_server_is_storage_unavailable_until_it_is_writable_again(
    store: PostgresStore, postgres: PgCluster
) -> None:
    database = store.url.rsplit("/", 1)[1]

    def read_only(on: bool) -> None:
        with psycopg.connect(postgres.url(), autocommit=True) as admin:
            value = "on" if on else "off"
            admin.execute(
                f'ALTER DATABASE "{database}" SET default_transaction_read_only = {value}'
            )
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (database,),
            )

    await store.barrier()
    read_only(True)
    with pytest.raises(StorageUnavailable):  # the cut connection
        await store.write(insert_account("acc_ro"))
    with pytest.raises(StorageUnavailable) as refused:  # reconnected, and read-only
        await store.write(insert_account("acc_ro"))
    assert refused.value.cause == "unavailable"
    read_only(False)  # the refused write dropped its connection: the next one is new
    assert await store.write(insert_account("acc_ro")) == 1


def test_only_a_read_only_server_in_class_25_is_a_storage_fault() -> None:
    assert is_storage_fault(psycopg.errors.ReadOnlySqlTransaction())
    # An op that went on in an aborted transaction: its own bug, not the server's.
    assert not is_storage_fault(psycopg.errors.InFailedSqlTransaction())
