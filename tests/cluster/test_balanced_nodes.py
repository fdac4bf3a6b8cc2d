"""Three real nodes behind Debian's haproxy, run with deploy/haproxy.cfg.

Relays and clients know only the balancer's address: relay sockets land on
different nodes, sends on any node, and every send reaches a relay once.
"""

from __future__ import annotations

import asyncio

import pytest

from tests.cluster import balancer
from tests.cluster.conftest import Cluster
from tests.e2e.conftest import delivered_ids, wait_any


@pytest.mark.usefixtures("haproxy")
async def test_three_nodes_behind_haproxy_deliver_every_send_once(cluster: Cluster) -> None:
    first = await cluster.start_node()
    # Paired through the first node; any node would do (devices are read fresh).
    phones = [await cluster.pair(first, f"phone-{n}") for n in range(3)]
    await cluster.start_node()
    await cluster.start_node()
    front = balancer.Balancer(cluster.nodes)
    await front.start()
    try:
        relays = [await cluster.relay_on(front.base_url, phone) for phone in phones]
        answers = await asyncio.gather(
            *(cluster.send_answer(front.base_url, f"via lb {n}") for n in range(90))
        )
        sent = [answer.json()["request_id"] for answer in answers]
        await wait_any(
            relays,
            lambda: (
                set(sent) <= set().union(*(delivered_ids(r) for r in relays))
                and all(r.outbox_size == 0 for r in relays)
            ),
            timeout=60,
        )

        handed = sorted(m for r in relays for m, n in r.sms_sent.items() for _ in range(n))
        assert handed == sorted(sent)  # every send once, cluster-wide
        # Round robin put the three sockets on three nodes, and sends on all three.
        holders = cluster.query("SELECT DISTINCT node_id FROM relay_sessions")
        assert len(holders) == 3
        assert {a.headers["X-Relayhub-Node"] for a in answers} == {"node1", "node2", "node3"}
        statuses = [(await cluster.status(front.base_url, m))["status"] for m in sent[:9]]
        assert statuses == ["delivered"] * 9  # whichever node answers
    finally:
        await front.stop()
