"""A node is SIGKILLed while its relays hold jobs: they come back through haproxy
to another node and every job ends once, on the phone that had it.

Three real nodes behind Debian's haproxy (deploy/haproxy.cfg), one private
PostgreSQL, relay_sim phones. One phone had accepted its jobs (it sends them a
few seconds later), the other had been handed jobs it had not answered yet.
"""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from protocol.relay_session import JobStatus
from relay_sim.pairing import PairedDevice
from relay_sim.profiles import Profile
from relay_sim.relay import SimRelay
from tests.cluster import balancer
from tests.cluster.conftest import Cluster, stored
from tests.cluster.death_timing import kill_and_time
from tests.e2e.conftest import ADMIN_TOKEN, delivered_ids, wait_any
from tests.e2e.hub_process import HubProcess

LEASE_S = 3.0
# A short lease so death is seen in seconds; a grace longer than the test, so a
# job waits for its phone instead of going back to the queue.
DEATH_CLUSTER = f"lease_s = {LEASE_S}\nrenew_every_s = 0.5\nreap_every_s = 0.25"
DEATH_RELAY = "requeue_grace_s = 60.0"
# Accepts at once, hands the SMS to the carrier 4 s later.
SLOW_SENDER = Profile("slow-sender", send_latency_s=(4, 4))
# Answers a job only 10 s after it first arrived.
SLOW_ACKER = Profile("slow-acker", ack_delay_s=(10, 10))


async def send_to(cluster: Cluster, node: HubProcess, device_id: str, text: str) -> str:
    response = await cluster.client.post(
        node.base_url + "/api/v1/sms/send",
        json={"to": "+998901234567", "text": text, "device_id": device_id},
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
    )
    assert response.status_code == 202, response.text
    request_id: str = response.json()["request_id"]
    return request_id


def holder(cluster: Cluster, device_id: str) -> str | None:
    rows = cluster.query("SELECT node_id FROM relay_sessions WHERE device_id = %s", device_id)
    return rows[0][0] if rows else None


def states_are(cluster: Cluster, ids: list[str], state: str) -> bool:
    rows = cluster.query("SELECT state FROM messages WHERE id = ANY(%s)", ids)
    return len(rows) == len(ids) and {r[0] for r in rows} == {state}


async def relay_held_by(
    cluster: Cluster, front: str, device: PairedDevice, node_id: str | None, profile: Profile
) -> SimRelay:
    """A relay through the balancer whose socket lands on ``node_id`` (any if None):
    round robin moves each new connection to the next node."""
    for _ in range(balancer.SERVERS + 1):
        relay = await cluster.relay_on(front, device, profile=profile)
        await stored(lambda: holder(cluster, device.device_id) is not None, "a live session")
        if node_id is None or holder(cluster, device.device_id) == node_id:
            return relay
        await relay.stop()
        cluster.relays.remove(relay)
        # Its node deletes the session a moment after the socket ends: do not read
        # that stale row as the next socket's.
        with psycopg.connect(cluster.database, autocommit=True) as conn:
            conn.execute("DELETE FROM relay_sessions WHERE device_id = %s", (device.device_id,))
    raise AssertionError(f"no socket of {device.name} landed on {node_id}")


def events_of(cluster: Cluster, ids: list[str]) -> list[tuple[Any, ...]]:
    return cluster.query(
        "SELECT message_id, state, device_id FROM message_events"
        " WHERE message_id = ANY(%s) ORDER BY seq",
        ids,
    )


