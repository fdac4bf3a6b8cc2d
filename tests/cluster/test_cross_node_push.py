"""Cross-node push: a send accepted by one node reaches a relay held by another.

Two (or three) real node processes share one PostgreSQL; relays are relay_sim
relays over real sockets. Status is read on the node that took the send,
which holds no copy of the message: what it answers is the database's.
"""

from __future__ import annotations

import asyncio

from relay_sim.relay import SimRelay
from tests.cluster.conftest import Cluster
from tests.e2e.conftest import delivered_ids, wait_any


async def test_a_send_on_node_a_is_delivered_by_the_relay_on_node_b(cluster: Cluster) -> None:
    a = await cluster.start_node()
    device = await cluster.pair(a, "phone-on-b")
    b = await cluster.start_node()
    relay = await cluster.relay_on(b, device)

    first = await cluster.send(a)
    await relay.wait_until(lambda: relay.sms_sent[first] == 1)
    # B's session is committed by now (its claim, by hello or notification, came
    # after it), so each of these can reach B only through A's notification.
    more = [await cluster.send(a, f"Salom {n}") for n in range(20)]
    await all_receipted(relay, [first, *more])

    assert {m: relay.sms_sent[m] for m in [first, *more]} == dict.fromkeys([first, *more], 1)
    for request_id in [first, *more]:
        assert (await cluster.status(a, request_id))["status"] == "delivered"
    owners = cluster.query(
        "SELECT DISTINCT owner_node FROM messages WHERE id = ANY(%s)", [first, *more]
    )
    assert owners == [(cluster.node_id(b),)]  # claimed by B, the relay's node


async def test_a_node_claims_more_as_its_relay_reports_when_sends_outnumber_its_room(
    cluster: Cluster,
) -> None:
    cluster.max_inflight = 2
    a = await cluster.start_node()
    device = await cluster.pair(a, "small-phone")
    b = await cluster.start_node()
    relay = await cluster.relay_on(b, device)

    sent = await asyncio.gather(*(cluster.send(a, f"burst {n}") for n in range(40)))
    await all_receipted(relay, sent, timeout=30)

    assert sorted(relay.sms_sent.values()) == [1] * 40
    # B could take 2 at a time: it claimed again as each report freed a slot.
    assert relay.welcome is not None and relay.welcome.max_inflight == 2
    assert {(await cluster.status(a, m))["status"] for m in sent} == {"delivered"}


async def test_relays_on_two_nodes_share_sends_through_both_and_none_goes_twice(
    cluster: Cluster,
) -> None:
    a = await cluster.start_node()
    phone_a = await cluster.pair(a, "phone-a")
    phone_b = await cluster.pair(a, "phone-b")
    b = await cluster.start_node()
    relays = [await cluster.relay_on(a, phone_a), await cluster.relay_on(b, phone_b)]

    sent = await asyncio.gather(*(cluster.send(a if n % 2 else b, f"both {n}") for n in range(200)))
    everything = set(sent)
    await wait_any(
        relays,
        lambda: everything <= {m for r in relays for m in r.sms_sent},
        timeout=60,
    )

    handed = [m for r in relays for m, n in r.sms_sent.items() for _ in range(n)]
    assert sorted(handed) == sorted(sent)  # each exactly once, cluster-wide
    assert all(r.sms_sent for r in relays)  # and both nodes' relays took part
    dispatches = cluster.query(
        "SELECT message_id, count(*) FROM message_events WHERE state = 'dispatched'"
        " GROUP BY message_id HAVING count(*) > 1"
    )
    assert dispatches == []


async def all_receipted(relay: SimRelay, ids: list[str], timeout: float = 10) -> None:  # noqa: ASYNC109
    """Return once the relay reported each delivered and the hub receipted every
    report: a receipt goes out only after the report's commit, so storage says
    delivered from then on, on every node."""
    await relay.wait_until(
        lambda: set(ids) <= delivered_ids(relay) and relay.outbox_size == 0, timeout
    )
