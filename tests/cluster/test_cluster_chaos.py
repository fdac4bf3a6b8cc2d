"""Cluster chaos: a random node SIGKILLed again and again under load, then restarted.

Three real nodes on one private PostgreSQL behind haproxy (deploy/haproxy.cfg);
six relay_sim relays with the hostile profile and every client reach the
nodes only through haproxy; a webhook receiver on loopback hears every
terminal event. Each cycle: clients send, a random node is SIGKILLed
mid-stream while the others keep accepting, then it starts again (as a new
node: a new id, a new lease). Afterwards, as the one-node soak asks
(tests/chaos_checks.py):

- every message that got a 202 reached a terminal state (storage);
- no SMS went to a carrier twice (the relays' carrier logs);
- none was dispatched again after a relay accepted it, to that relay or
  another (storage's history: states and devices, in the order written);
- every terminal state reached the webhook receiver, once per message and type.

``make chaos-cluster`` runs 30 cycles (``RELAYHUB_CHAOS_CYCLES``); ``make test``
runs 3.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
from collections import Counter

import httpx
import pytest

from relay_sim.pairing import PairedDevice
from relay_sim.relay import SimRelay
from tests import chaos_checks as checks
from tests.cluster import balancer
from tests.cluster.conftest import Cluster
from tests.cluster.nodes import start_node
from tests.e2e.announced import AnnouncedEvents
from tests.e2e.conftest import send_until, sent_ids, wait_any
from tests.e2e.hub_process import HubProcess
from tests.e2e.raw_relay import ws_url
from tests.e2e.receiver import Receiver, serve_receiver

CYCLES = int(os.environ.get("RELAYHUB_CHAOS_CYCLES", "3"))
SENDS_PER_CYCLE = int(os.environ.get("RELAYHUB_CHAOS_SENDS", "60"))
SEED = int(os.environ.get("RELAYHUB_CHAOS_SEED", "20261207"))
RELAYS = 6
CLIENTS = 6
SETTLE_S = 90.0  # after the last cycle, for every acknowledged message to end
# haproxy answers 502 for a request whose node died under it, 503 while no node is up.
BALANCER_REFUSALS = frozenset({502, 503})

NODE_TOML = """
[cluster]
enabled = true
lease_s = 2.0
renew_every_s = 0.5
[sms]
max_attempts = 1000
[relay]
ack_timeout_s = 5
requeue_grace_s = 2.0
[webhooks]
allow_private_targets = true
retry_schedule_s = [0, 1, 1, 1, 1, 1, 1, 1, 1, 1]
"""


@pytest.mark.usefixtures("haproxy")
@pytest.mark.timeout(SETTLE_S + 60 + 30 * CYCLES)  # start-up, the settling, and each cycle
async def test_sigkill_of_random_nodes_under_load_loses_and_duplicates_nothing(
    cluster: Cluster,
) -> None:
    rng = random.Random(SEED)
    acknowledged: set[str] = set()
    killed: list[str] = []  # node ids, in kill order
    async with serve_receiver() as receiver:
        announced = AnnouncedEvents(receiver, checks.TERMINAL_EVENTS)
        first = await start_node(cluster, NODE_TOML)
        answer = await cluster.client.post(
            f"{first.base_url}/api/v1/webhooks",
            json={"url": receiver.url, "events": sorted(checks.TERMINAL_EVENTS)},
            headers=_admin(first),
        )
        assert answer.status_code == 201, answer.text
        # Nodes read devices at start: every phone is paired before the others start.
        phones = [await cluster.pair(first, f"Relay {n}") for n in range(RELAYS)]
        for _ in range(balancer.SERVERS - 1):
            await start_node(cluster, NODE_TOML)
        front = balancer.Balancer(cluster.nodes)
        await front.start()
        try:
            relays = [await _relay(cluster, front, phone, n) for n, phone in enumerate(phones)]
            for cycle in range(CYCLES):
                victim = rng.choice(cluster.nodes)
                killed.append(current_node_id(victim))
                acknowledged |= await _load_and_kill(cluster.client, front, victim, relays, cycle)
                await victim.start()  # same port, so haproxy finds it; a new node id
            settled = await _settle(receiver, announced, relays, acknowledged)
            rows = cluster.query("SELECT id, state, owner_node FROM messages")
            history = cluster.query(
                "SELECT message_id, state, device_id FROM message_events ORDER BY seq"
            )  # seq: the order the events were written
            causes = [c for (c,) in cluster.query("SELECT cause FROM message_events ORDER BY seq")]
        finally:
            await front.stop()

    states = {i: s for i, s, _ in rows}
    owners = {i: o for i, _, o in rows}
    lost = {i for i in acknowledged if states.get(i) not in checks.TERMINAL_STATES}
    sent_twice = {i: n for i, n in Counter(sent_ids(relays)).items() if n > 1}
    redispatched = checks.dispatched_after_acceptance([(m, s) for m, s, _ in history])
    handed_on = checks.handed_to_another_relay_after_acceptance(history)
    events = announced.update().per_type
    missing_events = acknowledged - announced.terminal_ids
    twice_announced = {key: n for key, n in events.items() if n > 1}
    print(
        f"\ncluster chaos: {CYCLES} SIGKILL cycles, {RELAYS} relays, {len(cluster.nodes)} nodes;"
        f" {len(acknowledged)} acknowledged, {len(lost)} lost, {len(sent_twice)} sent twice,"
        f" {len(redispatched)} re-dispatched after acceptance ({len(handed_on)} to another"
        f" relay), {len(missing_events)} events missing, settled: {settled}"
    )
    # How the lost ones are stuck: their state, and whether a killed node owns them.
    stuck = Counter((states.get(i), _owner_kind(owners.get(i), killed)) for i in lost)
    print(f"lost by (state, owner): {dict(stuck)}")
    print(f"events missing by state: {dict(Counter(states.get(i) for i in missing_events))}")
    for message_id in {*sent_twice, *redispatched}:  # to understand a failure
        holders = [r.name for r in relays if message_id in {j.id for j in r.jobs_received}]
        print(
            f"{message_id}: handed to {holders}; history (state, device, cause):",
            [(*h[1:], c) for h, c in zip(history, causes, strict=True) if h[0] == message_id],
        )
    assert len(acknowledged) >= CYCLES * SENDS_PER_CYCLE
    assert lost == set()
    assert sent_twice == {}
    assert redispatched == set()
    assert handed_on == set()
    assert missing_events == set()
    assert twice_announced == {}


def _admin(node: HubProcess) -> dict[str, str]:
    return {"Authorization": f"Bearer {node.admin_token}"}


def current_node_id(node: HubProcess) -> str:
    """The id the node's current run logged (a restart logs a new one after the old)."""
    marker = "cluster node "
    ids = [line.split(marker, 1)[1].split()[0] for line in node.log if marker in line]
    assert ids, f"node on port {node.port} logged no cluster id"
    return ids[-1]


