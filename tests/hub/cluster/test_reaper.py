"""Node death on a real PostgreSQL: the reap, the fence, adoption and the stale rescue."""

from __future__ import annotations

import psycopg
import pytest

from hub.cluster.node import RESCUE_PREFIX, channel_of
from hub.cluster.reaper import adopt_phone, reap_expired, rescue
from hub.cluster.sessions import took_session
from hub.store.interface import NodeFenced, Tx
from hub.store.postgres import PostgresStore
from tests.hub.cluster.test_cluster_parts import ACCOUNT, lease, queue, store

__all__ = ["store"]  # the fixture, shared with test_cluster_parts


async def expire(store: PostgresStore, node: str) -> None:
    """The node's lease ran out a moment ago (as if it stopped renewing)."""
    await store.execute(
        "UPDATE hub_nodes SET lease_until = now() - interval '1 second' WHERE id = ?", (node,)
    )


async def held(store: PostgresStore, owner: str, device: str, state: str, count: int) -> list[str]:
    """``count`` messages the owner handed to ``device``, now in ``state``."""
    ids = await queue(store, count, owner=owner)
    await store.execute(
        "UPDATE messages SET state = ?, device_id = ?, attempts = 1 WHERE id = ANY(?)",
        (state, device, ids),
    )
    return ids


async def owners(store: PostgresStore, ids: list[str]) -> set[str | None]:
    rows = await store.fetchall("SELECT owner_node FROM messages WHERE id = ANY(?)", (ids,))
    return {r[0] for r in rows}


async def test_a_reap_frees_queued_messages_keeps_held_ones_and_tells_the_phones_new_node(
    store: PostgresStore,
) -> None:
    dead, live = lease(store, "node_dead"), lease(store, "node_live")
    await dead.take()
    await live.take()
    await store.write(took_session("node_dead", ACCOUNT, "dev_stays"))
    await store.write(took_session("node_live", ACCOUNT, "dev_moved"))
    queued = await queue(store, 3, owner="node_dead")
    dispatched = await held(store, "node_dead", "dev_moved", "dispatched", 2)
    accepted = await held(store, "node_dead", "dev_stays", "accepted", 1)
    await expire(store, "node_dead")

    async with await psycopg.AsyncConnection.connect(store.url, autocommit=True) as conn:
        await conn.execute(f"LISTEN {channel_of('node_live')}")
        assert await store.write(reap_expired("node_live", 10.0)) == ["node_dead"]
        heard = {n.payload async for n in conn.notifies(timeout=5, stop_after=2)}

    # Queued ones are the shared queue's; the phone back on node_live adopts the rest.
    assert heard == {ACCOUNT, RESCUE_PREFIX + ACCOUNT}
    assert await owners(store, queued) == {None}
    assert await owners(store, dispatched + accepted) == {"node_dead"}
    assert [r[0] for r in await store.fetchall("SELECT id FROM hub_nodes")] == ["node_live"]
    sessions = await store.fetchall("SELECT device_id FROM relay_sessions")
    assert [s[0] for s in sessions] == ["dev_moved"]
    grace = await store.fetchone(
        "SELECT extract(epoch FROM rescue_after - now()) AS left_s FROM reaped_nodes WHERE id = ?",
        ("node_dead",),
    )
    assert grace is not None and 9 < grace["left_s"] <= 10


async def test_a_live_lease_and_the_reapers_own_are_never_reaped(store: PostgresStore) -> None:
    me, other = lease(store, "node_me"), lease(store, "node_other")
    await me.take()
    await other.take()
    await expire(store, "node_me")  # the reaper was slow to renew: it is not dead to itself

    assert await store.write(reap_expired("node_me", 10.0)) == []
    assert len(await store.fetchall("SELECT id FROM hub_nodes")) == 2


async def test_a_reaped_node_commits_nothing_more_and_knows_why(store: PostgresStore) -> None:
    zombie, reaper = lease(store, "node_zombie"), lease(store, "node_reaper")
    await zombie.take()
    await reaper.take()
    store.writer.fence_node = "node_zombie"
    await store.execute("SELECT 1")  # reads are not fenced
    ids = await queue(store, 1, owner="node_zombie")  # commits while its row stands
    await expire(store, "node_zombie")
    store.writer.fence_node = "node_reaper"
    await store.write(reap_expired("node_reaper", 10.0))
    store.writer.fence_node = "node_zombie"

    def dispatch(tx: Tx) -> None:
        tx.execute("UPDATE messages SET state = 'dispatched' WHERE id = ?", (ids[0],))

    with pytest.raises(NodeFenced, match="node_zombie was reaped"):
        await store.write(dispatch)
    row = await store.fetchone("SELECT state, owner_node FROM messages WHERE id = ?", (ids[0],))
    assert row is not None and (row["state"], row["owner_node"]) == ("queued", None)


