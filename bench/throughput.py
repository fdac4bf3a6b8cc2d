"""Issue 9's throughput figures: whole lifecycles, OTP pairs and webhooks per second.

Each scenario starts its own hub (``relayhub serve``, via ``bench.harness``) and
everything it needs as real processes or real sockets, and stops them again,
also when it fails:

- ``lifecycle``: 100 ``ideal`` relays (two ``relay_sim`` processes of 50) and
  64 keep-alive clients sending for 10 s. ``lifecycle_mps`` is messages that
  reached ``delivered`` per second, from the first send to the hub's
  ``delivered_at`` of the last one; every 202'd message must be delivered.
  This is the figure a customer sees: the hub accepting, routing, pushing and
  recording four transitions per message, not only the 202.
- ``otp_pairs`` (``bench.otp_pairs``): 32 clients each loop ``POST /otp/send``
  → read the code from the SMS a relay in this process was handed → ``POST
  /otp/verify``. The figure is what a login page built on the hub can do.
- ``webhooks``: one endpoint for ``message.sent`` and ``message.delivered``
  on a receiver in its own process (``bench.webhook_receiver``), while the
  lifecycle load runs for 5 s.
  ``webhooks_per_s`` is deliveries the receiver acknowledged per second, from
  the first event's timestamp to the last acknowledgement; ``webhooks_lag_s``
  says whether that is the sender's rate or the lifecycle's (near zero: the
  sender kept up). So a second run holds the receiver's answers until every
  event exists, then lets go: ``webhooks_backlog_per_s`` is the sender's own
  rate, and the hub's CPU per delivery is measured over that drain. Every
  event must arrive exactly once (by ``webhook-id``).
- ``sqlite_floor``: what raw SQLite does on this disk with the hub's own
  schema and durability (WAL, ``synchronous=FULL``): message rows inserted 100
  to a transaction. Each lifecycle writes several rows and updates, so the
  ratio to it says how much of the floor the hub turns into messages.

Run: ``.venv/bin/python -m bench.throughput`` (``bench.run`` repeats them).
With ``BENCH_PROFILE=DIR`` set, py-spy records the hub over each measured
window into ``DIR/<scenario>.txt`` (collapsed stacks; ``BENCH_PROFILE_ARGS``
adds py-spy options, e.g. ``--threads``; ``bench.profiling``).
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from bench.harness import HOST, TOKEN, BenchHub, cpu_seconds, running_hub, start, stop
from bench.http_load import LoadResult, build_request, hammer
from bench.otp_pairs import otp_pairs
from bench.profiling import profiled
from bench.webhook_receiver import receiver
from hub.ids import new_id
from hub.store.sqlite import SCHEMA_PATH

CLIENTS = 64
SECONDS = 10.0
RELAY_PROCESSES = 2
RELAYS_PER_PROCESS = 50
WEBHOOK_LOAD_S = 5.0
DRAIN_TIMEOUT_S = 180.0
FLOOR_ROWS = 50_000
FLOOR_BATCH = 100
SEND_BODY = json.dumps({"to": "+998901234567", "text": "Salom from the benchmark"}).encode()
MOVING = ("queued", "dispatched", "accepted", "sent")


# --- 3. lifecycle -------------------------------------------------------------


async def lifecycle() -> dict[str, float]:
    async with running_hub() as hub, relay_fleet(hub):
        cpu_before = cpu_seconds(hub.pid)
        async with profiled(hub, "lifecycle"):
            started = time.time()
            load = await _send_load(hub, SECONDS)
            accepted = accepted_ids(load)
            last_delivered = await wait_delivered(hub, accepted)
        cpu = cpu_seconds(hub.pid) - cpu_before
    return {
        "lifecycle_mps": round(len(accepted) / (last_delivered - started), 1),
        "lifecycle_accept_rps": round(len(accepted) / load.elapsed_s, 1),
        "lifecycle_messages": len(accepted),
        "lifecycle_hub_cpu_ms_per_msg": round(cpu * 1000 / len(accepted), 3),
    }


async def _send_load(hub: BenchHub, seconds: float) -> LoadResult:
    request = build_request("/api/v1/sms/send", SEND_BODY, TOKEN, f"{HOST}:{hub.port}")
    return await hammer(HOST, hub.port, request, CLIENTS, seconds, keep_bodies=True)


def accepted_ids(load: LoadResult) -> set[str]:
    if set(load.statuses) != {202}:
        raise RuntimeError(f"every send must be accepted; the hub answered {load.statuses}")
    return {json.loads(body)["request_id"] for body in load.bodies}


async def wait_delivered(hub: BenchHub, ids: set[str]) -> float:
    """Wait until every message in ``ids`` is delivered; return when the last one was."""
    async with hub.client() as client, asyncio.timeout(DRAIN_TIMEOUT_S):
        while True:
            # Cheap questions first: listing every message is only worth it
            # once none is still on its way.
            if not await _still_moving(client):
                found = await _all_messages(client)
                if all(found.get(i, ("", ""))[0] == "delivered" for i in ids):
                    return max(datetime.fromisoformat(found[i][1]).timestamp() for i in ids)
            await asyncio.sleep(0.25)


async def _still_moving(client: httpx.AsyncClient) -> bool:
    for state in MOVING:  # in lifecycle order: a message cannot slip behind the look
        answer = await client.get("/api/v1/messages", params={"status": state, "limit": 1})
        answer.raise_for_status()
        if answer.json()["items"]:
            return True
    return False


async def _all_messages(client: httpx.AsyncClient) -> dict[str, tuple[str, str]]:
    """request_id → (status, delivered_at) of every message of the account."""
    found: dict[str, tuple[str, str]] = {}
    params: dict[str, Any] = {"limit": 500}
    while True:
        answer = await client.get("/api/v1/messages", params=params)
        answer.raise_for_status()
        body = answer.json()
        for item in body["items"]:
            found[item["request_id"]] = (item["status"], item["delivered_at"] or "")
        if not body["next_cursor"]:
            return found
        params["cursor"] = body["next_cursor"]


@asynccontextmanager
async def relay_fleet(
    hub: BenchHub, processes: int = RELAY_PROCESSES, per_process: int = RELAYS_PER_PROCESS
) -> AsyncIterator[None]:
    """``processes`` x ``per_process`` simulated relays, online until the block ends."""
    async with AsyncExitStack() as stack:

        async def one(n: int) -> None:
            process = await start(
                ["-m", "relay_sim", "--hub", hub.base, "--token", TOKEN,
                 "--relays", str(per_process), "--profile", "ideal",
                 "--state", str(hub.work / f"relays-{n}.json")],
                f"{per_process}/{per_process} online", stream="stdout",
            )  # fmt: skip
            stack.push_async_callback(stop, process)

        # Each process pairs its own devices: started together, they pair in parallel.
        results = await asyncio.gather(*(one(n) for n in range(processes)), return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result
        yield


# --- 7. webhooks --------------------------------------------------------------


async def webhooks() -> dict[str, float]:
    """Two runs on one hub: live (events acknowledged as the lifecycle makes them),
    then a backlog (the receiver holds its answers until every event exists, then
    lets the sender drain them: its own rate, whatever the lifecycle's)."""
    # The gate holds the first attempts for the whole backlog run: a long timeout.
    config = "[webhooks]\nallow_private_targets = true\ntimeout_s = 600.0\n"
    async with running_hub(config) as hub, receiver() as url, httpx.AsyncClient() as plain:
        async with hub.client() as client:
            answer = await client.post(
                "/api/v1/webhooks",
                json={"url": f"{url}/hook", "events": ["message.sent", "message.delivered"]},
            )
            answer.raise_for_status()
        async with relay_fleet(hub):
            async with profiled(hub, "webhooks"):
                live = 2 * len(accepted_ids(await _send_load(hub, WEBHOOK_LOAD_S)))
                record = await _acknowledged(plain, url, live)
            await plain.post(f"{url}/reset")
            await plain.post(f"{url}/close")
            accepted = accepted_ids(await _send_load(hub, WEBHOOK_LOAD_S))
            await wait_delivered(hub, accepted)  # and so every event exists
            backlog = 2 * len(accepted)
            cpu_before = cpu_seconds(hub.pid)
            async with profiled(hub, "webhooks-backlog"):
                await plain.post(f"{url}/open")
                drained = await _acknowledged(plain, url, backlog)
            cpu = cpu_seconds(hub.pid) - cpu_before
    return {
        "webhooks_per_s": round(live / (record["last_ack"] - record["first_event"]), 1),
        "webhooks_events": live,
        # How long after the last event was made it was acknowledged: near zero
        # means the sender kept up and the rate is the lifecycle's, not its own.
        "webhooks_lag_s": round(record["last_ack"] - record["last_event"], 2),
        "webhooks_backlog_per_s": round(backlog / (drained["last_ack"] - drained["opened_at"]), 1),
        "webhooks_backlog_events": backlog,
        "webhooks_hub_cpu_ms_per_delivery": round(cpu * 1000 / backlog, 3),
    }


async def _acknowledged(plain: httpx.AsyncClient, url: str, expected: int) -> dict[str, Any]:
    """The receiver's record once it acknowledged ``expected`` events, each once."""
    async with asyncio.timeout(DRAIN_TIMEOUT_S):
        while True:
            record: dict[str, Any] = (await plain.get(url)).json()
            if record["events"] >= expected:
                break
            await asyncio.sleep(0.25)
    await asyncio.sleep(0.5)  # a repeat would come right after: give it the time
    record = (await plain.get(url)).json()
    if record["events"] != expected or record["duplicates"]:
        raise RuntimeError(f"{expected} events expected once each; the receiver saw {record}")
    return record


# --- the floor ----------------------------------------------------------------


def sqlite_floor() -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="relayhub-floor-") as folder:
        conn = sqlite3.connect(Path(folder) / "floor.db", isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.executescript(SCHEMA_PATH.read_text())  # the hub's table and indexes
            rows = [_message_row() for _ in range(FLOOR_ROWS)]
            began = time.perf_counter()
            for n in range(0, FLOOR_ROWS, FLOOR_BATCH):
                conn.execute("BEGIN")
                conn.executemany(
                    "INSERT INTO messages (id, account_id, to_number, text, parts, encoding,"
                    " state, queued_at, expires_at, updated_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    rows[n : n + FLOOR_BATCH],
                )
                conn.execute("COMMIT")
            elapsed = time.perf_counter() - began
        finally:
            conn.close()
    return {"sqlite_floor_rows_per_s": round(FLOOR_ROWS / elapsed, 1)}


def _message_row() -> tuple[object, ...]:
    now = datetime.now(UTC)
    stamp = now.isoformat(timespec="milliseconds")
    expires = (now + timedelta(days=1)).isoformat(timespec="milliseconds")
    return (new_id("req", now), "acc_bench", "+998901234567", "Salom from the benchmark", 1,
            "GSM-7", "queued", stamp, expires, stamp)  # fmt: skip


def ratio_to_floor(lifecycle_mps: float, floor_rows_per_s: float) -> dict[str, float]:
    return {"lifecycle_ratio_to_floor": round(lifecycle_mps / floor_rows_per_s, 4)}


async def main() -> None:
    figures: dict[str, float] = {}
    figures.update(sqlite_floor())
    figures.update(await lifecycle())
    figures.update(ratio_to_floor(figures["lifecycle_mps"], figures["sqlite_floor_rows_per_s"]))
    figures.update(await otp_pairs())
    figures.update(await webhooks())
    width = max(map(len, figures))
    for name, value in figures.items():
        print(f"{name:<{width}}  {value}")


if __name__ == "__main__":
    asyncio.run(main())
