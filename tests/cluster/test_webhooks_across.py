"""Webhooks on several nodes: every event delivered, each attempt made by one node.

Real node processes on one private PostgreSQL, relay_sim relays, and a real
loopback receiver (tests/e2e/receiver.py). Every node's sender knows every
pending delivery; only the node that claims an attempt makes it.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest
from cryptography.fernet import Fernet

from tests.cluster.conftest import Cluster
from tests.e2e.conftest import ADMIN_TOKEN, wait_any
from tests.e2e.hub_process import HubProcess
from tests.e2e.receiver import Call, serve_receiver

WEBHOOKS_TOML = """
[webhooks]
allow_private_targets = true
timeout_s = {timeout_s}
"""
AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def share_the_sealing_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every node opens the endpoint's signing secret with one key (the nodes
    inherit the test's environment)."""
    monkeypatch.setenv("RELAYHUB_WEBHOOK_KEY", Fernet.generate_key().decode())


async def add_endpoint(cluster: Cluster, node: HubProcess, url: str, events: list[str]) -> None:
    response = await cluster.client.post(
        node.base_url + "/api/v1/webhooks", json={"url": url, "events": events}, headers=AUTH
    )
    assert response.status_code == 201, response.text


async def deliveries(cluster: Cluster, node: HubProcess) -> list[dict[str, Any]]:
    response = await cluster.client.get(node.base_url + "/api/v1/webhooks/deliveries", headers=AUTH)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def settled(cluster: Cluster, node: HubProcess) -> dict[str, Any]:
    """The one delivery, once its outcome is recorded (after the receiver answered):
    read again, one round trip after another, until it is."""
    async with asyncio.timeout(10):
        while True:
            (delivery,) = await deliveries(cluster, node)
            if delivery["status"] != "pending":
                return delivery


async def none_pending(cluster: Cluster, node: HubProcess) -> None:
    """Return once no delivery is pending (read again, round trip after round trip)."""
    async with asyncio.timeout(10):
        while True:
            response = await cluster.client.get(
                node.base_url + "/api/v1/webhooks/deliveries?status=pending", headers=AUTH
            )
            if not response.json()["items"]:
                return


async def test_three_nodes_deliver_every_event_once_each_attempt_by_one_node(
    cluster: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    share_the_sealing_key(monkeypatch)
    cluster.extra_toml = WEBHOOKS_TOML.format(timeout_s=10)
    async with serve_receiver() as receiver:
        a = await cluster.start_node()
        phone_a = await cluster.pair(a, "phone-a")
        phone_b = await cluster.pair(a, "phone-b")
        await add_endpoint(cluster, a, receiver.url, ["message.sent", "message.delivered"])
        b = await cluster.start_node()
        c = await cluster.start_node()
        relays = [await cluster.relay_on(a, phone_a), await cluster.relay_on(b, phone_b)]

        sent = await asyncio.gather(
            *(cluster.send((a, b, c)[n % 3], f"hook {n}") for n in range(30))
        )
        await wait_any(relays, lambda: all(sum(r.sms_sent[m] for r in relays) for m in sent), 30)
        await receiver.wait_until(lambda: len(receiver.succeeded()) == 60, timeout=30)
        await none_pending(cluster, a)  # every outcome recorded after its answer
        rows = cluster.query(
            "SELECT d.status, d.attempt_count, count(a.n) FROM webhook_deliveries d"
            " LEFT JOIN webhook_attempts a ON a.delivery_id = d.id"
            " GROUP BY d.id, d.status, d.attempt_count"
        )
        calls = Counter(call.webhook_id for call in receiver.calls)

    assert sorted(calls.values()) == [1] * 60  # each event POSTed once, cluster-wide
    assert Counter(rows) == {("succeeded", 1, 1): 60}  # one attempt each, logged once
    kinds = Counter((c.event["type"], c.event["data"]["request_id"]) for c in receiver.calls)
    assert set(kinds) == {(t, m) for t in ("message.sent", "message.delivered") for m in sent}


async def test_an_attempt_whose_node_is_killed_mid_post_is_retried_by_another_node(
    cluster: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    share_the_sealing_key(monkeypatch)
    cluster.extra_toml = WEBHOOKS_TOML.format(timeout_s=2)  # a claim lasts 2 s + 2 s
    release = asyncio.Event()

    async def hang_the_first(call: Call) -> tuple[int, dict[str, str]]:
        if len(receiver.calls) == 1:
            await release.wait()  # the node making it dies meanwhile
        return 204, {}

    async with serve_receiver(answer=hang_the_first) as receiver:
        a = await cluster.start_node()
        device = await cluster.pair(a, "phone")
        await add_endpoint(cluster, a, receiver.url, ["device.online"])
        nodes = [a, await cluster.start_node(), await cluster.start_node()]
        await cluster.relay_on(a, device)  # its device.online is the event

        await receiver.wait_until(lambda: len(receiver.calls) == 1)
        ((claimer,),) = cluster.query("SELECT locked_by FROM webhook_deliveries")
        dying = next(n for n in nodes if cluster.node_id(n) == claimer)
        await dying.kill()
        await receiver.wait_until(lambda: len(receiver.calls) == 2 and receiver.calls[1].status)
        release.set()
        alive = next(n for n in nodes if n is not dying)
        delivery = await settled(cluster, alive)

    first, second = receiver.calls
    assert first.webhook_id == second.webhook_id  # the same event, so receivers can drop one
    assert second.status == 204
    assert (delivery["status"], delivery["attempt_count"]) == ("succeeded", 2)
    lost, retried = delivery["attempts"]
    assert (lost["n"], lost["status_code"]) == (1, None)
    assert claimer in lost["error"] and "outcome is unknown" in lost["error"]
    assert (retried["n"], retried["status_code"]) == (2, 204)


async def test_an_endpoint_made_on_one_node_is_served_by_another_started_before_it(
    cluster: Cluster,
) -> None:
    cluster.extra_toml = WEBHOOKS_TOML.format(timeout_s=10)
    async with serve_receiver() as receiver:
        b = await cluster.start_node()  # no endpoint exists yet when B starts
        phone = await cluster.pair(b, "phone")
        a = await cluster.start_node()
        await add_endpoint(cluster, a, receiver.url, ["message.sent"])
        await a.stop()  # only B is left to deliver
        relay = await cluster.relay_on(b, phone)

        sent = await cluster.send(b, "to a hook made elsewhere")
        await relay.wait_until(lambda: relay.sms_sent.get(sent) == 1)
        await receiver.wait_until(lambda: len(receiver.succeeded()) == 1, timeout=15)

    (event,) = receiver.events()
    assert event["type"] == "message.sent"
    assert sent in str(event["data"])
