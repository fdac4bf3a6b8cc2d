"""The cluster's limits on a real PostgreSQL: two stores stand for two nodes.

Each ``PostgresStore`` has its own writer connection, as each node process
does, so a race between them is a race between two transactions.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator

import pytest
from cryptography.fernet import Fernet

from hub.accounts.directory import AccountDirectory
from hub.clock import ManualClock
from hub.cluster.shared_secrets import WRAP_ENV, load_keys
from hub.config import ConfigError, LimitsConfig
from hub.errors import QueueFull, RateLimited
from hub.limits.shared import SharedBrake, SharedLimits, prune
from hub.secret_box import SecretBox
from hub.store.interface import Tx
from hub.store.postgres import PostgresStore
from tests.pg_cluster import PgCluster

_names = itertools.count()
ACCOUNT = "acc_shared"


@pytest.fixture
async def two_nodes(postgres: PgCluster) -> AsyncIterator[tuple[PostgresStore, PostgresStore]]:
    url = postgres.create_database(f"shared_limits_{next(_names)}")
    a, b = PostgresStore(url, wait_ms=1000), PostgresStore(url, wait_ms=1000)
    await a.open()
    await b.open()

    def account(tx: Tx) -> None:
        tx.execute(
            "INSERT INTO accounts (id, name, created_at) VALUES (?, ?, ?)",
            (ACCOUNT, "shared", "2026-01-01T00:00:00Z"),
        )

    await a.write(account)
    yield a, b
    await a.close()
    await b.close()


async def _outcomes(calls: list[asyncio.Future[object] | object]) -> list[object]:
    return list(await asyncio.gather(*calls, return_exceptions=True))  # type: ignore[arg-type]


async def test_a_burst_split_over_two_nodes_gets_the_rate_of_one(
    two_nodes: tuple[PostgresStore, PostgresStore],
) -> None:
    clock = ManualClock()
    limits = [SharedLimits(store, clock) for store in two_nodes]
    calls = [limits[n % 2].admit_send(ACCOUNT, 10, 1000, 1) for n in range(30)]
    outcomes = await _outcomes(calls)  # type: ignore[arg-type]

    refused = [o for o in outcomes if isinstance(o, RateLimited)]
    assert len(outcomes) - len(refused) == 10  # the bucket of one: 10 a minute, 10 at once
    assert len(refused) == 20
    # The next fits 6 s on (60 s / 10), as a one-node bucket says; whichever node says so.
    assert {r.retry_after_s for r in refused} == {6}


async def test_two_nodes_cannot_both_admit_past_max_queued(
    two_nodes: tuple[PostgresStore, PostgresStore],
) -> None:
    clock = ManualClock()
    limits = [SharedLimits(store, clock) for store in two_nodes]
    calls = [limits[n % 2].admit_send(ACCOUNT, 6000, 5, 1) for n in range(12)]
    outcomes = await _outcomes(calls)  # type: ignore[arg-type]

    assert sum(not isinstance(o, Exception) for o in outcomes) == 5
    assert all(isinstance(o, QueueFull) for o in outcomes if isinstance(o, Exception))
    # A hold released by its send's transaction frees its room for the next.
    admitted = [o for o in outcomes if not isinstance(o, Exception)]
    sql, params = admitted[0].release  # type: ignore[attr-defined]
    await two_nodes[0].write(lambda tx: tx.execute(sql, params))
    await limits[1].admit_send(ACCOUNT, 6000, 5, 1)
    with pytest.raises(QueueFull):
        await limits[0].admit_send(ACCOUNT, 6000, 5, 1)


async def test_a_guessing_brake_counts_the_failures_of_both_nodes(
    two_nodes: tuple[PostgresStore, PostgresStore],
) -> None:
    brakes = [SharedBrake(store, "pairing", 4, 600) for store in two_nodes]
    waits = await asyncio.gather(*(brakes[n % 2].charge("127.0.0.1") for n in range(10)))

    assert sorted(waits)[:4] == [0, 0, 0, 0]
    assert all(w > 0 for w in sorted(waits)[4:])
    assert await brakes[0].charge("::1") == 0  # another client has its own count
    brakes[1].refund("127.0.0.1")  # a right guess gives its charge back
    await two_nodes[1].barrier()
    assert await brakes[0].charge("127.0.0.1") == 0


async def test_nodes_share_one_key_made_once_and_sealed_with_the_secret_key(
    two_nodes: tuple[PostgresStore, PostgresStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(WRAP_ENV, Fernet.generate_key().decode())
    boxes = [SecretBox(None), SecretBox(None)]
    await asyncio.gather(
        *(load_keys(store, {"otp.key": box}) for store, box in zip(two_nodes, boxes, strict=True))
    )

    assert boxes[1].open(boxes[0].seal("a webhook secret")) == "a webhook secret"
    rows = await two_nodes[0].fetchall("SELECT value, sealed FROM hub_secrets")
    assert len(rows) == 1 and rows[0]["sealed"]
    monkeypatch.setenv(WRAP_ENV, Fernet.generate_key().decode())  # another node's, wrongly
    with pytest.raises(ConfigError, match="give every node the same one"):
        await load_keys(two_nodes[1], {"otp.key": SecretBox(None)})


async def test_a_list_being_queued_on_one_node_counts_against_sends_on_the_other(
    two_nodes: tuple[PostgresStore, PostgresStore],
) -> None:
    clock = ManualClock()
    limits = LimitsConfig(max_queued=5)
    a, b = (AccountDirectory(s, clock, limits, SharedLimits(s, clock)) for s in two_nodes)
    await a.load()
    await b.load()

    async with a.admitting_everywhere(ACCOUNT, 0, 4):  # a list of 4, chunks still being written
        assert await b.admit_send(ACCOUNT, 0) is not None  # the 5th fits
        with pytest.raises(QueueFull) as refused:
            await b.admit_send(ACCOUNT, 0)
        assert (refused.value.queued, refused.value.limit) == (5, 5)
    await two_nodes[0].barrier()  # the list's hold is given back once it is all written

    rows = await two_nodes[0].fetchall("SELECT n FROM limit_holds")
    assert [row["n"] for row in rows] == [1]  # only the single send's, not yet committed


async def test_prune_forgets_lapsed_holds_and_old_failures(
    two_nodes: tuple[PostgresStore, PostgresStore],
) -> None:
    store = two_nodes[0]
    await SharedBrake(store, "token", 5, 600).charge("127.0.0.1")
    await SharedLimits(store, ManualClock()).admit_send(ACCOUNT, 60, 10, 1)
    await store.write(lambda tx: tx.execute("UPDATE limit_holds SET until_ts = until_ts - 61"))

    prune(store, 0.0)  # a window of 0 s: every failure is old
    await store.barrier()

    assert await store.fetchall("SELECT id FROM limit_holds") == []
    assert await store.fetchall("SELECT id FROM guess_failures") == []
