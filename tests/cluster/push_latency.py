"""Cross-node push latency against a same-node push, on one PostgreSQL, in one run.

    .venv/bin/python -m tests.cluster.push_latency [SENDS] [-v]

Two real nodes, one relay_sim relay. Phase 1: the relay is on node B, sends go
to node A (A commits the message queued and NOTIFYs B; B claims and
dispatches). Phase 2: the same relay on node A, sends to A (A places it in the
insert's own commit). A push is the time from the POST to the ``send`` frame
at the relay; sends go one at a time, so each figure is a lone message's.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

from protocol import frames as f
from relay_sim.relay import SimRelay
from tests import pg_cluster
from tests.cluster.conftest import Cluster

# When each job's `send` frame reached the relay.
arrived: dict[str, float] = {}


def job_seen(_relay: str, send: f.Send) -> None:
    arrived.setdefault(send.id, time.perf_counter())


async def pushes(cluster: Cluster, relay: SimRelay, node_index: int, count: int) -> list[float]:
    node = cluster.nodes[node_index]
    took = []
    for n in range(count):
        began = time.perf_counter()
        request_id = await cluster.send(node, f"push {n}")
        await relay.wait_until(lambda: request_id in arrived)  # noqa: B023 (awaited here)
        took.append((arrived[request_id] - began) * 1000)
    return took


def p99(ms: list[float]) -> float:
    ordered = sorted(ms)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def summary(name: str, ms: list[float]) -> str:
    return f"{name:<12} n={len(ms)} p50={statistics.median(ms):.2f} ms p99={p99(ms):.2f} ms"


async def cross_and_same(database: str, root: Path, count: int) -> tuple[list[float], list[float]]:
    """Push times (ms) of ``count`` sends: cross-node first, then same-node, on two
    fresh nodes of ``database``; ``bench.cluster`` reuses this."""
    async with httpx.AsyncClient(timeout=10) as client:
        cluster = Cluster(database, root, client)
        try:
            a = await cluster.start_node()
            device = await cluster.pair(a, "latency-phone")
            b = await cluster.start_node()
            on_b = await cluster.relay_on(b, device, on_job=job_seen)
            await pushes(cluster, on_b, 0, 20)  # warm both nodes' paths
            cross = await pushes(cluster, on_b, 0, count)
            await on_b.stop()
            on_a = await cluster.relay_on(a, device, ledger=on_b.ledger, on_job=job_seen)
            await pushes(cluster, on_a, 0, 20)
            same = await pushes(cluster, on_a, 0, count)
            return cross, same
        finally:
            for relay in cluster.relays:
                await relay.stop()
            for node in cluster.nodes:
                await node.stop()
                if "-v" in sys.argv:  # what went wrong in the nodes
                    print(
                        "".join(line for line in node.log if " WARNING " in line or "Error" in line)
                    )


async def main(count: int) -> None:
    pg_cluster.shared_cluster()
    root = Path(tempfile.mkdtemp(prefix="relayhub-push-"))
    cross, same = await cross_and_same(pg_cluster.database_for(root / "db"), root, count)
    print(summary("same-node", same))
    print(summary("cross-node", cross))
    extra50 = statistics.median(cross) - statistics.median(same)
    extra99 = p99(cross) - p99(same)
    print(f"cross-node extra p50 = {extra50:+.2f} ms, p99 = {extra99:+.2f} ms")


if __name__ == "__main__":
    try:
        counts = [int(arg) for arg in sys.argv[1:] if arg.isdigit()]
        asyncio.run(main(counts[0] if counts else 300))
    finally:
        pg_cluster.stop_shared_cluster()
