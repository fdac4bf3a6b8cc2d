"""The session write's control side on a real PostgreSQL: a hello on another
node tells the older socket's node to close it (at commit, with the new epoch),
a revoked device gets no session, and a revoke tells the socket's node."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from hub.cluster.control import CloseRelay, Why, decode
from hub.cluster.node import channel_of
from hub.cluster.sessions import tell_holder, took_session
from hub.messaging.writes import run_statements
from hub.store.interface import Tx
from hub.store.open_store import notify_listener
from hub.store.postgres import PostgresStore
from tests.hub.cluster.cluster_store import store_with_account
from tests.pg_cluster import PgCluster

ACCOUNT = "acc_control"


@pytest.fixture
async def store(postgres: PgCluster) -> AsyncIterator[PostgresStore]:
    async with store_with_account(postgres, ACCOUNT) as store:

        def rows(tx: Tx) -> None:
            for device in ("dev_1", "dev_gone"):
                tx.execute(
                    "INSERT INTO devices (id, account_id, name, token_hash, created_at)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (device, ACCOUNT, device, device.encode(), "2026-01-01T00:00:00Z"),
                )
            tx.execute("UPDATE devices SET revoked_at = created_at WHERE id = 'dev_gone'")
            for node in ("node_b", "node_c"):
                tx.execute(
                    "INSERT INTO hub_nodes (id, lease_until)"
                    " VALUES (?, now() + interval '1 minute')",
                    (node,),
                )

        await store.write(rows)
        yield store


@pytest.fixture
async def heard_by_b(store: PostgresStore) -> AsyncIterator[asyncio.Queue[str]]:
    """What node_b's channel hears."""
    heard: asyncio.Queue[str] = asyncio.Queue()
    listener = notify_listener(store.url, channel_of("node_b"), heard.put_nowait, lambda: None)
    await listener.start()
    yield heard
    await listener.close()


async def test_a_hello_on_node_c_tells_node_b_to_close_with_the_new_epoch(
    store: PostgresStore, heard_by_b: asyncio.Queue[str]
) -> None:
    assert await store.write(took_session("node_b", ACCOUNT, "dev_1")) == 1
    assert await store.write(took_session("node_c", ACCOUNT, "dev_1")) == 2

    told = decode(await asyncio.wait_for(heard_by_b.get(), 5))
    assert told == CloseRelay("dev_1", 2, Why.REPLACED, "node_c")


async def test_a_hello_again_on_the_same_node_tells_no_node(
    store: PostgresStore, heard_by_b: asyncio.Queue[str]
) -> None:
    assert await store.write(took_session("node_b", ACCOUNT, "dev_1")) == 1
    assert await store.write(took_session("node_b", ACCOUNT, "dev_1")) == 2
    await store.execute("SELECT pg_notify(?, 'acc_marker')", (channel_of("node_b"),))

    assert await asyncio.wait_for(heard_by_b.get(), 5) == "acc_marker"  # nothing before it


async def test_a_revoked_device_gets_no_session(store: PostgresStore) -> None:
    assert await store.write(took_session("node_b", ACCOUNT, "dev_gone")) == 0
    assert await store.fetchall("SELECT * FROM relay_sessions") == []


async def test_a_revoke_on_node_c_tells_the_node_holding_the_socket(
    store: PostgresStore, heard_by_b: asyncio.Queue[str]
) -> None:
    await store.write(took_session("node_b", ACCOUNT, "dev_1"))
    revoked = CloseRelay("dev_1", 0, Why.REVOKED)

    await store.write(run_statements(tell_holder("node_c", ACCOUNT, "dev_1", revoked)))

    assert decode(await asyncio.wait_for(heard_by_b.get(), 5)) == revoked
