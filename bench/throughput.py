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
- ``otp_pairs``: 32 clients each loop ``POST /otp/send`` → read the code from
  the SMS a relay in this process was handed → ``POST /otp/verify``. Every
  number is new, so the per-number limits never answer; every verify must say
  ``verified``. The figure is what a login page built on the hub can do.
- ``webhooks``: one endpoint for ``message.sent`` and ``message.delivered``
  on a receiver in its own process, while the lifecycle load runs for 5 s.
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
adds py-spy options, e.g. ``--threads``).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import re
import sqlite3
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from bench.harness import HOST, TOKEN, BenchHub, cpu_seconds, free_port, running_hub, start, stop
from bench.http_load import Connection, LoadResult, build_request, hammer
from bench.in_process_relay import InProcessRelay
from hub.ids import new_id
from hub.store.sqlite import SCHEMA_PATH
from relay_sim.pairing import pair_device

CLIENTS = 64
SECONDS = 10.0
RELAY_PROCESSES = 2
RELAYS_PER_PROCESS = 50
OTP_CLIENTS = 32
OTP_RELAYS = 4
WEBHOOK_LOAD_S = 5.0
DRAIN_TIMEOUT_S = 180.0
FLOOR_ROWS = 50_000
FLOOR_BATCH = 100
SEND_BODY = json.dumps({"to": "+998901234567", "text": "Salom from the benchmark"}).encode()
MOVING = ("queued", "dispatched", "accepted", "sent")
CODE = re.compile(r"\b(\d{6})\b")


# --- 3. lifecycle -------------------------------------------------------------


async def lifecycle() -> dict[str, float]:
    async with running_hub() as hub, relay_fleet(hub):
        cpu_before = cpu_seconds(hub.pid)
        async with profiled(hub, "lifecycle"):
            started = time.time()
            load = await _send_load(hub, SECONDS)
            accepted = _accepted_ids(load)
            last_delivered = await _wait_delivered(hub, accepted)
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


def _accepted_ids(load: LoadResult) -> set[str]:
    if set(load.statuses) != {202}:
        raise RuntimeError(f"every send must be accepted; the hub answered {load.statuses}")
    return {json.loads(body)["request_id"] for body in load.bodies}


async def _wait_delivered(hub: BenchHub, ids: set[str]) -> float:
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


# --- 6. OTP -------------------------------------------------------------------


class Inbox:
    """The text of every SMS the in-process relays were handed, by message id."""

    def __init__(self) -> None:
        self._texts: dict[str, asyncio.Future[str]] = {}

    def _slot(self, message_id: str) -> asyncio.Future[str]:
        slot = self._texts.get(message_id)
        if slot is None:
            slot = self._texts[message_id] = asyncio.get_running_loop().create_future()
        return slot

    def arrived(self, message_id: str, text: str) -> None:
        if not (slot := self._slot(message_id)).done():
            slot.set_result(text)

    async def text_of(self, message_id: str) -> str:
        try:
            return await self._slot(message_id)
        finally:
            self._texts.pop(message_id, None)


def text_relay(inbox: Inbox) -> InProcessRelay:
    """A relay in this process that puts the text of every SMS it is handed in ``inbox``."""
    return InProcessRelay(lambda job: inbox.arrived(job.id, job.text))


