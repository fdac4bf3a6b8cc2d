"""The event stream on several nodes: commit-ordered, resumable on any node.

The first test is the hazard itself on a bare PostgreSQL: two transactions
whose event seqs commit out of order. The others run real node processes on
one private PostgreSQL with relay_sim relays: a stream on node A hears events
node B commits, and a client that leaves A and resumes on B with
``Last-Event-ID`` sees every event once.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from collections.abc import AsyncIterator

import psycopg
import pytest

from hub.events.feed import EventFeed
from hub.events.order import Position
from hub.store.postgres import PostgresStore
from tests.cluster.conftest import Cluster
from tests.cluster.event_stream import stream_on
from tests.e2e.sse import Message
from tests.pg_cluster import PgCluster

_names = itertools.count()
ACCOUNT = "acc_order"
TYPES = "message.sent"


@pytest.fixture
async def store(postgres: PgCluster) -> AsyncIterator[PostgresStore]:
    store = PostgresStore(postgres.create_database(f"sse_order_{next(_names)}"), wait_ms=1000)
    await store.open()
    yield store
    await store.close()


def begin_event(conn: psycopg.Connection[tuple[object, ...]], name: str) -> int:
    """Insert an event in the connection's open transaction; its seq."""
    row = conn.execute(
        "INSERT INTO events (id, account_id, type, created_at, body)"
        " VALUES (%s, %s, 'message.sent', '2026-01-01T00:00:00.000Z', %s) RETURNING seq",
        (name, ACCOUNT, b"{}"),
    ).fetchone()
    assert row is not None
    return int(row[0])


async def read_all(feed: EventFeed, cursor: Position) -> tuple[list[str], Position]:
    page = await feed.read(ACCOUNT, cursor)
    return [row["id"] for row in page.rows], page.cursor


async def test_the_feed_skips_no_event_whose_seq_commits_after_a_higher_one(
    store: PostgresStore,
) -> None:
    feed = EventFeed(store, postgres=True)
    url = store.url
    with psycopg.connect(url) as first, psycopg.connect(url) as second:
        cursor = await feed.start()
        # The second transaction takes its id first but its seq last: neither
        # transaction order nor seq order alone matches commit order.
        second.execute("SELECT pg_current_xact_id()")
        low = begin_event(first, "evt_low_seq")
        high = begin_event(second, "evt_high_seq")
        assert low < high
        second.commit()  # seq `high` is committed while `low` is still running

        # What a reader by seq alone would do: it sees `high` and moves past `low`.
        naive = await store.fetchall(
            "SELECT seq FROM events WHERE account_id = ? AND seq > 0 ORDER BY seq", (ACCOUNT,)
        )
        assert [row["seq"] for row in naive] == [high]

        seen_before, cursor = await read_all(feed, cursor)
        first.commit()
        seen_after, cursor = await read_all(feed, cursor)

    assert sorted(seen_before + seen_after) == ["evt_high_seq", "evt_low_seq"]
    assert (await feed.read(ACCOUNT, cursor)).rows == []  # and nothing twice


async def test_the_feed_holds_back_an_event_committed_behind_a_running_transaction(
    store: PostgresStore,
) -> None:
    feed = EventFeed(store, postgres=True)
    with psycopg.connect(store.url) as first, psycopg.connect(store.url) as second:
        cursor = await feed.start()
        begin_event(first, "evt_first")
        begin_event(second, "evt_second")
        second.commit()

        held = await feed.read(ACCOUNT, cursor)
        first.commit()
        released = await feed.read(ACCOUNT, held.cursor)

    assert (held.rows, held.held) == ([], True)
    assert [row["id"] for row in released.rows] == ["evt_first", "evt_second"]
    assert not released.held


# --- real nodes ---------------------------------------------------------------


def request_of(message: Message) -> str:
    request_id: str = message.body["data"]["request_id"]
    return request_id


async def test_a_stream_on_node_a_hears_an_event_node_b_commits_before_its_keepalive(
    cluster: Cluster,
) -> None:
    a = await cluster.start_node()
    device = await cluster.pair(a, "phone-on-b")
    b = await cluster.start_node()
    await cluster.relay_on(b, device)

    async with stream_on(cluster, a, TYPES) as stream:
        sent = await cluster.send(b)
        # The keepalive is 15 s: only the cluster's tail can wake A's stream sooner.
        async with asyncio.timeout(5):
            message = await stream.next()

    assert (message.event, request_of(message)) == ("message.sent", sent)
    written_by = cluster.query("SELECT owner_node FROM messages WHERE id = %s", sent)
    assert written_by == [(cluster.node_id(b),)]  # the event was B's write, not A's


async def test_a_stream_resumed_on_another_node_with_last_event_id_has_no_gap_and_no_repeat(
    cluster: Cluster,
) -> None:
    a = await cluster.start_node()
    phone_a = await cluster.pair(a, "phone-a")
    phone_b = await cluster.pair(a, "phone-b")
    b = await cluster.start_node()
    await cluster.relay_on(a, phone_a)
    await cluster.relay_on(b, phone_b)
    heard: list[Message] = []

    async with stream_on(cluster, a, TYPES) as stream:
        first = await asyncio.gather(*(cluster.send(a if n % 2 else b, f"m{n}") for n in range(20)))
        async with asyncio.timeout(20):
            heard += await stream.take(10)
    # Away from A: sends go on through both nodes while nobody listens.
    later = await asyncio.gather(*(cluster.send(b if n % 2 else a, f"l{n}") for n in range(20)))
    resume_at = heard[-1].id
    async with stream_on(cluster, b, TYPES, last_event_id=resume_at) as stream:
        async with asyncio.timeout(20):
            heard += await stream.take(30)

    requests = [request_of(m) for m in heard]
    assert Counter(requests) == Counter([*first, *later])  # each once: no gap, no repeat
    assert len({m.id for m in heard}) == 40
    by_node = cluster.query(
        "SELECT owner_node, count(*) FROM messages GROUP BY owner_node ORDER BY 2"
    )
    assert len(by_node) == 2  # both nodes' relays (and so both nodes) wrote events
