"""A message that waits in the shared queue past its ``ttl_seconds`` expires.

No node holds it in memory (no relay of its account is online anywhere), so no
node's in-memory sweep sees it; every cluster node's sweep takes expired ones
from the shared queue with a compare-and-set and expires them.
"""

from __future__ import annotations

import asyncio

from tests.cluster.conftest import Cluster
from tests.cluster.event_stream import stream_on
from tests.e2e.conftest import ADMIN_TOKEN

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


async def test_a_message_nobody_claims_expires_in_the_shared_queue(cluster: Cluster) -> None:
    a = await cluster.start_node()
    await cluster.pair(a, "phone")  # paired, never online
    b = await cluster.start_node()
    response = await cluster.client.post(
        a.base_url + "/api/v1/sms/send",
        json={"to": "+998901234567", "text": "short-lived", "ttl_seconds": 30},
        headers=AUTH,
    )
    assert response.status_code == 202, response.text
    request_id = response.json()["request_id"]
    async with stream_on(cluster, b, "message.failed") as stream:
        # Its 30 s (the shortest TTL) are up: moved back in storage, where the
        # nodes read it, rather than waited out.
        assert cluster.query(
            "UPDATE messages SET expires_at = '2000-01-01T00:00:00.000Z'"
            " WHERE id = %s AND owner_node IS NULL RETURNING id",
            request_id,
        ) == [(request_id,)]
        async with asyncio.timeout(15):
            ended = await stream.next()

    assert ended.body["data"]["request_id"] == request_id
    assert (await cluster.status(b, request_id))["status"] == "expired"
    # An expiry is told as message.failed (its reason says expired), once.
    rows = cluster.query("SELECT count(*) FROM events WHERE type = %s", "message.failed")
    assert rows == [(1,)]