async def test_only_the_node_holding_the_phone_adopts_its_orphans_and_only_once(
    store: PostgresStore,
) -> None:
    for node in ("node_dead", "node_b", "node_c"):
        await lease(store, node).take()
    mine = await held(store, "node_dead", "dev_1", "dispatched", 1)
    mine += await held(store, "node_dead", "dev_1", "accepted", 1)
    mine += await held(store, "node_dead", "dev_1", "sent", 1)
    await store.write(took_session("node_b", ACCOUNT, "dev_1"))
    assert await store.write(adopt_phone("node_b", "dev_1")) == []  # not reaped yet: not ours
    await expire(store, "node_dead")
    await store.write(reap_expired("node_c", 10.0))

    assert await store.write(adopt_phone("node_c", "dev_1")) == []  # node_c has no socket of it
    adopted = await store.write(adopt_phone("node_b", "dev_1"))
    assert sorted(r["id"] for r in adopted) == sorted(mine)
    assert await store.write(adopt_phone("node_b", "dev_1")) == []  # compare-and-set: once
    assert await owners(store, mine) == {"node_b"}


async def test_a_stale_rescue_takes_only_dispatched_jobs_whose_phone_no_node_holds(
    store: PostgresStore,
) -> None:
    for node in ("node_dead", "node_b"):
        await lease(store, node).take()
    lost = await held(store, "node_dead", "dev_gone", "dispatched", 2)
    kept = await held(store, "node_dead", "dev_gone", "accepted", 1)
    back = await held(store, "node_dead", "dev_back", "dispatched", 1)
    await expire(store, "node_dead")
    await store.write(reap_expired("node_b", 0.0))  # no grace: at once
    await store.write(took_session("node_b", ACCOUNT, "dev_back"))

    rescued = await store.write(rescue("node_b"))

    assert sorted(r["id"] for r in rescued.stale) == sorted(lost)
    assert [r["id"] for r in rescued.held] == back  # the phone is here: adopted, not requeued
    assert await owners(store, kept) == {"node_dead"}  # an accepted job waits for its phone
    assert await store.fetchone("SELECT id FROM reaped_nodes") is not None
    await store.execute("UPDATE messages SET state = 'sent' WHERE id = ANY(?)", (kept,))
    await store.write(rescue("node_b"))
    assert await store.fetchone("SELECT id FROM reaped_nodes") is None  # it holds nothing now


async def test_no_stale_rescue_before_the_grace_has_passed(store: PostgresStore) -> None:
    for node in ("node_dead", "node_b"):
        await lease(store, node).take()
    lost = await held(store, "node_dead", "dev_gone", "dispatched", 1)
    await expire(store, "node_dead")
    await store.write(reap_expired("node_b", 60.0))

    assert (await store.write(rescue("node_b"))).stale == []
    assert await owners(store, lost) == {"node_dead"}


async def test_a_node_leaving_cleanly_leaves_its_phones_jobs_for_the_node_they_reach(
    store: PostgresStore,
) -> None:
    leaving, staying = lease(store, "node_leaving"), lease(store, "node_staying")
    await leaving.take()
    await staying.take()
    jobs = await held(store, "node_leaving", "dev_1", "accepted", 2)
    await leaving.give_up(10.0)
    await store.write(took_session("node_staying", ACCOUNT, "dev_1"))

    adopted = await store.write(adopt_phone("node_staying", "dev_1"))
    assert sorted(r["id"] for r in adopted) == sorted(jobs)


async def test_a_fenced_writers_transactions_may_not_sit_open_past_the_lease(
    store: PostgresStore,
) -> None:
    await lease(store, "node_a").take()
    store.writer.fence_node, store.writer.fence_idle_ms = "node_a", 10_000

    def limit(tx: Tx) -> str:
        row = tx.execute("SHOW idle_in_transaction_session_timeout").fetchone()
        return str(row[0])

    # A node stopped mid-batch has its transaction ended by the server, so the
    # row locks it held cannot hold up its reap.
    assert await store.write(limit) == "10s"
    elsewhere = await store.fetchone("SHOW idle_in_transaction_session_timeout")
    assert elsewhere is not None and elsewhere[0] == "0"  # for that transaction only
