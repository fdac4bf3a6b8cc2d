"""PostgreSQL stops under two running nodes for longer than their lease, then
starts again.

While it is down both nodes answer sends with a clear 503; once it is back
both serve again without a restart, under the same ids: neither reaps the
other (every lease lapsed alike, and a node reaps only after holding its own
lease for a whole lease again), and a send is delivered once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.cluster.conftest import Cluster, running_cluster
from tests.e2e.conftest import ADMIN_TOKEN, delivered_ids
from tests.pg_cluster import PgCluster

LEASE_S = 2.0
RESTART_CLUSTER = f"lease_s = {LEASE_S}\nrenew_every_s = 0.5\nreap_every_s = 0.25"
# A request waits this long for storage before it answers 503 (the default is 5 s).
RESTART_STORAGE = "\n[storage]\nbusy_timeout_ms = 1000"


@pytest.fixture
async def lone_cluster(postgres_alone: PgCluster, tmp_path: Path) -> AsyncIterator[Cluster]:
    """Nodes on a PostgreSQL of their own: the test stops it."""
    database = postgres_alone.create_database("cluster_restart")
    async with running_cluster(database, tmp_path) as running:
        running.cluster_extra, running.relay_extra = RESTART_CLUSTER, RESTART_STORAGE
        yield running


async def test_two_nodes_answer_503_while_postgres_is_down_and_serve_again_as_themselves(
    lone_cluster: Cluster, postgres_alone: PgCluster
) -> None:
    cluster = lone_cluster
    a = await cluster.start_node()
    phone = await cluster.pair(a, "phone")
    b = await cluster.start_node()
    relay = await cluster.relay_on(a, phone)
    ids = {cluster.node_id(a), cluster.node_id(b)}
    before = await cluster.send(b, "before the stop")
    await relay.wait_until(lambda: before in delivered_ids(relay) and relay.outbox_size == 0)

    postgres_alone.stop("fast")
    try:
        refused = [
            await cluster.client.post(
                node.base_url + "/api/v1/sms/send",
                json={"to": "+998901234567", "text": "down"},
                headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
            )
            for node in (a, b)
        ]
        for node in (a, b):  # down for longer than the lease, on both
            await node.wait_log("lease not renewed for")
    finally:
        postgres_alone.start()

    for node in (a, b):  # each renews its own lease again, by itself
        await node.wait_log("lease renewed again", timeout_s=30)
    after = await cluster.send(b, "after the start")
    await relay.wait_until(
        lambda: after in delivered_ids(relay) and relay.outbox_size == 0, timeout=30
    )

    for response in refused:  # the same clear answer a single node gives
        assert response.status_code == 503, response.text
        assert response.json()["code"] == "storage_unavailable"
        assert "could not reach its storage" in response.json()["detail"]
        assert int(response.headers["retry-after"]) > 0
    assert relay.sms_sent == {before: 1, after: 1}
    assert {r[0] for r in cluster.query("SELECT id FROM hub_nodes")} == ids
    assert not [line for node in (a, b) for line in node.log if "fenced itself" in line]
