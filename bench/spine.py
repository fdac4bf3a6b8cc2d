"""The spine's figures: how fast a send is accepted, and how soon it reaches a phone.

1. **accept**: ``POST /api/v1/sms/send`` from 64 concurrent keep-alive clients
   for 10 s; every 202 is durable (committed, with the default
   ``synchronous = FULL``). Measured twice: with the account's relay offline
   (the accept path alone: messages only queue) and with four simulated
   relays taking every message through to ``delivered`` (the hub does the
   whole lifecycle while it accepts).
2. **push latency**: POST sent → the relay holds the ``send`` frame (durable
   in between), sequential sends, p50/p99; at light load (nothing else
   happening) and at half of the measured accept rate (background sends to
   another, offline device of the account, so the relay's own queue stays
   empty and only the hub's load differs). Measured with the cheap raw HTTP
   client of ``bench/http_load.py`` and with httpx, since the floor is
   "the bare POST from the same client".

Everything runs as real processes: the hub (``relayhub serve``), the relays
of ``relayhub sim``, and this load generator; the latency relay is a protocol
session in this process, so it can stamp the moment a frame arrives.
"""

from __future__ import annotations

import asyncio
import json
import time

import httpx

from bench.floors import BODY, PATH
from bench.harness import HOST, TOKEN, BenchHub, percentile, running_hub, start, stop
from bench.http_load import Connection, build_request, hammer
from bench.in_process_relay import InProcessRelay
from protocol import frames as f
from relay_sim.pairing import PairedDevice, pair_device

CLIENTS = 64
SECONDS = 10.0
LATENCY_SENDS = 200


class LatencyRelay:
    """An in-process relay that notes when each ``send`` frame arrives."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        self.changed = asyncio.Event()
        self.relay = InProcessRelay(self._job)

    def _job(self, job: f.Send) -> None:
        self.arrived[job.id] = time.perf_counter()
        self.changed.set()

    async def run(self, device: PairedDevice) -> None:
        await self.relay.run(device.ws_url, device.device_token)

    async def wait_for(self, message_id: str) -> float:
        while message_id not in self.arrived:
            self.changed.clear()
            await self.changed.wait()
        return self.arrived[message_id]

    async def online(self, hub: BenchHub, device_id: str, task: asyncio.Task[None]) -> None:
        async with hub.client() as client:
            for _ in range(500):
                if task.done():
                    task.result()  # raises what stopped the relay
                devices = (await client.get("/api/v1/devices")).json()["items"]
                if any(d["id"] == device_id and d["online"] for d in devices):
                    return
                await asyncio.sleep(0.01)  # polling the hub's view; nothing to wait on here
        raise RuntimeError("the latency relay did not come online")


def body_for(device_id: str) -> bytes:
    return json.dumps({**json.loads(BODY), "device_id": device_id}).encode()


async def latency_raw(hub: BenchHub, relay: LatencyRelay, device_id: str) -> list[float]:
    conn = await Connection.open(HOST, hub.port)
    request = build_request(PATH, body_for(device_id), TOKEN, f"{HOST}:{hub.port}")
    samples = []
    for _ in range(LATENCY_SENDS):
        began = time.perf_counter()
        status, body = await conn.round_trip(request)
        assert status == 202, body
        arrived = await relay.wait_for(json.loads(body)["request_id"])
        samples.append((arrived - began) * 1000)
    conn.close()
    return samples


async def _latency_httpx(hub: BenchHub, relay: LatencyRelay, device_id: str) -> list[float]:
    samples = []
    async with hub.client() as client:
        for _ in range(LATENCY_SENDS):
            began = time.perf_counter()
            answer = await client.post(PATH, json={"to": "+998901234567",
                                                   "text": "Salom from the benchmark",
                                                   "device_id": device_id})  # fmt: skip
            assert answer.status_code == 202, answer.text
            arrived = await relay.wait_for(answer.json()["request_id"])
            samples.append((arrived - began) * 1000)
    return samples


async def _last_line(process: asyncio.subprocess.Process) -> str:
    """The JSON line a ``bench.http_load`` process prints when it is done."""
    assert process.stdout is not None
    last = ""
    while line := (await process.stdout.readline()).decode():
        last = line
    await process.wait()
    return last


async def _accept(hub: BenchHub, device_id: str | None = None) -> dict[str, float]:
    body = body_for(device_id) if device_id else BODY
    request = build_request(PATH, body, TOKEN, f"{HOST}:{hub.port}")
    load = await hammer(HOST, hub.port, request, CLIENTS, SECONDS, keep_bodies=False)
    assert set(load.statuses) == {202}, load.statuses
    ms = [x * 1000 for x in load.latencies]
    return {
        "rps": load.count(202) / load.elapsed_s,
        "p50_ms": percentile(ms, 0.5),
        "p99_ms": percentile(ms, 0.99),
    }


async def accept_and_push(synchronous: str = "FULL") -> dict[str, float]:
    """Every figure of this module from one hub (``[storage] synchronous`` as given)."""
    figures: dict[str, float] = {}
    async with running_hub(f'[storage]\nsynchronous = "{synchronous}"\n') as hub:
        async with httpx.AsyncClient(timeout=30) as client:
            latency_device = await pair_device(client, hub.base, TOKEN, "Latency relay")
            parked = await pair_device(client, hub.base, TOKEN, "Parked relay (offline)")
        relay = LatencyRelay()
        relay_task = asyncio.create_task(relay.run(latency_device))
        try:
            await relay.online(hub, latency_device.device_id, relay_task)
            light = await latency_raw(hub, relay, latency_device.device_id)
            light_httpx = await _latency_httpx(hub, relay, latency_device.device_id)

            accept = await _accept(hub, parked.device_id)
            # Half the accept rate in the background, aimed at the parked device,
            # from another process so it does not slow the relay measured here.
            load = await start(
                ["-m", "bench.http_load", str(hub.port), str(accept["rps"] / 2), "4",
                 body_for(parked.device_id).decode(), TOKEN],
                "load started", stream="stdout", read_on=True,
            )  # fmt: skip
            loaded = await latency_raw(hub, relay, latency_device.device_id)
            report = json.loads(await _last_line(load))
            background_rps = report["statuses"].get("202", 0) / report["elapsed_s"]
        finally:
            relay_task.cancel()

        sim = await start(
            ["-m", "relay_sim", "--hub", hub.base, "--token", TOKEN, "--relays", "4",
             "--state", str(hub.work / "sim.json")],
            "4/4 online", stream="stdout",
        )  # fmt: skip
        try:
            with_relays = await _accept(hub)
        finally:
            await stop(sim)

    figures.update({
        "push_p50_ms": percentile(light, 0.5),
        "push_p99_ms": percentile(light, 0.99),
        "push_httpx_p50_ms": percentile(light_httpx, 0.5),
        "push_half_load_p50_ms": percentile(loaded, 0.5),
        "push_half_load_p99_ms": percentile(loaded, 0.99),
        "push_half_load_background_rps": background_rps,
        "accept_rps": accept["rps"],
        "accept_p50_ms": accept["p50_ms"],
        "accept_p99_ms": accept["p99_ms"],
        "accept_with_relays_rps": with_relays["rps"],
        "accept_with_relays_p99_ms": with_relays["p99_ms"],
    })  # fmt: skip
    return figures


if __name__ == "__main__":
    for name, value in asyncio.run(accept_and_push()).items():
        print(f"{name:<32} {value:.3f}")
