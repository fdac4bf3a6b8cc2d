"""``make bench``: the spine's two figures, each beside its floor from the same run.

1. push latency: POST /v1/sms/send → the relay receives its ``send`` frame,
   100 sequential sends on loopback, p50/p99. Floor: the round trip of a bare
   Starlette endpoint that parses the same body (same client, same machine).
2. accept rate: 202s per second from 32 concurrent keep-alive clients for
   10 s, once while four simulated relays take every message through to
   ``delivered`` (the hub does the whole lifecycle), once with no relay online
   (the messages only queue: the accept path alone). Floor: the same load on
   the bare endpoint.

Everything runs as real processes: the hub (``relayhub serve``), the floor
app under uvicorn, ``relayhub sim`` relays, and this load generator. Results
go to ``bench/results.json``.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import socket
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
from websockets.asyncio.client import connect

from bench.http_load import Connection, build_request, hammer
from protocol import frames as f
from protocol.session import JobReceived, RelayLedger, RelaySession
from relay_sim.pairing import pair_device

TOKEN = "rh_bench_admin_token_0123456789"
BODY = json.dumps({"to": "+998901234567", "text": "Salom from the benchmark"}).encode()
RUNS = 3
LATENCY_SENDS = 100
CLIENTS = 32
SECONDS = 10.0
RESULTS = Path(__file__).with_name("results.json")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


_drains: set[asyncio.Task[None]] = set()


async def start(
    args: list[str], ready: str, env: dict[str, str] | None = None, *, stream: str = "stderr"
) -> asyncio.subprocess.Process:
    """Start ``python args…`` and return once ``ready`` appears on its ``stream``."""
    pipe, devnull = asyncio.subprocess.PIPE, asyncio.subprocess.DEVNULL
    process = await asyncio.create_subprocess_exec(
        sys.executable, *args,
        stdout=pipe if stream == "stdout" else devnull,
        stderr=pipe if stream == "stderr" else devnull,
        env={**os.environ, **(env or {})},
    )  # fmt: skip
    output = process.stdout if stream == "stdout" else process.stderr
    assert output is not None
    async with asyncio.timeout(30):
        while ready not in (line := (await output.readline()).decode()):
            if not line:
                raise RuntimeError(f"{args} exited during start-up")
    task = asyncio.create_task(_drain(output))  # a full pipe would block the process
    _drains.add(task)
    task.add_done_callback(_drains.discard)
    return process


async def _drain(output: asyncio.StreamReader) -> None:
    while await output.readline():
        pass


class LatencyRelay:
    """A relay in this process that notes when each ``send`` frame arrives."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        self.changed = asyncio.Event()

    async def run(self, ws_url: str, token: str) -> None:
        session = RelaySession(RelayLedger())
        async with connect(
            ws_url, additional_headers={"Authorization": f"Bearer {token}"},
            subprotocols=[f.SUBPROTOCOL], compression=None,  # type: ignore[list-item]
        ) as ws:  # fmt: skip
            session.send_hello(f.Hello(
                app_version="bench", model="bench", os="bench",
                sims=[f.Sim(slot=0, carrier="bench")], limits=f.Limits(parts_per_minute=10_000),
            ))  # fmt: skip
            for data in session.data_to_send():
                await ws.send(data.decode())
            async for frame in ws:
                session.receive_text(frame)
                for event in session.events_received():
                    if isinstance(event, JobReceived):
                        job = event.job
                        self.arrived[job.id] = time.perf_counter()
                        self.changed.set()
                        now = datetime.now(UTC)
                        session.accept(job.id)
                        session.report_sent(job.id, now, 1, 0)
                        session.report_delivered(job.id, now)
                for data in session.data_to_send():
                    await ws.send(data.decode())

    async def wait_for(self, message_id: str) -> float:
        while message_id not in self.arrived:
            self.changed.clear()
            await self.changed.wait()
        return self.arrived[message_id]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def push_latency(port: int, relay: LatencyRelay) -> tuple[float, float]:
    conn = await Connection.open("127.0.0.1", port)
    request = build_request("/api/v1/sms/send", BODY, TOKEN, f"127.0.0.1:{port}")
    samples = []
    for _ in range(LATENCY_SENDS):
        start = time.perf_counter()
        status, body = await conn.round_trip(request)
        assert status == 202, body
        arrived = await relay.wait_for(json.loads(body)["request_id"])
        samples.append((arrived - start) * 1000)
    conn.close()
    return percentile(samples, 0.5), percentile(samples, 0.99)


async def floor_latency(port: int) -> tuple[float, float]:
    conn = await Connection.open("127.0.0.1", port)
    request = build_request("/api/v1/sms/send", BODY, None, f"127.0.0.1:{port}")
    samples = []
    for _ in range(LATENCY_SENDS):
        start = time.perf_counter()
        await conn.round_trip(request)
        samples.append((time.perf_counter() - start) * 1000)
    conn.close()
    return percentile(samples, 0.5), percentile(samples, 0.99)