async def otp_pairs() -> dict[str, float]:
    async with running_hub() as hub, AsyncExitStack() as stack:
        inbox = Inbox()
        relays = [text_relay(inbox) for _ in range(OTP_RELAYS)]
        async with hub.client() as client:
            devices = [
                await pair_device(client, hub.base, TOKEN, f"OTP relay {n}")
                for n in range(OTP_RELAYS)
            ]
        tasks = [
            asyncio.create_task(relay.run(device.ws_url, device.device_token))
            for relay, device in zip(relays, devices, strict=True)
        ]
        stack.push_async_callback(_cancel, tasks)
        for relay, task in zip(relays, tasks, strict=True):
            await _welcomed(relay, task)

        numbers = itertools.count()
        verdicts: dict[str, int] = {}
        latencies: list[float] = []

        async def client_loop(deadline: float) -> None:
            conn = await Connection.open(HOST, hub.port)
            try:
                while time.perf_counter() < deadline:
                    began = time.perf_counter()
                    status = await _one_otp(conn, hub, inbox, f"+99890{next(numbers):07d}")
                    latencies.append(time.perf_counter() - began)
                    verdicts[status] = verdicts.get(status, 0) + 1
            finally:
                conn.close()

        cpu_before = cpu_seconds(hub.pid)
        async with profiled(hub, "otp"):
            began = time.perf_counter()
            await asyncio.gather(*(client_loop(began + SECONDS) for _ in range(OTP_CLIENTS)))
            elapsed = time.perf_counter() - began
        cpu = cpu_seconds(hub.pid) - cpu_before
        if set(verdicts) != {"verified"}:
            raise RuntimeError(f"every verify must say verified, not {verdicts}")
    pairs = verdicts["verified"]
    ordered = sorted(latencies)
    return {
        "otp_pairs_per_s": round(pairs / elapsed, 1),
        "otp_pair_p50_ms": round(ordered[len(ordered) // 2] * 1000, 2),
        "otp_pair_p99_ms": round(ordered[int(len(ordered) * 0.99)] * 1000, 2),
        "otp_hub_cpu_ms_per_pair": round(cpu * 1000 / pairs, 3),
    }


async def _welcomed(relay: InProcessRelay, task: asyncio.Task[None]) -> None:
    """Return once the relay is welcomed; raise if its socket ends first."""
    welcomed = asyncio.ensure_future(relay.welcomed.wait())
    try:
        async with asyncio.timeout(30):
            await asyncio.wait([welcomed, task], return_when=asyncio.FIRST_COMPLETED)
    finally:
        welcomed.cancel()
    if not relay.welcomed.is_set():
        crash = task.exception() if task.done() and not task.cancelled() else None
        raise RuntimeError("an OTP relay was not welcomed") from crash


async def _one_otp(conn: Connection, hub: BenchHub, inbox: Inbox, to: str) -> str:
    """Send a code to ``to``, read it from the relay's SMS, verify it; the verdict."""
    host = f"{HOST}:{hub.port}"
    body = json.dumps({"to": to, "purpose": "login"}).encode()
    status, answer = await conn.round_trip(build_request("/api/v1/otp/send", body, TOKEN, host))
    if status != 200:
        raise RuntimeError(f"otp/send answered {status}: {answer[:300]!r}")
    sent = json.loads(answer)
    text = await inbox.text_of(sent["request_id"])
    code = CODE.search(text)
    if code is None:
        raise RuntimeError(f"no code in the SMS {text!r}")
    body = json.dumps({"otp_id": sent["otp_id"], "code": code[1]}).encode()
    status, answer = await conn.round_trip(build_request("/api/v1/otp/verify", body, TOKEN, host))
    if status != 200:
        raise RuntimeError(f"otp/verify answered {status}: {answer[:300]!r}")
    verdict: str = json.loads(answer)["status"]
    return verdict


async def _cancel(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


# --- 7. webhooks --------------------------------------------------------------


class Acks:
    """The receiver's record: how often each ``webhook-id`` was acknowledged, and when."""

    def __init__(self) -> None:
        self.times: dict[str, int] = {}
        self.first_event = float("inf")  # the earliest event timestamp carried
        self.last_event = 0.0  # the latest one
        self.last_ack = 0.0
        self.opened_at = 0.0  # when the gate last opened

    def as_json(self) -> bytes:
        return json.dumps({
            "deliveries": sum(self.times.values()),
            "events": len(self.times),
            "duplicates": sum(n - 1 for n in self.times.values()),
            "first_event": self.first_event if self.times else None,
            "last_event": self.last_event,
            "last_ack": self.last_ack,
            "opened_at": self.opened_at,
        }).encode()  # fmt: skip


_acks = Acks()
_gate = asyncio.Event()  # while clear, deliveries get no answer: a backlog builds
_gate.set()


async def receiver_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The webhook receiver (``uvicorn bench.throughput:receiver_app``), kept bare so
    that it is not what is measured. ``POST /hook``: a delivery, answered 204 once
    the gate is open; ``POST /reset``, ``/close``, ``/open``: start a new record,
    close or open the gate; ``GET /``: the record."""
    global _acks
    if scope["type"] != "http":
        return
    path = scope["path"]
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    if path == "/hook":
        event_id = next(v.decode() for k, v in scope["headers"] if k == b"webhook-id")
        timestamp = json.loads(b"".join(chunks))["timestamp"]
        await _gate.wait()
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})
        _acks.times[event_id] = _acks.times.get(event_id, 0) + 1
        _acks.last_ack = time.time()
        moment = datetime.fromisoformat(timestamp).timestamp()
        _acks.first_event = min(_acks.first_event, moment)
        _acks.last_event = max(_acks.last_event, moment)
        return
    if path == "/reset":
        _acks = Acks()
    elif path == "/close":
        _gate.clear()
    elif path == "/open":
        _acks.opened_at = time.time()
        _gate.set()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json")]})  # fmt: skip
    await send({"type": "http.response.body", "body": _acks.as_json()})


@asynccontextmanager
async def receiver() -> AsyncIterator[str]:
    """The receiver in its own process; yields its base URL."""
    port = free_port()
    process = await start(
        ["-m", "uvicorn", "bench.throughput:receiver_app", "--host", HOST, "--port", str(port),
         "--no-access-log", "--log-level", "info", "--lifespan", "off"],
        "Uvicorn running on",
    )  # fmt: skip
    try:
        yield f"http://{HOST}:{port}"
    finally:
        await stop(process)


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
                live = 2 * len(_accepted_ids(await _send_load(hub, WEBHOOK_LOAD_S)))
                record = await _acknowledged(plain, url, live)
            await plain.post(f"{url}/reset")
            await plain.post(f"{url}/close")
            accepted = _accepted_ids(await _send_load(hub, WEBHOOK_LOAD_S))
            await _wait_delivered(hub, accepted)  # and so every event exists
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


# --- profiling ----------------------------------------------------------------


@asynccontextmanager
async def profiled(hub: BenchHub, name: str) -> AsyncIterator[None]:
    """Record the hub with py-spy over the block, if ``BENCH_PROFILE`` names a folder."""
    folder = os.environ.get("BENCH_PROFILE")
    if not folder:
        yield
        return
    os.makedirs(folder, exist_ok=True)
    extra = os.environ.get("BENCH_PROFILE_ARGS", "").split()  # e.g. "--threads --idle"
    spy = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).with_name("py-spy")), "record", "-p", str(hub.pid),
        "-f", "raw", "-o", str(Path(folder) / f"{name}.txt"), "--nonblocking", *extra,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        yield
    finally:
        spy.send_signal(2)  # SIGINT: py-spy writes what it has and exits
        await spy.wait()


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
