"""Cancels across nodes: a list send or one message cancelled on any node
cancels what waits in the shared queue (no node holds it) with a
compare-and-set, as one node cancels what it holds; no relay gets those
messages afterwards. A message another node owns is cancelled by that node
(asked with a control message): its relay gets the ``cancel`` frame."""

from __future__ import annotations

from protocol import frames as f
from relay_sim.relay import SimRelay
from tests.cluster.conftest import Cluster, stored
from tests.cluster.control_helpers import api, socket_at
from tests.e2e import raw_relay
from tests.e2e.hub_process import HubProcess


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


# --- POST /v1/messages/{id}/cancel on a node that does not own the message -------


async def _owned_by(cluster: Cluster, request_id: str, node: HubProcess, state: str) -> None:
    """Wait until the stored message is ``state`` and owned by ``node``."""
    node_id = cluster.node_id(node)
    sql = "SELECT owner_node, state FROM messages WHERE id = %s"
    await stored(
        lambda: cluster.query(sql, request_id) == [(node_id, state)],
        f"{request_id} {state} on {node_id}",
    )


async def test_a_job_dispatched_by_node_b_is_cancelled_on_node_a_and_b_s_relay_is_told(
    cluster: Cluster,
) -> None:
    a = await cluster.start_node()
    b = await cluster.start_node()
    device = await cluster.pair(a, "phone-on-b")
    ws = await socket_at(b, device.device_token)
    request_id = await cluster.send(a, "dispatched through node B")
    assert (await raw_relay.next_job(ws)).id == request_id
    await _owned_by(cluster, request_id, b, "dispatched")

    answer = await api(cluster, "POST", a, f"/messages/{request_id}/cancel", json={})
    told = await raw_relay.next_frame(ws)
    again = await api(cluster, "POST", a, f"/messages/{request_id}/cancel", json={})

    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "cancelled"
    assert told == f.Cancel(id=request_id)
    assert again.status_code == 409
    assert again.json()["message_status"] == "cancelled"
    assert (await cluster.status(a, request_id))["status"] == "cancelled"
    await ws.close()


async def test_a_job_accepted_on_node_b_is_cancelling_until_b_s_relay_reports_it_cancelled(
    cluster: Cluster,
) -> None:
    a = await cluster.start_node()
    b = await cluster.start_node()
    device = await cluster.pair(a, "holding-phone")
    ws = await socket_at(b, device.device_token)
    request_id = await cluster.send(b, "accepted on node B")
    assert (await raw_relay.next_job(ws)).id == request_id
    await ws.send(f.encode(f.Accepted(id=request_id)).decode())
    await _owned_by(cluster, request_id, b, "accepted")

    answer = await api(cluster, "POST", a, f"/messages/{request_id}/cancel", json={})
    told = await raw_relay.next_frame(ws)
    dropped = f.Failed(seq=1, id=request_id, at=raw_relay.now(), code="cancelled",
                       message="cancelled before it was sent", retryable=False)  # fmt: skip
    await ws.send(f.encode(dropped).decode())
    receipt = await raw_relay.next_frame(ws)

    assert answer.status_code == 202, answer.text
    assert answer.json()["status"] == "cancelling"
    assert told == f.Cancel(id=request_id)
    assert isinstance(receipt, f.Receipt)
    assert (await cluster.status(a, request_id))["status"] == "cancelled"
    await ws.close()


async def test_a_message_waiting_unowned_is_cancelled_on_any_node(cluster: Cluster) -> None:
    a = await cluster.start_node()
    b = await cluster.start_node()
    device = await cluster.pair(a, "phone-later")
    request_id = await cluster.send(a, "nobody holds me")
    assert cluster.query("SELECT owner_node FROM messages WHERE id = %s", request_id) == [(None,)]

    answer = await api(cluster, "POST", b, f"/messages/{request_id}/cancel", json={})
    relay = await cluster.relay_on(a, device)
    after = await cluster.send(a, "after the cancel")
    await relay.wait_until(lambda: relay.sms_sent[after] == 1)

    assert answer.status_code == 200, answer.text
    assert cluster.query("SELECT state FROM messages WHERE id = %s", request_id) == [("cancelled",)]
    assert [job.id for job in relay.jobs_received] == [after]