async def accept_rate(port: int, token: str | None) -> tuple[float, float, float]:
    request = build_request("/api/v1/sms/send", BODY, token, f"127.0.0.1:{port}")
    result = await hammer("127.0.0.1", port, request, CLIENTS, SECONDS, keep_bodies=False)
    rps = result.count(202) / result.elapsed_s
    ms = [x * 1000 for x in result.latencies]
    return rps, percentile(ms, 0.5), percentile(ms, 0.99)


async def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="relayhub-bench-"))
    config = work / "bench.toml"
    config.write_text("[server]\naccess_log = false\n")
    hub_port, floor_port = free_port(), free_port()
    hub = await start(
        ["-m", "hub", "serve", "--port", str(hub_port), "--data", str(work / "data"),
         "--config", str(config)],
        "Uvicorn running on", {"RELAYHUB_ADMIN_TOKEN": TOKEN},
    )  # fmt: skip
    floor = await start(
        ["-m", "uvicorn", "bench.floor_app:app", "--port", str(floor_port), "--no-access-log",
         "--log-level", "info"],
        "Uvicorn running on",
    )  # fmt: skip
    base = f"http://127.0.0.1:{hub_port}"
    processes = [hub, floor]
    try:
        async with httpx.AsyncClient() as client:
            # The benchmark measures capacity, not the account's send limits.
            account_id = (
                await client.get(
                    f"{base}/api/v1/account", headers={"Authorization": f"Bearer {TOKEN}"}
                )
            ).json()["account_id"]
            await client.patch(
                f"{base}/api/v1/admin/accounts/{account_id}",
                json={"limits": {"send_per_minute": 100_000, "max_queued": 10_000_000}},
                headers={"Authorization": f"Bearer {TOKEN}"},
            )  # fmt: skip
            device = await pair_device(client, base, TOKEN, "Latency relay")
        relay = LatencyRelay()
        relay_task = asyncio.create_task(relay.run(device.ws_url, device.device_token))

        latency = [await push_latency(hub_port, relay) for _ in range(RUNS)]
        floor_lat = [await floor_latency(floor_port) for _ in range(RUNS)]

        sim = await start(
            ["-m", "relay_sim", "--hub", base, "--token", TOKEN, "--relays", "4",
             "--state", str(work / "sim.json")],
            "4/4 online", stream="stdout",
        )  # fmt: skip
        processes.append(sim)
        accept = [await accept_rate(hub_port, TOKEN) for _ in range(RUNS)]
        floor_accept = [await accept_rate(floor_port, None) for _ in range(RUNS)]
        relay_task.cancel()
        sim.terminate()
        await sim.wait()
        accept_only = [await accept_rate(hub_port, TOKEN) for _ in range(RUNS)]
    finally:
        for process in processes:
            if process.returncode is None:
                process.terminate()
                await process.wait()

    def med(values: list[float]) -> float:
        return round(statistics.median(values), 3)

    figures = {
        "push_p50_ms": med([p50 for p50, _ in latency]),
        "push_p99_ms": med([p99 for _, p99 in latency]),
        "push_floor_p50_ms": med([p50 for p50, _ in floor_lat]),
        "push_floor_p99_ms": med([p99 for _, p99 in floor_lat]),
        "accept_rps": med([r for r, _, _ in accept]),
        "accept_p50_ms": med([p for _, p, _ in accept]),
        "accept_p99_ms": med([p for _, _, p in accept]),
        "accept_floor_rps": med([r for r, _, _ in floor_accept]),
        "accept_queue_only_rps": med([r for r, _, _ in accept_only]),
        "accept_queue_only_p99_ms": med([p for _, _, p in accept_only]),
    }
    figures["push_ratio_to_floor"] = round(figures["push_p50_ms"] / figures["push_floor_p50_ms"], 2)
    floor_rps = figures["accept_floor_rps"]
    figures["accept_ratio_to_floor"] = round(figures["accept_rps"] / floor_rps, 3)
    figures["accept_queue_only_ratio_to_floor"] = round(
        figures["accept_queue_only_rps"] / floor_rps, 3
    )
    spread = {
        "push_p50_ms": [round(p, 3) for p, _ in latency],
        "accept_rps": [round(r, 1) for r, _, _ in accept],
        "accept_floor_rps": [round(r, 1) for r, _, _ in floor_accept],
        "accept_queue_only_rps": [round(r, 1) for r, _, _ in accept_only],
    }
    report = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": "make bench",
        "machine": f"{platform.machine()}, {os.cpu_count()} cores,"
        f" Python {platform.python_version()}",
        "runs": RUNS,
        "figures": figures,
        "spread": spread,
    }
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    width = max(map(len, figures))
    for name, value in figures.items():
        print(f"{name:<{width}}  {value}")


if __name__ == "__main__":
    asyncio.run(main())
