"""A zombie node: stopped (SIGSTOP) past its lease while its relay holds jobs and
sends keep coming, reaped by another node, then let go on (SIGCONT).

It must dispatch nothing under its old identity (its relay receives no job on
the old socket and the database shows no message it took after the reap),
close its relay's socket, and serve again as a new node: the relay comes back
to it and every message ends delivered once.
"""

from __future__ import annotations

import asyncio
import signal

from protocol.close_codes import CloseCode
from relay_sim.relay import SimRelay
from tests.cluster.conftest import Cluster
from tests.e2e.conftest import delivered_ids
from tests.e2e.hub_process import HubProcess

LEASE_S = 2.0
ZOMBIE_CLUSTER = f"lease_s = {LEASE_S}\nrenew_every_s = 0.5\nreap_every_s = 0.25"
ZOMBIE_RELAY = "requeue_grace_s = 60.0"


def signal_node(node: HubProcess, sig: signal.Signals) -> None:
    assert node.process is not None
    node.process.send_signal(sig)


async def all_delivered(relay: SimRelay, ids: list[str]) -> None:
    await relay.wait_until(
        lambda: set(ids) <= delivered_ids(relay) and relay.outbox_size == 0, timeout=30
    )


async def test_a_zombie_dispatches_nothing_after_its_reap_and_serves_again_as_a_new_node(
    cluster: Cluster,
) -> None:
    cluster.cluster_extra, cluster.relay_extra = ZOMBIE_CLUSTER, ZOMBIE_RELAY
    zombie = await cluster.start_node()
    phone = await cluster.pair(zombie, "phone-on-zombie")
    reaper = await cluster.start_node()
    relay = await cluster.relay_on(zombie, phone)
    old_id = cluster.node_id(zombie)
    before = [await cluster.send(reaper, f"before {n}") for n in range(2)]
    await all_delivered(relay, before)

    in_flight = await asyncio.gather(*(cluster.send(reaper, f"in flight {n}") for n in range(3)))
    signal_node(zombie, signal.SIGSTOP)
    try:
        during = [await cluster.send(reaper, f"during {n}") for n in range(5)]
        async with asyncio.timeout(LEASE_S + 5):
            await reaper.wait_log(f"reaped node {old_id}")
        jobs_at_reap = len(relay.jobs_received)
    finally:
        signal_node(zombie, signal.SIGCONT)

    # It fences itself: the socket it held is closed, with nothing sent on it since.
    await relay.wait_until(lambda: len(relay.close_codes) >= 1, timeout=10)
    assert len(relay.jobs_received) == jobs_at_reap
    assert relay.close_codes[0] == CloseCode.INTERNAL
    async with asyncio.timeout(10):
        line = await zombie.wait_log(f"node {old_id} fenced itself")
    new_id = line.split("serves again as node ", 1)[1].split()[0]
    assert new_id != old_id

    everything = [*before, *in_flight, *during]
    await all_delivered(relay, everything)
    assert {m: relay.sms_sent[m] for m in everything} == dict.fromkeys(everything, 1)
    # Nothing the zombie decided after the reap was committed under its old id;
    # what came during the stop was taken by the node it became.
    owners = dict(cluster.query("SELECT id, owner_node FROM messages WHERE id = ANY(%s)", during))
    assert set(owners.values()) == {new_id}, owners
    assert cluster.query("SELECT id FROM hub_nodes WHERE id = %s", old_id) == []
    assert cluster.query(
        "SELECT node_id FROM relay_sessions WHERE device_id = %s", phone.device_id
    ) == [(new_id,)]
