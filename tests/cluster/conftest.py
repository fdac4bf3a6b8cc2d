"""Several real ``relayhub serve`` processes on one private PostgreSQL.

Each node is its own OS process on its own loopback port with its own data
folder; all share one database. A node reads a request's token, account and
devices from the database (and a socket's device at its handshake), so a
device paired on one node works on every node at once, started before or after.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from protocol import frames as f
from protocol.relay_session import RelayLedger
from relay_sim.pairing import PairedDevice, pair_device
from relay_sim.profiles import PROFILES, Profile
from relay_sim.relay import SimRelay
from tests import pg_cluster
from tests.cluster import balancer
from tests.e2e.conftest import ADMIN_TOKEN
from tests.e2e.hub_process import HubProcess, free_port
from tests.e2e.raw_relay import ws_url

_seeds = itertools.count(1)

# Only a notification (or a hello) wakes a node in these tests: the safety-net
# poll is pushed out of their time so it cannot stand in for either.
CLUSTER_TOML = """
[cluster]
enabled = true
poll_s = 3600.0
{cluster_extra}
[relay]
max_inflight = {max_inflight}
{relay_extra}
"""


@dataclass
class Cluster:
    database: str
    root: Path
    client: httpx.AsyncClient
    max_inflight: int = 8
    cluster_extra: str = ""  # more [cluster] lines (a test's lease, say)
    relay_extra: str = ""  # more [relay] lines
    # More settings for the nodes started after it is set, appended after the
    # [relay] table: keys before a table header of their own are [relay]'s.
    extra_toml: str = ""
    nodes: list[HubProcess] = field(default_factory=list)
    relays: list[SimRelay] = field(default_factory=list)

    async def start_node(self) -> HubProcess:
        index = len(self.nodes)
        config = self.root / f"node{index}.toml"
        config.write_text(
            CLUSTER_TOML.format(
                max_inflight=self.max_inflight,
                cluster_extra=self.cluster_extra,
                relay_extra=self.relay_extra,
            )
            + self.extra_toml
        )
        node = HubProcess(
            self.root / f"node{index}", free_port(), ADMIN_TOKEN, config, database=self.database
        )
        self.nodes.append(node)
        await node.start()
        return node

    async def pair(self, node: HubProcess, name: str) -> PairedDevice:
        return await pair_device(self.client, node.base_url, ADMIN_TOKEN, name)

    async def relay_on(
        self,
        node: HubProcess | str,
        device: PairedDevice,
        ledger: RelayLedger | None = None,
        on_job: Callable[[str, f.Send], None] | None = None,
        profile: Profile = PROFILES["ideal"],
    ) -> SimRelay:
        """A relay_sim relay for ``device`` whose socket goes to ``node`` (or a base
        URL: the balancer's); ``ledger``:
        the phone's report numbering, kept when the same phone moves to another node."""
        at_node = PairedDevice(
            device.device_id, device.device_token, ws_url(_base(node)), device.name
        )
        relay = SimRelay(at_node, profile, seed=next(_seeds), ledger=ledger, on_job=on_job)
        self.relays.append(relay)
        await relay.start()
        await relay.wait_welcomed()
        return relay

    async def send(self, node: HubProcess | str, text: str = "Salom") -> str:
        """POST /v1/sms/send to ``node`` (or a base URL); the request id."""
        return (await self.send_answer(node, text)).json()["request_id"]  # type: ignore[no-any-return]

    async def send_answer(self, node: HubProcess | str, text: str) -> httpx.Response:
        response = await self.client.post(
            _base(node) + "/api/v1/sms/send",
            json={"to": "+998901234567", "text": text},
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        )
        assert response.status_code == 202, response.text
        return response

    async def status(self, node: HubProcess | str, request_id: str) -> dict[str, Any]:
        response = await self.client.get(
            _base(node) + f"/api/v1/messages/status?request_id={request_id}",
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def node_id(self, node: HubProcess) -> str:
        """The cluster id the node logged at start."""
        for line in node.log:
            if "cluster node " in line:
                return line.split("cluster node ", 1)[1].split()[0]
        raise AssertionError(f"node on port {node.port} logged no cluster id: {node.log}")

    def query(self, sql: str, *params: object) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.database, autocommit=True) as conn:
            return list(conn.execute(sql.encode(), params).fetchall())


def _base(node: HubProcess | str) -> str:
    return node if isinstance(node, str) else node.base_url


async def stored(holds: Callable[[], bool], what: str, timeout_s: float = 10) -> None:
    """Return once ``holds()``, a read of the database, is true; fail naming ``what``.

    The one place the cluster tests poll: the nodes are other processes, and
    PostgreSQL tells no one of a commit, so its row can only be read again."""
    deadline = time.monotonic() + timeout_s
    while not holds():
        assert time.monotonic() < deadline, f"after {timeout_s:g} s, still not: {what}"
        await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def running_cluster(database: str, root: Path) -> AsyncIterator[Cluster]:
    """A cluster on ``database``; every node and relay is stopped at the end."""
    async with httpx.AsyncClient(timeout=10) as client:
        running = Cluster(database, root, client)
        try:
            yield running
        finally:
            for relay in running.relays:
                with contextlib.suppress(Exception):
                    await relay.stop()
            for node in running.nodes:
                await node.stop()


@pytest.fixture
async def cluster(postgres: pg_cluster.PgCluster, tmp_path: Path) -> AsyncIterator[Cluster]:
    """An empty migrated database and a place for nodes; every node and relay is
    stopped at the end."""
    async with running_cluster(pg_cluster.database_for(tmp_path / "cluster"), tmp_path) as running:
        yield running


@pytest.fixture
def haproxy() -> None:
    """Skip where haproxy is missing (fail instead in CI, as for PostgreSQL)."""
    reason = balancer.missing_reason()
    if reason is not None:
        if os.environ.get(balancer.REQUIRE_ENV) == "1":
            pytest.fail(f"{balancer.REQUIRE_ENV}=1 but {reason}")
        pytest.skip(reason)
