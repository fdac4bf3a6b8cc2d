"""Accounts, devices and tokens made or changed on one node work on every node
at once: no node needs a restart, and no test pairs before starting nodes."""

from __future__ import annotations

from relay_sim.pairing import pair_device
from tests.cluster.conftest import Cluster
from tests.cluster.control_helpers import api
from tests.e2e.conftest import ADMIN_TOKEN


async def test_an_account_device_and_token_made_on_node_a_work_on_node_b_at_once(
    cluster: Cluster,
) -> None:
    a = await cluster.start_node()
    b = await cluster.start_node()  # started before any of them exist

    made = await api(cluster, "POST", a, "/admin/accounts", json={"name": "Newcomer"})
    assert made.status_code == 201, made.text
    owner = made.json()["token"]
    device = await pair_device(cluster.client, a.base_url, owner, "newcomer-phone")
    relay = await cluster.relay_on(b, device)  # its hello on B

    sent = await api(
        cluster, "POST", b, "/sms/send", owner, json={"to": "+998901234567", "text": "Salom"}
    )
    assert sent.status_code == 202, sent.text
    request_id = sent.json()["request_id"]
    await relay.wait_until(lambda: relay.sms_sent[request_id] == 1)
    listed = await api(cluster, "GET", b, "/devices", owner)
    assert [d["id"] for d in listed.json()["items"]] == [device.device_id]


async def test_an_account_paused_on_node_a_is_refused_on_node_b_in_the_next_send(
    cluster: Cluster,
) -> None:
    a = await cluster.start_node()
    b = await cluster.start_node()
    made = await api(cluster, "POST", a, "/admin/accounts", json={"name": "Paused soon"})
    account_id, owner = made.json()["account_id"], made.json()["token"]
    await pair_device(cluster.client, a.base_url, owner, "idle-phone")
    message = {"to": "+998901234567", "text": "before"}
    assert (await api(cluster, "POST", b, "/sms/send", owner, json=message)).status_code == 202

    paused = await api(cluster, "PATCH", a, f"/admin/accounts/{account_id}", json={"paused": True})
    assert paused.status_code == 200, paused.text

    refused = await api(cluster, "POST", b, "/sms/send", owner, json=message)
    assert refused.status_code == 409
    assert refused.json()["code"] == "queue_blocked"
    # And an operator on B sees the account as A left it.
    resumed = await api(
        cluster, "PATCH", b, f"/admin/accounts/{account_id}", ADMIN_TOKEN, json={"paused": False}
    )
    assert resumed.status_code == 200, resumed.text
    assert resumed.json()["paused"] is False