def _owner_kind(owner: str | None, killed: list[str]) -> str:
    if owner is None:
        return "shared queue"
    return "a killed node" if owner in killed else "a live node"


async def _relay(
    cluster: Cluster, front: balancer.Balancer, phone: PairedDevice, n: int
) -> SimRelay:
    """A hostile relay whose socket goes through haproxy."""
    at_front = PairedDevice(phone.device_id, phone.device_token, ws_url(front.base_url), phone.name)
    relay = SimRelay(at_front, checks.HOSTILE, seed=SEED + n, parts_per_minute=10_000)
    cluster.relays.append(relay)
    await relay.start()
    await relay.wait_welcomed()
    return relay


async def _load_and_kill(
    client: httpx.AsyncClient,
    front: balancer.Balancer,
    victim: HubProcess,
    relays: list[SimRelay],
    cycle: int,
) -> set[str]:
    """Send through haproxy; SIGKILL ``victim`` halfway through the cycle's sends, go on
    until the others have accepted the rest; return the ids that got a 202."""
    accepted: list[str] = []
    stop = asyncio.Event()
    url = f"{front.base_url}/api/v1/sms/send"
    senders = [
        asyncio.create_task(
            send_until(stop, client, url, accepted, f"cluster c{cycle}s{n}", BALANCER_REFUSALS)
        )
        for n in range(CLIENTS)
    ]
    try:
        await wait_any(relays, lambda: len(accepted) >= SENDS_PER_CYCLE // 2, timeout=60)
        await victim.kill()
        await wait_any(relays, lambda: len(accepted) >= SENDS_PER_CYCLE, timeout=60)
    finally:
        stop.set()
        await asyncio.gather(*senders)
    return set(accepted)


async def _settle(
    receiver: Receiver, announced: AnnouncedEvents, relays: list[SimRelay], acknowledged: set[str]
) -> str:
    """Wait for every acknowledged message's terminal event and for the relays'
    outboxes to empty; say what did not happen in time rather than fail here, so
    the checks after it tell what was lost."""
    try:
        await receiver.wait_until(
            lambda: acknowledged <= announced.update().terminal_ids, timeout=SETTLE_S
        )
    except TimeoutError:
        return f"not every terminal event came within {SETTLE_S:g} s"
    with contextlib.suppress(TimeoutError):
        await wait_any(relays, lambda: all(r.outbox_size == 0 for r in relays), timeout=30)
        return "yes"
    return "events came, but a relay's outbox did not empty within 30 s"
