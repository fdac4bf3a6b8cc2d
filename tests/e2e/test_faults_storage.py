"""Storage faults: a database locked by another process, and a full disk.

Each gives clear 503 ``storage_unavailable`` problems (never a 500), changes
nothing, and the hub recovers by itself once the fault ends: every message
that got a 202 is delivered, once, and the database passes its integrity check.

The lock runs on either backend (RELAYHUB_TEST_BACKEND); the full disk is the
SQLite file's own (see its test), and PostgreSQL's failures are in
test_postgres_restart.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import resource
import sys
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from hub.store.open_store import DB_FILE
from relay_sim.pairing import pair_device
from relay_sim.profiles import Profile
from relay_sim.relay import SimRelay
from tests.e2e.conftest import ADMIN_TOKEN, delivered_ids, hub_config, serve_hub
from tests.e2e.hub_process import HubProcess, free_port
from tests.e2e.stored import integrity, stored_rows
from tests.pg_cluster import database_for, postgres_backend

pytestmark = pytest.mark.both_backends  # a route or a state change (conftest.py)

# Jobs take a while on the phone, so some are half done when the disk fills up.
PHONE = Profile(
    "phone", ack_delay_s=(0, 0.05), send_latency_s=(0.1, 0.3), delivery_delay_s=(0, 0.2)
)
TABLES = ("messages", "message_events", "events", "idempotency_keys")
SEND = {"to": "+998901234567", "text": "Salom"}

# Takes the write lock the way a `sqlite3` shell or a backup tool would, says
# so, and holds it until told to let go (a line on stdin).
SQLITE_LOCKER = """
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.readline()
db.execute("ROLLBACK")
"""
# The same on PostgreSQL: every table of the hub's locked against writes (EXCLUSIVE
# mode still lets plain reads through, as SQLite's WAL does), as a long
# maintenance transaction or another node's migration would.
POSTGRES_LOCKER = """
import psycopg, sys
db = psycopg.connect(sys.argv[1])
tables = [r[0] for r in db.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
db.execute("LOCK TABLE " + ", ".join(tables) + " IN EXCLUSIVE MODE")
print("locked", flush=True)
sys.stdin.readline()
db.rollback()
"""


def row_counts(data: Path) -> dict[str, int]:
    return {t: stored_rows(data, f"SELECT count(*) FROM {t}")[0][0] for t in TABLES}


@contextlib.asynccontextmanager
async def write_lock_held(data: Path) -> AsyncIterator[None]:
    """Another process holds the database's write lock until the block ends."""
    if postgres_backend():
        locker_args = [POSTGRES_LOCKER, database_for(data)]
    else:
        locker_args = [SQLITE_LOCKER, str(data / DB_FILE)]
    locker = await asyncio.create_subprocess_exec(
        sys.executable, "-c", *locker_args,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert locker.stdin is not None and locker.stdout is not None
    try:
        async with asyncio.timeout(10):
            assert await locker.stdout.readline() == b"locked\n"
        yield
    finally:
        locker.stdin.write(b"release\n")
        await locker.stdin.drain()
        async with asyncio.timeout(10):
            await locker.wait()
    assert locker.returncode == 0


def assert_clear_503(response: httpx.Response, says: str) -> None:
    """A storage_unavailable problem that tells the client what to do, and no more."""
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert int(response.headers["retry-after"]) > 0
    body: dict[str, Any] = response.json()
    assert body["ok"] is False
    assert body["code"] == "storage_unavailable"
    assert says in body["detail"], body["detail"]
    assert "nothing was changed" in body["detail"]
    assert body["request_id"] == response.headers["x-request-id"]
    for leak in ("Traceback", "sqlite", "psycopg", "LOCK TABLE", 'File "', ".py"):
        assert leak not in response.text


async def test_send_answers_503_and_stores_nothing_while_another_process_holds_the_write_lock(
    tmp_path: Path,
) -> None:
    config = hub_config(tmp_path / "data", storage={"busy_timeout_ms": 100})
    data = config.data_path
    async with serve_hub(config) as hub:
        relay = await hub.relay("A")
        keyed = {"Authorization": f"Bearer {ADMIN_TOKEN}", "Idempotency-Key": "order-42"}
        url = hub.base_url + "/api/v1/sms/send"
        before = row_counts(data)

        async with write_lock_held(data):
            refused = await hub.client.post(url, json=SEND, headers=keyed)
            again = await hub.post("/api/v1/sms/send", SEND)  # the hub is fenced by now
            during = row_counts(data)

        await hub.hub.messaging.ready()  # it reloads its state once storage answers
        accepted = await hub.client.post(url, json=SEND, headers=keyed)
        assert accepted.status_code == 202, accepted.text
        request_id = accepted.json()["request_id"]
        await relay.wait_until(lambda: request_id in delivered_ids(relay))
        replayed = await hub.client.post(url, json=SEND, headers=keyed)

    for response in (refused, again):
        assert_clear_503(response, "locked by another process")
    assert during == before  # nothing half-written: no message, event or idempotency key
    # The key was not spent on the refused request: the retry queued the message,
    # and a third call replays that answer.
    assert replayed.headers["idempotent-replayed"] == "true"
    assert replayed.json()["request_id"] == request_id
    assert relay.sms_sent == Counter({request_id: 1})
    assert row_counts(data)["messages"] == before["messages"] + 1
    assert integrity(data) == ["ok"]


def fence_count(hub: HubProcess) -> int:
    """How many times the hub has fenced: closed its relays to reload from storage."""
    return sum("reloading state from storage" in line for line in hub.log)


async def send(client: httpx.AsyncClient, hub: HubProcess, n: int) -> httpx.Response:
    return await client.post(
        hub.base_url + "/api/v1/sms/send",
        json={"to": "+998901234567", "text": f"disk test {n}"},
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
    )


async def test_a_full_disk_gives_503s_loses_no_accepted_message_and_the_hub_recovers(
    tmp_path: Path,
) -> None:
    if postgres_backend():
        pytest.skip(
            "SQLite only: the full disk is the hub's own file here; on PostgreSQL the disk"
            " is the server's, and a server that cannot write its WAL stops, which"
            " test_postgres_restart.py covers (503s, then recovery without a restart)"
        )
    data = tmp_path / "data"
    config = tmp_path / "hub.toml"
    config.write_text("[server]\naccess_log = false\n")
    hub = HubProcess(data, free_port(), ADMIN_TOKEN, config)
    async with contextlib.AsyncExitStack() as stack:
        await hub.start()
        stack.push_async_callback(hub.stop)
        assert hub.process is not None
        client = await stack.enter_async_context(httpx.AsyncClient(timeout=10))
        device = await pair_device(client, hub.base_url, ADMIN_TOKEN, "A")
        relay = SimRelay(device, PHONE, seed=1)
        await relay.start()
        stack.push_async_callback(relay.stop)
        await relay.wait_welcomed()

        # Room for a few more commits, then every file write past it fails
        # (EFBIG: Python ignores SIGXFSZ), as on a disk that has just filled up.
        room = max(p.stat().st_size for p in data.iterdir()) + 400_000
        limits = (room, resource.RLIM_INFINITY)
        unlimited = resource.prlimit(hub.process.pid, resource.RLIMIT_FSIZE, limits)
        fences_before = fence_count(hub)
        accepted: list[str] = []
        refused: list[httpx.Response] = []
        n = 0
        while len(refused) < 5:
            n += 1
            assert n < 5000, "the disk never filled up"
            response = await send(client, hub, n)
            if response.status_code == 202:
                accepted.append(response.json()["request_id"])
            else:
                refused.append(response)

        # While the disk stays full, a relay that reconnects is turned away (1013)
        # without touching storage: the hub waits for a write to work again,
        # rather than fencing and reloading its state on every reconnect.
        await relay.wait_until(lambda: relay.close_codes.count(1013) >= 2)
        fences = fence_count(hub)
        await relay.wait_until(lambda: relay.close_codes.count(1013) >= 4)
        fences_later = fence_count(hub)
        still = await send(client, hub, 0)
        health_while_full = await client.get(f"{hub.base_url}/api/v1/health")

        resource.prlimit(hub.process.pid, resource.RLIMIT_FSIZE, unlimited)
        await relay.wait_until(
            lambda: set(accepted) <= delivered_ids(relay) and relay.outbox_size == 0, timeout=20
        )
        after = await send(client, hub, n + 1)
        assert after.status_code == 202, after.text
        later = after.json()["request_id"]
        await relay.wait_until(lambda: later in delivered_ids(relay))
        health_after = await client.get(f"{hub.base_url}/api/v1/health")

    assert accepted, "no send succeeded before the disk filled up"
    for response in [*refused, still]:
        assert_clear_503(response, "cannot write to its disk")
    assert fences_later == fences > fences_before
    # Health says so while writes fail, and is well again once they work.
    assert health_while_full.status_code == 503
    assert health_while_full.json()["code"] == "storage_unavailable"
    assert health_after.status_code == 200, health_after.text
    assert relay.sms_sent == Counter({i: 1 for i in [*accepted, later]})
    states = dict(stored_rows(data, "SELECT id, state FROM messages"))
    assert {states.get(i) for i in accepted} == {"delivered"}
    assert integrity(data) == ["ok"]