@pytest.mark.usefixtures("haproxy")
async def test_a_killed_nodes_relays_rehome_and_every_job_ends_once_on_its_phone(
    cluster: Cluster,
) -> None:
    cluster.cluster_extra, cluster.relay_extra = DEATH_CLUSTER, DEATH_RELAY
    first = await cluster.start_node()
    sender_phone = await cluster.pair(first, "slow-sender")
    acker_phone = await cluster.pair(first, "slow-acker")
    await cluster.start_node()
    await cluster.start_node()
    front = balancer.Balancer(cluster.nodes)
    await front.start()
    try:
        sender = await relay_held_by(cluster, front.base_url, sender_phone, None, SLOW_SENDER)
        victim_id = holder(cluster, sender_phone.device_id)
        assert victim_id is not None
        acker = await relay_held_by(cluster, front.base_url, acker_phone, victim_id, SLOW_ACKER)
        victim = next(n for n in cluster.nodes if cluster.node_id(n) == victim_id)
        survivors = [n for n in cluster.nodes if n is not victim]

        # Sent through a survivor: the victim claims them for its phones.
        accepted = [await send_to(cluster, survivors[0], sender_phone.device_id, f"a{n}")
                    for n in range(3)]  # fmt: skip
        dispatched = [await send_to(cluster, survivors[0], acker_phone.device_id, f"d{n}")
                      for n in range(3)]  # fmt: skip
        await wait_any(
            [sender, acker],
            lambda: (
                {m for m, j in sender.ledger.jobs.items() if j.status is JobStatus.ACCEPTED}
                >= set(accepted)
                and {j.id for j in acker.jobs_received} >= set(dispatched)
            ),
        )
        await stored(lambda: states_are(cluster, accepted, "accepted"), "all accepted")
        assert states_are(cluster, dispatched, "dispatched")

        timing = await kill_and_time(victim, victim_id, survivors, [sender, acker])

        # Back on another node within the phone's reconnect backoff + 2 s; seen dead
        # within lease + 1 s.
        assert timing.rehome_s <= 2.0 + 2.0, timing
        assert timing.node_death_detect_s <= LEASE_S + 1.0, timing
        assert holder(cluster, sender_phone.device_id) not in (None, victim_id)
        assert holder(cluster, acker_phone.device_id) not in (None, victim_id)

        everything = accepted + dispatched
        await wait_any(
            [sender, acker],
            lambda: (
                set(everything) <= delivered_ids(sender) | delivered_ids(acker)
                and sender.outbox_size == 0
                and acker.outbox_size == 0
            ),
            timeout=40,
        )
        # Each SMS went out once, on the phone it was first handed to.
        assert {m: sender.sms_sent[m] for m in accepted} == dict.fromkeys(accepted, 1)
        assert {m: acker.sms_sent[m] for m in dispatched} == dict.fromkeys(dispatched, 1)
        assert not set(sender.sms_sent) & set(dispatched)
        assert not set(acker.sms_sent) & set(accepted)
        # The dispatched ones were offered again by the new node with the same attempt.
        for message_id in dispatched:
            attempts = [j.attempt for j in acker.jobs_received if j.id == message_id]
            assert attempts == [1, 1], (message_id, attempts)
        # One dispatch each in the history: none handed to a second relay.
        handed = [(m, d) for m, s, d in events_of(cluster, everything) if s == "dispatched"]
        assert sorted(handed) == sorted(
            [(m, sender_phone.device_id) for m in accepted]
            + [(m, acker_phone.device_id) for m in dispatched]
        )
        statuses = [(await cluster.status(survivors[1], m))["status"] for m in everything]
        assert statuses == ["delivered"] * len(everything)
        assert cluster.query("SELECT id FROM hub_nodes WHERE id = %s", victim_id) == []
    finally:
        await front.stop()


async def test_unanswered_jobs_of_a_dead_node_go_elsewhere_after_the_grace_accepted_ones_never(
    cluster: Cluster,
) -> None:
    cluster.max_inflight = 2
    cluster.cluster_extra = DEATH_CLUSTER
    cluster.relay_extra = "requeue_grace_s = 1.0"
    doomed = await cluster.start_node()
    accepter_phone = await cluster.pair(doomed, "accepter")
    silent_phone = await cluster.pair(doomed, "silent")
    other_phone = await cluster.pair(doomed, "other")
    survivor = await cluster.start_node()
    # Straight to the doomed node: once it dies, these two phones reach no node.
    accepter = await cluster.relay_on(doomed, accepter_phone, profile=SLOW_SENDER)
    accepted = [await cluster.send(survivor, f"a{n}") for n in range(2)]
    await stored(
        lambda: states_are(cluster, accepted, "accepted"), "all accepted"
    )  # the accepter is full
    silent = await cluster.relay_on(doomed, silent_phone, profile=SLOW_ACKER)
    dispatched = [await cluster.send(survivor, f"d{n}") for n in range(2)]
    await silent.wait_until(lambda: {j.id for j in silent.jobs_received} >= set(dispatched))
    other = await cluster.relay_on(survivor, other_phone)
    doomed_id = cluster.node_id(doomed)

    await doomed.kill()

    # After the reap and the grace, the survivor requeues the unanswered jobs,
    # and the only phone online takes them as a new attempt.
    await other.wait_until(lambda: set(dispatched) <= delivered_ids(other), timeout=30)
    assert {j.id: j.attempt for j in other.jobs_received} == dict.fromkeys(dispatched, 2)
    # The accepted ones wait for their phone: never offered to another.
    assert not {j.id for j in other.jobs_received} & set(accepted)
    rows = cluster.query("SELECT state, owner_node FROM messages WHERE id = ANY(%s)", accepted)
    assert rows == [("accepted", doomed_id)] * 2
    assert cluster.query("SELECT id FROM reaped_nodes") == [(doomed_id,)]
    assert accepter.running  # still trying to reach its node
