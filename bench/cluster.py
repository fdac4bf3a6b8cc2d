"""Issue 18's figures: the hub on PostgreSQL, one node and two, beside PostgreSQL's floors.

Every scenario starts its own private PostgreSQL (``tests/pg_cluster.py``:
Debian's binaries, a temp folder, fsync, synchronous_commit and
full_page_writes on) and real ``relayhub serve`` processes on it:

- ``pg_floors`` (``bench.pg_floors``): pg_test_fsync, a bare NOTIFY round
  trip, bare SKIP LOCKED claims.
- ``pg_single``: one node (``[cluster]`` off, as one PostgreSQL operator runs
  it): push p50/p99 with the spine's in-process relay, accepted sends/s with
  the account's only relay offline, and the lifecycle with 100 relays.
- ``pg_cluster``: two ``[cluster]`` nodes on one PostgreSQL, the load split
  between them: accept and lifecycle (50 relays on each node); and the
  cross-node push: a send on node A for the relay on node B, minus a
  same-node push in the same run (``tests/cluster/push_latency.py``).
- ``node_death`` (``bench.cluster_death``): three nodes behind haproxy, one
  SIGKILLed; seconds until its relays are online elsewhere and until the
  cluster has reaped it.

Hub CPU and PostgreSQL CPU per message come from ``/proc``: the node
processes, and the postmaster with every backend it started (the ones that
ended are counted in the postmaster's children's time).
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import httpx

from bench import cluster_death, floors, pg_floors, spine, throughput
from bench.harness import (
    HOST,
    MISSING,
    TOKEN,
    BenchHub,
    cpu_seconds,
    median,
    percentile,
    running_hub,
)
from bench.harness import start as start_process
from bench.harness import stop as stop_process
from bench.http_load import build_request, hammer
from relay_sim.pairing import PairedDevice, pair_device
from relay_sim.state import save_devices
from tests.cluster import push_latency
from tests.pg_cluster import PgCluster
from tests.pg_cluster import missing_reason as no_postgres_reason

Figures = dict[str, float]
DATABASE_ENV = "RELAYHUB_DATABASE_URL"
CLUSTER_CONFIG = "[cluster]\nenabled = true\n"
CROSS_NODE_SENDS = 300
RELAYS_PER_NODE = 50


def postgres_missing(*figures: str) -> bool:
    """True (and the figures noted as missing, with the reason) where no private
    PostgreSQL can start on this machine."""
    reason = no_postgres_reason()
    if reason is not None:
        MISSING.update(dict.fromkeys(figures, reason))
    return reason is not None


@asynccontextmanager
async def private_postgres() -> AsyncIterator[PgCluster]:
    cluster = PgCluster()
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.destroy()


def pg_cpu_seconds(cluster: PgCluster) -> float:
    """CPU the PostgreSQL server has used so far: the postmaster, its live
    children, and the children that already ended (which it has waited for)."""
    postmaster = int((cluster.data / "postmaster.pid").read_text().split()[0])
    total = _own_and_ended_children(postmaster)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and _parent(entry) == postmaster:
            total += _own_and_ended_children(int(entry.name), children=False)
    return total


def _stat(pid: int | Path) -> list[str]:
    path = pid / "stat" if isinstance(pid, Path) else Path(f"/proc/{pid}/stat")
    return path.read_text().rsplit(")", 1)[1].split()


def _parent(entry: Path) -> int:
    try:
        return int(_stat(entry)[1])
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return 0  # gone between the listing and the read


def _own_and_ended_children(pid: int, children: bool = True) -> float:
    try:
        fields = _stat(pid)
    except FileNotFoundError:
        return 0.0
    ticks = int(fields[11]) + int(fields[12])
    if children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / os.sysconf("SC_CLK_TCK")


# --- floors -------------------------------------------------------------------


async def pg_floors_scenario() -> Figures:
    if postgres_missing("pg_fsync_ops_per_s", "pg_notify_p50_ms", "pg_claim_rows_per_s"):
        return {}
    async with private_postgres() as pg:
        return await pg_floors.measure(pg, pg.create_database("floors"))


# --- one node -----------------------------------------------------------------


async def pg_single() -> Figures:
    if postgres_missing("pg_push_p50_ms", "pg_push_p99_ms", "pg_accept_rps", "pg_lifecycle_mps"):
        return {}
    figures: Figures = {}
    async with private_postgres() as pg:
        env = {DATABASE_ENV: pg.create_database("push_accept")}
        async with running_hub(env=env) as hub:
            figures.update(await _push(hub))
            parked = await _pair(hub, "Parked relay (offline)")
            figures.update(_named("pg", await _accept([hub], pg, parked)))
        env = {DATABASE_ENV: pg.create_database("lifecycle")}
        async with running_hub(env=env) as hub, throughput.relay_fleet(hub):
            figures.update(_named("pg", await _lifecycle([hub], pg)))
    return figures


async def _push(hub: BenchHub) -> Figures:
    """One send at a time, POST → the in-process relay holds the ``send`` frame."""
    device = await _pair(hub, "Latency relay")
    relay = spine.LatencyRelay()
    task = asyncio.create_task(relay.run(device))
    try:
        await relay.online(hub, device.device_id, task)
        took = await spine.latency_raw(hub, relay, device.device_id)
    finally:
        task.cancel()
    return {"pg_push_p50_ms": percentile(took, 0.5), "pg_push_p99_ms": percentile(took, 0.99)}


async def _pair(hub: BenchHub, name: str) -> PairedDevice:
    async with httpx.AsyncClient(timeout=30) as client:
        return await pair_device(client, hub.base, TOKEN, name)


def _named(prefix: str, figures: Figures) -> Figures:
    return {f"{prefix}_{name}": value for name, value in figures.items()}


class _Cpu:
    """Hub and PostgreSQL CPU seconds over a window."""

    def __init__(self, nodes: list[BenchHub], pg: PgCluster) -> None:
        self.nodes, self.pg = nodes, pg
        self.hub0 = sum(cpu_seconds(n.pid) for n in nodes)
        self.pg0 = pg_cpu_seconds(pg)

    def per_message_ms(self, messages: int) -> Figures:
        hub = sum(cpu_seconds(n.pid) for n in self.nodes) - self.hub0
        pg = pg_cpu_seconds(self.pg) - self.pg0
        return {
            "hub_cpu_ms_per_msg": round(hub * 1000 / messages, 3),
            "pg_cpu_ms_per_msg": round(pg * 1000 / messages, 3),
        }


async def _accept(nodes: list[BenchHub], pg: PgCluster, device: PairedDevice) -> Figures:
    """Sends for an offline device from ``spine.CLIENTS`` clients, split over the nodes."""
    body = spine.body_for(device.device_id)
    cpu = _Cpu(nodes, pg)
    loads = await asyncio.gather(*(
        hammer(HOST, n.port, build_request(floors.PATH, body, TOKEN, f"{HOST}:{n.port}"),
               spine.CLIENTS // len(nodes), spine.SECONDS, keep_bodies=False)
        for n in nodes
    ))  # fmt: skip
    for load in loads:
        if set(load.statuses) != {202}:
            raise RuntimeError(f"every send must be accepted; a node answered {load.statuses}")
    accepted = sum(load.count(202) for load in loads)
    latencies = [x * 1000 for load in loads for x in load.latencies]
    return {
        "accept_rps": round(accepted / max(load.elapsed_s for load in loads), 1),
        "accept_p99_ms": round(percentile(latencies, 0.99), 3),
        **{f"accept_{k}": v for k, v in cpu.per_message_ms(accepted).items()},
    }


async def _lifecycle(nodes: list[BenchHub], pg: PgCluster) -> Figures:
    """Sends split over the nodes for ``throughput.SECONDS``; every 202'd message
    must reach ``delivered``; delivered/s from the first send to the last delivery."""
    cpu = _Cpu(nodes, pg)
    started = time.time()
    loads = await asyncio.gather(*(
        hammer(HOST, n.port,
               build_request("/api/v1/sms/send", throughput.SEND_BODY, TOKEN, f"{HOST}:{n.port}"),
               throughput.CLIENTS // len(nodes), throughput.SECONDS, keep_bodies=True)
        for n in nodes
    ))  # fmt: skip
    accepted: set[str] = set()
    for load in loads:
        accepted |= throughput.accepted_ids(load)
    last_delivered = await throughput.wait_delivered(nodes[0], accepted)
    return {
        "lifecycle_mps": round(len(accepted) / (last_delivered - started), 1),
        "lifecycle_messages": len(accepted),
        **{f"lifecycle_{k}": v for k, v in cpu.per_message_ms(len(accepted)).items()},
    }


# --- two nodes ----------------------------------------------------------------


async def pg_cluster() -> Figures:
    if postgres_missing(
        "cross_node_push_extra_p50_ms", "cross_node_push_extra_p99_ms", "pg2_accept_rps",
        "pg2_lifecycle_mps",
    ):  # fmt: skip
        return {}
    figures: Figures = {}
    async with private_postgres() as pg:
        figures.update(await _cross_node_push(pg))
        async with _two_nodes(pg, "accept") as (nodes, parked):
            figures.update(_named("pg2", await _accept(nodes, pg, parked)))
        async with _two_nodes(pg, "lifecycle", relays=RELAYS_PER_NODE) as (nodes, _):
            figures.update(_named("pg2", await _lifecycle(nodes, pg)))
    return figures


async def _cross_node_push(pg: PgCluster) -> Figures:
    root = Path(tempfile.mkdtemp(prefix="relayhub-bench-push-"))
    database = pg.create_database("cross_node")
    cross, same = await push_latency.cross_and_same(database, root, CROSS_NODE_SENDS)
    return {
        "cross_node_push_p50_ms": median(cross),
        "cross_node_push_p99_ms": percentile(cross, 0.99),
        "same_node_push_p50_ms": median(same),
        "same_node_push_p99_ms": percentile(same, 0.99),
        "cross_node_push_extra_p50_ms": median(cross) - median(same),
        "cross_node_push_extra_p99_ms": percentile(cross, 0.99) - percentile(same, 0.99),
    }


@asynccontextmanager
async def _two_nodes(
    pg: PgCluster, name: str, relays: int = 0
) -> AsyncIterator[tuple[list[BenchHub], PairedDevice]]:
    """Two cluster nodes on one new database, ``relays`` relay_sim relays on each,
    and a device of the account that stays offline.

    Nodes read devices at start, so every device is paired on the first node
    before the second starts; the second node's relays are handed their
    devices in a relay_sim state file pointing at it.
    """
    env = {DATABASE_ENV: pg.create_database(name)}
    async with AsyncExitStack() as stack:
        first = await stack.enter_async_context(running_hub(CLUSTER_CONFIG, env))
        paired = [await _pair(first, f"Relay {n}") for n in range(2 * relays)]
        parked = await _pair(first, "Parked relay (offline)")
        second = await stack.enter_async_context(running_hub(CLUSTER_CONFIG, env))
        for index, node in enumerate((first, second)):
            if not relays:
                continue
            own = paired[index * relays : (index + 1) * relays]
            state = node.work / "relays.json"
            save_devices(state, [_at(device, node) for device in own])
            process = await start_process(
                ["-m", "relay_sim", "--hub", node.base, "--token", TOKEN,
                 "--relays", str(relays), "--profile", "ideal", "--state", str(state)],
                f"{relays}/{relays} online", stream="stdout",
            )  # fmt: skip
            stack.push_async_callback(stop_process, process)
        yield [first, second], parked


def _at(device: PairedDevice, node: BenchHub) -> PairedDevice:
    """The same device, its socket aimed at ``node``."""
    ws_url = f"ws://{HOST}:{node.port}/api/v1/relay/ws"
    return PairedDevice(device.device_id, device.device_token, ws_url, device.name)


# --- a node dies --------------------------------------------------------------


async def node_death() -> Figures:
    if postgres_missing("rehome_s", "node_death_detect_s"):
        return {}
    async with private_postgres() as pg:
        return await cluster_death.measure(pg.create_database("death"))


if __name__ == "__main__":

    async def _main() -> None:
        for scenario in (pg_floors_scenario, pg_single, pg_cluster, node_death):
            for name, value in (await scenario()).items():
                print(f"{name:<40} {value:.3f}")

    asyncio.run(_main())
