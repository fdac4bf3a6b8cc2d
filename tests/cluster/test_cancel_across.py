"""Cancels across nodes: a list send cancelled on any node cancels what waits
in the shared queue (no node holds it) with a compare-and-set, as one node
cancels what it holds; no relay gets those messages afterwards."""

from __future__ import annotations

from relay_sim.relay import SimRelay
from tests.cluster.conftest import Cluster
from tests.cluster.control_helpers import api


async def test_a_list_send_queued_on_node_a_is_cancelled_on_node_b(cluster: Cluster) -> None:
    a = await cluster.start_node()
    b = await cluster.start_node()
    device = await cluster.pair(a, "later-phone")
    members = []
    for n in range(5):
        made = await api(
            cluster, "POST", a, "/recipients", json={"phone": f"+99890100000{n}", "name": f"R{n}"}
        )
        assert made.status_code == 201, made.text
        members.append(made.json()["id"])
    listed = await api(
        cluster, "POST", a, "/recipient-lists", json={"name": "Clients", "recipient_ids": members}
    )
    queued = await api(
        cluster,
        "POST",
        a,
        "/recipient-lists/queue",
        json={"list_id": listed.json()["id"], "text": "Hi {name}"},
    )
    assert queued.status_code == 202, queued.text
    batch_id = queued.json()["batch_id"]
    # No relay is online: A kept none of them; they wait unowned for any node.
    shared = cluster.query(
        "SELECT count(*) FROM messages WHERE batch_id = %s AND owner_node IS NULL", batch_id
    )
    assert shared == [(5,)]

    cancelled = await api(cluster, "POST", b, f"/batches/{batch_id}/cancel", json={})

    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["cancelled"] == 5
    states = cluster.query("SELECT DISTINCT state FROM messages WHERE batch_id = %s", batch_id)
    assert states == [("cancelled",)]
    relay: SimRelay = await cluster.relay_on(a, device)
    after = await cluster.send(a, "after the cancel")
    await relay.wait_until(lambda: relay.sms_sent[after] == 1)
    assert [job.text for job in relay.jobs_received] == ["after the cancel"]
