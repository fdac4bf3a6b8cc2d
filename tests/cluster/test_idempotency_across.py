"""One Idempotency-Key raced on two real nodes makes one message.

The request that wins the key's row sends; one that finds the row while the
winner is still being handled answers 409 ``idempotency_conflict`` (as a second
request on one node does), one that finds it answered replays that answer.
"""

from __future__ import annotations

import asyncio

import httpx

from tests.cluster.conftest import Cluster
from tests.e2e.conftest import ADMIN_TOKEN
from tests.e2e.hub_process import HubProcess

BODY = {"to": "+998901234567", "text": "once only"}


async def _send(
    cluster: Cluster, node: HubProcess, key: str, body: dict[str, str] = BODY
) -> httpx.Response:
    return await cluster.client.post(
        node.base_url + "/api/v1/sms/send",
        json=body,
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}", "Idempotency-Key": key},
    )


async def test_the_same_key_raced_on_two_nodes_makes_one_message_and_one_answer(
    cluster: Cluster,
) -> None:
    a = await cluster.start_node()
    await cluster.pair(a, "phone")
    b = await cluster.start_node()

    for round_ in range(5):  # several races: the winner's node varies
        key = f"order-{round_}"
        answers = await asyncio.gather(*(_send(cluster, node, key) for node in (a, b, a, b)))

        ids = {r.json()["request_id"] for r in answers if r.status_code == 202}
        assert len(ids) == 1, [r.text for r in answers]  # every 202 names the one message
        others = [r for r in answers if r.status_code != 202]
        assert all(r.status_code == 409 for r in others), [r.text for r in others]
        assert {r.json()["code"] for r in others} <= {"idempotency_conflict"}
        stored = cluster.query("SELECT id FROM messages WHERE text = %s", BODY["text"])
        assert len(stored) == round_ + 1 and (ids.pop(),) in stored
        # Asked again afterwards, each node gives the same stored answer.
        first, second = await _send(cluster, a, key), await _send(cluster, b, key)
        assert first.status_code == second.status_code == 202
        assert (
            first.headers["Idempotent-Replayed"] == second.headers["Idempotent-Replayed"] == "true"
        )
        assert first.json() == second.json()


async def test_a_key_used_on_one_node_with_another_body_is_refused_on_the_other(
    cluster: Cluster,
) -> None:
    a = await cluster.start_node()
    await cluster.pair(a, "phone")
    b = await cluster.start_node()

    assert (await _send(cluster, a, "reused")).status_code == 202
    other = await _send(cluster, b, "reused", {**BODY, "text": "another"})

    assert other.status_code == 422 and other.json()["code"] == "idempotency_conflict"
    assert cluster.query("SELECT count(*) FROM messages") == [(1,)]


async def test_a_send_refused_on_one_node_leaves_its_key_free_for_a_retry_on_the_other(
    cluster: Cluster,
) -> None:
    cluster.extra_toml = "[limits]\nmax_queued = 1\n"
    a = await cluster.start_node()
    await cluster.pair(a, "phone")
    b = await cluster.start_node()
    assert (await _send(cluster, a, "fills", {**BODY, "text": "first"})).status_code == 202

    refused = await _send(cluster, a, "retry-me")
    assert refused.status_code == 409 and refused.json()["code"] == "queue_blocked"
    # The refused send's claim went with it: the retry is refused for the queue
    # again, not told the key is busy.
    again = await _send(cluster, b, "retry-me")
    assert again.json()["code"] == "queue_blocked", again.text
    assert cluster.query("SELECT count(*) FROM idempotency_keys WHERE key = 'retry-me'") == [(0,)]
