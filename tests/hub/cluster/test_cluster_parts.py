"""The cluster's parts on a real PostgreSQL: the lease, leaving, the claim, LISTEN."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import psycopg
import pytest

from hub.clock import ManualClock
from hub.cluster.node import NodeLease, channel_of
from hub.cluster.sessions import took_session
from hub.config import ClusterConfig
from hub.messaging.message import insert_statements, new_message
from hub.messaging.shared_queue import CLAIM
from hub.messaging.writes import run_statements
from hub.store.interface import Tx
from hub.store.open_store import notify_listener
from hub.store.postgres import PostgresStore
from tests.hub.cluster.cluster_store import store_with_account
from tests.pg_cluster import PgCluster

ACCOUNT = "acc_cluster"


@pytest.fixture
async def store(postgres: PgCluster) -> AsyncIterator[PostgresStore]:
    async with store_with_account(postgres, ACCOUNT) as store:
        yield store


async def queue(store: PostgresStore, count: int, owner: str | None = None) -> list[str]:
    """``count`` queued messages of the account, owned by ``owner`` (None: shared)."""
    now = datetime.now(UTC)
    messages = [
        new_message(ACCOUNT, "+998901234567", f"m{n}", now=now, ttl_s=600) for n in range(count)
    ]
    statements = [s for m in messages for s in insert_statements(m)]
    ids = [m.id for m in messages]
    statements.append(("UPDATE messages SET owner_node = ? WHERE id = ANY(?)", (owner, ids)))
    await store.write(run_statements(statements))
    return ids


def lease(store: PostgresStore, node: str = "node_a") -> NodeLease:
    return NodeLease(store, ManualClock(), ClusterConfig(lease_s=10, renew_every_s=2), node)


async def test_a_lease_runs_on_the_database_clock_and_a_renewal_moves_it_on(
    store: PostgresStore,
) -> None:
    node = lease(store)
    await node.take()
    row = await store.fetchone(
        "SELECT extract(epoch FROM lease_until - now()) AS left_s FROM hub_nodes WHERE id = ?",
        ("node_a",),
    )
    assert row is not None and 9 < row["left_s"] <= 10
    before = await store.fetchone("SELECT lease_until FROM hub_nodes")
    assert await node.renew()
    after = await store.fetchone("SELECT lease_until FROM hub_nodes")
    assert before is not None and after is not None and after[0] > before[0]


async def test_leaving_hands_queued_messages_back_and_wakes_the_nodes_holding_the_account(
    store: PostgresStore,
) -> None:
    a, b = lease(store, "node_a"), lease(store, "node_b")
    await a.take()
    await b.take()
    await store.write(took_session("node_a", ACCOUNT, "dev_on_a"))
    await store.write(took_session("node_b", ACCOUNT, "dev_on_b"))
    owned = await queue(store, 3, owner="node_a")
    async with await psycopg.AsyncConnection.connect(store.url, autocommit=True) as conn:
        await conn.execute(f"LISTEN {channel_of('node_b')}")
        await a.give_up()
        heard = await anext(conn.notifies(timeout=5))

    assert heard.payload == ACCOUNT
    rows = await store.fetchall("SELECT owner_node FROM messages WHERE id = ANY(?)", (owned,))
    assert [r[0] for r in rows] == [None] * 3
    nodes = await store.fetchall("SELECT id FROM hub_nodes")
    assert [n[0] for n in nodes] == ["node_b"]
    sessions = await store.fetchall("SELECT node_id FROM relay_sessions")
    assert [s[0] for s in sessions] == ["node_b"]


async def test_a_hello_on_another_node_takes_the_session_with_the_next_epoch(
    store: PostgresStore,
) -> None:
    assert await store.write(took_session("node_a", ACCOUNT, "dev_1")) == 1
    assert await store.write(took_session("node_b", ACCOUNT, "dev_1")) == 2
    row = await store.fetchone(
        "SELECT node_id, epoch FROM relay_sessions WHERE device_id = ?", ("dev_1",)
    )
    assert row is not None and (row["node_id"], row["epoch"]) == ("node_b", 2)


async def test_two_claimers_at_once_take_different_messages_and_neither_waits(
    store: PostgresStore,
) -> None:
    shared = await queue(store, 10)
    with (
        psycopg.connect(store.url) as first,  # each in an open transaction
        psycopg.connect(store.url) as second,
    ):
        sql = CLAIM.replace("?", "%s")
        second.execute("SET lock_timeout = '1s'")  # would fail, not wait, if it blocked
        took_1 = [r[0] for r in first.execute(sql, (ACCOUNT, [], 4, "node_a")).fetchall()]
        took_2 = [r[0] for r in second.execute(sql, (ACCOUNT, [], 4, "node_b")).fetchall()]
        first.commit()
        second.commit()

    assert len(took_1) == len(took_2) == 4 and not set(took_1) & set(took_2)
    assert set(took_1) | set(took_2) <= set(shared)
    owners = await store.fetchall(
        "SELECT owner_node, count(*) FROM messages GROUP BY owner_node ORDER BY owner_node"
    )
    assert [tuple(r) for r in owners] == [("node_a", 4), ("node_b", 4), (None, 2)]


async def test_a_claim_takes_nothing_a_node_already_owns_or_that_left_the_queue(
    store: PostgresStore,
) -> None:
    await queue(store, 2, owner="node_a")
    sent = await queue(store, 1)
    await store.execute("UPDATE messages SET state = 'sent' WHERE id = ?", (sent[0],))

    def claim(tx: Tx) -> list[object]:
        return tx.execute(CLAIM, (ACCOUNT, [], 10, "node_b")).fetchall()

    assert await store.write(claim) == []


async def test_the_listener_hears_its_channel_and_listens_again_after_losing_its_connection(
    store: PostgresStore,
) -> None:
    heard: asyncio.Queue[str] = asyncio.Queue()
    listening = asyncio.Queue[None]()
    listener = notify_listener(
        store.url, "rh_node_t", heard.put_nowait, lambda: listening.put_nowait(None)
    )
    await listener.start()
    try:
        await listening.get()
        await store.execute("SELECT pg_notify('rh_node_t', 'acc_1')")
        assert await asyncio.wait_for(heard.get(), 5) == "acc_1"
        await store.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE query LIKE 'LISTEN%' AND pid <> pg_backend_pid()"
        )
        await asyncio.wait_for(listening.get(), 10)  # it reconnected and said so
        await store.execute("SELECT pg_notify('rh_node_t', 'acc_2')")
        assert await asyncio.wait_for(heard.get(), 5) == "acc_2"
    finally:
        await listener.close()
