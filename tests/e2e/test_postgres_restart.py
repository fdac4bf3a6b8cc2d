"""PostgreSQL stops under a running hub, then starts again.

While the server is down every request that needs storage gets a clear 503
``storage_unavailable`` (never a 500, never a hang), nothing is accepted, and
relays are turned away; once it is back the same hub process serves again
by itself: no restart, no accepted message lost or sent twice.

Runs on a cluster of its own (the test stops it), whatever RELAYHUB_TEST_BACKEND says.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from tests.e2e.conftest import delivered_ids, hub_config, serve_hub
from tests.e2e.test_faults_storage import assert_clear_503
from tests.pg_cluster import PgCluster

# A read waits this long for a connection before it answers 503 (the default is 5 s).
WAIT_MS = 1000


async def test_postgres_stopping_gives_503s_and_the_hub_serves_again_once_it_is_back(
    postgres_alone: PgCluster, tmp_path: Path
) -> None:
    url = postgres_alone.create_database("restart")
    config = hub_config(tmp_path / "data", storage={"url": url, "busy_timeout_ms": WAIT_MS})
    async with serve_hub(config) as hub:
        relay = await hub.relay("A")
        before = await hub.send(text="before the stop")
        # Receipted, so stored: the hub writes a report before its receipt.
        await relay.wait_until(lambda: before in delivered_ids(relay) and relay.outbox_size == 0)

        postgres_alone.stop("fast")  # ends every session, as a restart of the server does
        refused = await hub.post("/api/v1/sms/send", {"to": "+998901234567", "text": "down"})
        status = await hub.get(f"/api/v1/messages/status?request_id={before}")
        health = await hub.get("/api/v1/health")
        await relay.wait_until(lambda: 1011 in relay.close_codes)  # halted: it reloads later

        postgres_alone.start()
        await hub.hub.messaging.ready()  # the hub's own retry found the server again
        after = await hub.send(text="after the start")
        await relay.wait_until(
            lambda: after in delivered_ids(relay) and relay.outbox_size == 0, timeout=20
        )
        status_after = await hub.status(before)
        health_after = await hub.get("/api/v1/health")

    for response in (refused, status):
        assert_clear_503(response, "could not reach its storage")
    assert health.status_code == 503
    assert health.json()["code"] == "storage_unavailable"
    assert health_after.status_code == 200, health_after.text
    assert status_after["status"] == "delivered"
    # Nothing of the refused send was kept; each accepted one reached the carrier once.
    assert relay.sms_sent == Counter({before: 1, after: 1})
