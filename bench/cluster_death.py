"""How long a SIGKILLed node's absence lasts: ``rehome_s`` and ``node_death_detect_s``.

Three ``[cluster]`` nodes behind haproxy (``deploy/haproxy.cfg``), relay_sim
relays connected through it, so round robin spreads their sockets over the
nodes. The node holding the most relays is SIGKILLed; from that moment:

- ``rehome_s``: until every relay that was on it has been welcomed again (by
  another node: the dead one cannot answer) and ``relay_sessions`` puts each
  on a live node. Relays reconnect after their backoff (relay_sim: 50 ms
  doubling to at most 2 s, jittered) and haproxy stops sending to the dead
  node after two failed health checks (1 s apart).
- ``node_death_detect_s``: until the dead node's ``hub_nodes`` row is gone,
  that is until a live node reaped it after its lease ran out (on the
  database's clock). The nodes run with a short lease (``LEASE_S``) so a run
  stays short; the target is lease + 1 s.

Where a figure cannot be had (no reaper on this branch: the row stays), it is
left out and ``harness.MISSING`` says why; ``bench.run`` records the reason.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections import Counter
from collections.abc import Mapping
from pathlib import Path

import httpx
import psycopg

from bench.harness import MISSING
from relay_sim.relay import SimRelay
from tests.cluster import balancer
from tests.cluster.conftest import Cluster
from tests.cluster.nodes import start_node

RELAYS = 12
LEASE_S = 3.0
RENEW_EVERY_S = 0.5
REAP_WAIT_S = LEASE_S + 10.0  # past this the reaper is taken to be missing
REHOME_WAIT_S = 30.0
DB_STEP_S = 0.02  # resolution of the database-side timings
NODE_TOML = f"""
[cluster]
enabled = true
lease_s = {LEASE_S}
renew_every_s = {RENEW_EVERY_S}
"""


async def measure(database: str) -> dict[str, float]:
    if (reason := balancer.missing_reason()) is not None:
        MISSING.update(rehome_s=reason, node_death_detect_s=reason)
        return {}
    root = Path(tempfile.mkdtemp(prefix="relayhub-bench-death-"))
    async with httpx.AsyncClient(timeout=10) as client:
        cluster = Cluster(database, root, client)
        front: balancer.Balancer | None = None
        try:
            first = await start_node(cluster, NODE_TOML)
            phones = [await cluster.pair(first, f"phone-{n}") for n in range(RELAYS)]
            for _ in range(balancer.SERVERS - 1):
                await start_node(cluster, NODE_TOML)
            front = balancer.Balancer(cluster.nodes)
            await front.start()
            relays = [await cluster.relay_on(front.base_url, phone) for phone in phones]
            return await _kill_and_time(cluster, relays)
        finally:
            for relay in cluster.relays:
                await relay.stop()
            if front is not None:
                await front.stop()
            for node in cluster.nodes:
                await node.stop()


async def _kill_and_time(cluster: Cluster, relays: list[SimRelay]) -> dict[str, float]:
    holders = dict(cluster.query("SELECT device_id, node_id FROM relay_sessions"))
    victim_id, _ = Counter(holders.values()).most_common(1)[0]
    victim = next(n for n in cluster.nodes if cluster.node_id(n) == victim_id)
    moving = [r for r in relays if holders.get(r.device_id) == victim_id]
    welcomes = {r.device_id: r.welcome for r in moving}

    killed_at = time.perf_counter()
    await victim.kill()
    reaped = asyncio.create_task(_row_gone(cluster.database, victim_id, killed_at))
    welcomed = await _all_welcomed_again(moving, welcomes, killed_at)
    # A welcome may go out a moment before the new session's commit: both count.
    recorded = await _sessions_moved(cluster.database, [r.device_id for r in moving], victim_id)
    figures = {
        "rehome_s": round(max(welcomed, recorded - killed_at), 3),
        "rehome_relays": float(len(moving)),
        "node_death_lease_s": LEASE_S,
    }
    detected = await reaped
    if detected is None:
        MISSING["node_death_detect_s"] = (
            f"the dead node's hub_nodes row was still there {REAP_WAIT_S:g} s after the kill"
            f" (lease {LEASE_S:g} s): nothing reaps expired leases on this branch"
        )
    else:
        figures["node_death_detect_s"] = round(detected, 3)
    return figures


async def _all_welcomed_again(
    moving: list[SimRelay], before: Mapping[str, object], killed_at: float
) -> float:
    """Seconds from the kill until each relay holds a welcome newer than ``before``."""
    done_at: dict[str, float] = {}

    async def one(relay: SimRelay) -> None:
        def welcomed_again() -> bool:
            return relay.online and relay.welcome is not before[relay.device_id]

        await relay.wait_until(welcomed_again, REHOME_WAIT_S)
        done_at[relay.device_id] = time.perf_counter()

    await asyncio.gather(*(one(r) for r in moving))
    return max(done_at.values()) - killed_at


async def _sessions_moved(database: str, devices: list[str], dead: str) -> float:
    """When (perf_counter) ``relay_sessions`` first put every one of ``devices`` on
    a node other than ``dead``; looked up every ``DB_STEP_S``."""
    async with await psycopg.AsyncConnection.connect(database, autocommit=True) as conn:
        async with asyncio.timeout(REHOME_WAIT_S):
            while True:
                rows = await (
                    await conn.execute(
                        "SELECT count(*) FROM relay_sessions"
                        " WHERE device_id = ANY(%s) AND node_id <> %s",
                        (devices, dead),
                    )
                ).fetchone()
                if rows is not None and rows[0] == len(devices):
                    return time.perf_counter()
                await asyncio.sleep(DB_STEP_S)


async def _row_gone(database: str, node_id: str, killed_at: float) -> float | None:
    """Seconds from the kill until ``hub_nodes`` no longer has the node; None past the wait.

    Nothing announces a reap to an outsider, so this looks every ``DB_STEP_S``.
    """
    async with await psycopg.AsyncConnection.connect(database, autocommit=True) as conn:
        while (waited := time.perf_counter() - killed_at) < REAP_WAIT_S:
            row = await (
                await conn.execute("SELECT 1 FROM hub_nodes WHERE id = %s", (node_id,))
            ).fetchone()
            if row is None:
                return waited
            await asyncio.sleep(DB_STEP_S)
    return None
