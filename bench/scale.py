"""Issue 9: the hub holding many relays, and many relays coming back at once.

4. idle scale: 10,000 relays connected and heartbeating (``[relay]`` defaults:
   heartbeat every 30 s, a hub ping every 20 s). ``idle_relays`` is how many
   the hub itself reports online (``GET /v1/stats``); ``rss_per_relay_kib`` the
   hub's resident memory with all of them connected and settled, minus before
   the first connected, per relay; ``idle_cpu_percent`` the hub's CPU over
   30 s of that idle. The floor, ``idle_floor_rss_per_conn_kib``, is the same
   memory figure for a bare ``websockets`` echo server holding as many idle
   sockets: what a Python WebSocket costs before the hub adds anything.
5. reconnect storm: 5,000 relays (one held job for every fifth, dispatched
   but never answered: relay_sim's ``stalled`` profile) drop their sockets at
   once and reconnect with no backoff delay (SIGUSR1 to each simulator
   process). ``storm_s`` runs from the drop until every relay is welcomed again
   AND every held job has been offered to its relay again (PROTOCOL.md: after
   the welcome the hub re-sends what is still dispatched; each job is pinned to
   its device, so one the hub put back in the queue comes back to the same
   relay too). The floor, ``storm_floor_s``, is the same number of bare
   ``websockets`` clients in as many processes, dropped the same way, until
   all are connected again. ``storm_hub_cpu_s`` and ``storm_floor_cpu_s`` are
   the server's CPU over each storm: on a shared machine they say more than
   the wall clock about which server is slower.

Everything is a real process: the hub (``relayhub serve``), the simulators
(``python -m relay_sim``, 2,500 relays or fewer each: one asyncio process
handles a few thousand sockets), the floor server and clients
(``bench.ws_floor``); this module only orchestrates them and reads their
status lines. Each scenario starts its own hub and pairs its own devices
through the REST pairing flow, so ``bench.run`` can call it again and again.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import signal
import sys
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, Final

import httpx

from bench.harness import (
    HOST,
    TOKEN,
    BenchHub,
    cpu_seconds,
    free_port,
    raise_fd_limit,
    rss_kib,
    running_hub,
    start,
    stop,
)
from relay_sim.pairing import PairedDevice, pair_device
from relay_sim.state import save_devices

PER_PROCESS: Final = 2_500  # sockets one client process is given at most
PAIRING_CLIENTS: Final = 8  # concurrent pairings, so the hub is never waiting on one client
SETTLE_S: Final = 5.0  # after the last connect, before memory is read
IDLE_WINDOW_S: Final = 30.0
JOB_EVERY: Final = 5  # storm: every fifth relay holds one unanswered job
STATUS_INTERVAL_S: Final = 0.1  # storm: how often each process reports (the clock's grain)
STORM_TIMEOUT_S: Final = 300.0
# Storm: jobs must not time out and be re-queued while the storm runs, so a
# re-sent job is one the reconnect brought back. Nothing else departs from defaults.
STORM_CONFIG: Final = "[relay]\nack_timeout_s = 600\n"

_T0 = time.perf_counter()


def _note(text: str) -> None:
    """Progress on stderr: a scenario runs for minutes, mostly pairing."""
    print(f"[scale {time.perf_counter() - _T0:7.1f} s] {text}", file=sys.stderr, flush=True)


_ONLINE = re.compile(r"(\d+)/(\d+) (?:online|connected)")
_JOBS = re.compile(r"jobs (\d+) · repeats (\d+)")


# --- client processes and their status lines -----------------------------------


@dataclass
class Status:
    """What one client process said last."""

    online: int = 0
    jobs: int = 0
    repeats: int = 0
    # Set by Swarm.drop until the process notes the drop: summary lines
    # written before it saw the signal are stale.
    awaiting_drop: bool = False
    stderr: deque[str] = field(default_factory=lambda: deque(maxlen=20))


class Swarm:
    """Client processes (simulators or floor clients), followed through their stdout.

    ``async with Swarm() as crowd``: every process is stopped on the way out.
    """

    def __init__(self) -> None:
        self.processes: list[asyncio.subprocess.Process] = []
        self.statuses: list[Status] = []
        self._changed = asyncio.Event()
        self._readers: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> Swarm:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await asyncio.gather(*(stop(process) for process in self.processes))
        for task in self._readers:
            task.cancel()

    @property
    def online(self) -> int:
        return sum(s.online for s in self.statuses)

    def total(self, name: str) -> int:
        return sum(getattr(s, name) for s in self.statuses)

    def cpu_seconds(self) -> float:
        return sum(cpu_seconds(process.pid) for process in self.processes)

    async def add(self, args: list[str], count: int) -> None:
        """Start ``python args…`` and return once its ``count`` sockets are all up."""
        process = await asyncio.create_subprocess_exec(
            sys.executable, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        status = Status()
        self.processes.append(process)
        self.statuses.append(status)
        assert process.stdout is not None and process.stderr is not None
        for coroutine in (self._follow(process.stdout, status), _tail(process.stderr, status)):
            task = asyncio.create_task(coroutine)
            self._readers.add(task)
            task.add_done_callback(self._readers.discard)
        await self.wait(lambda: status.online == count, timeout=300)

    def drop(self) -> float:
        """Tell every process to drop all its sockets at once; returns when, on perf_counter."""
        for status in self.statuses:
            status.awaiting_drop, status.online = True, 0
        started = time.perf_counter()
        for process in self.processes:
            process.send_signal(signal.SIGUSR1)
        return started

    async def wait(self, predicate: Callable[[], bool], timeout: float) -> None:  # noqa: ASYNC109
        try:
            async with asyncio.timeout(timeout):
                while not predicate():
                    for process, status in zip(self.processes, self.statuses, strict=True):
                        if process.returncode is not None:
                            raise RuntimeError(f"a client process exited: {list(status.stderr)}")
                    self._changed.clear()
                    await self._changed.wait()
        except TimeoutError:
            lines = [(s.online, s.jobs, s.repeats, s.awaiting_drop) for s in self.statuses]
            raise TimeoutError(f"still waiting after {timeout:g} s: {lines}") from None

    async def _follow(self, stdout: asyncio.StreamReader, status: Status) -> None:
        while line := (await stdout.readline()).decode():
            if "dropped" in line:
                status.awaiting_drop = False
            elif (online := _ONLINE.search(line)) is not None:
                if not status.awaiting_drop:
                    status.online = int(online[1])
                if (jobs := _JOBS.search(line)) is not None:
                    status.jobs, status.repeats = int(jobs[1]), int(jobs[2])
            self._changed.set()
        self._changed.set()  # the process ended: let wait() see it


async def _tail(stderr: asyncio.StreamReader, status: Status) -> None:
    while line := (await stderr.readline()).decode():
        status.stderr.append(line.rstrip())


def _shares(total: int) -> list[int]:
    """``total`` split over as few processes as hold it, as evenly as possible."""
    processes = -(-total // PER_PROCESS)
    return [total // processes + (i < total % processes) for i in range(processes)]


# --- the hub's side ------------------------------------------------------------


async def pair_fleet(hub: BenchHub, count: int) -> list[PairedDevice]:
    """Pair ``count`` devices through the REST flow, a few clients at a time."""
    names = iter(range(1, count + 1))
    devices: list[PairedDevice] = []

    async def worker() -> None:
        async with httpx.AsyncClient(timeout=60) as client:
            for number in names:
                devices.append(await pair_device(client, hub.base, TOKEN, f"Bench relay {number}"))

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(PAIRING_CLIENTS)))
    _note(f"paired {count} devices in {time.perf_counter() - started:.0f} s")
    return devices


async def start_simulators(
    crowd: Swarm, hub: BenchHub, devices: list[PairedDevice], profile: str, interval_s: float
) -> None:
    """One simulator per share of ``devices``, each started once the previous is online."""
    first = 0
    for index, share in enumerate(_shares(len(devices))):
        state = hub.work / f"sim-{index}.json"
        save_devices(state, devices[first : first + share])
        first += share
        await crowd.add(
            ["-m", "relay_sim", "--hub", hub.base, "--relays", str(share), "--state", str(state),
             "--profile", profile, "--summary-interval", str(interval_s)],
            share,
        )  # fmt: skip
        _note(f"{first} relays online")


async def hub_stats(hub: BenchHub) -> dict[str, Any]:
    """``GET /v1/stats``: the hub's own view of its queue and of which devices are online."""
    async with hub.client(timeout=120) as client:
        answer = await client.get("/api/v1/stats")
        answer.raise_for_status()
        stats: dict[str, Any] = answer.json()
        return stats


async def online_devices(hub: BenchHub) -> int:
    return sum(device["online"] for device in (await hub_stats(hub))["devices"])


async def queue_held_jobs(hub: BenchHub, devices: list[PairedDevice]) -> None:
    """One message pinned to each of ``devices``, so the same relay gets it back."""
    pending = iter(devices)

    async def worker() -> None:
        async with hub.client() as client:
            for device in pending:
                answer = await client.post(
                    "/api/v1/sms/send",
                    json={"to": "+998901234567", "text": "held", "device_id": device.device_id},
                )
                answer.raise_for_status()

    await asyncio.gather(*(worker() for _ in range(PAIRING_CLIENTS)))


# --- the floor -----------------------------------------------------------------


@contextlib.asynccontextmanager
async def floor_server() -> AsyncIterator[tuple[asyncio.subprocess.Process, str]]:
    raise_fd_limit()
    port = free_port()
    process = await start(
        ["-m", "bench.ws_floor", "serve", str(port)], "listening", stream="stdout"
    )
    try:
        yield process, f"ws://{HOST}:{port}/"
    finally:
        await stop(process)


async def start_floor_clients(crowd: Swarm, url: str, count: int, interval_s: float) -> None:
    for share in _shares(count):
        await crowd.add(
            ["-m", "bench.ws_floor", "clients", url, str(share),
             "--summary-interval", str(interval_s)],
            share,
        )  # fmt: skip


# --- the scenarios ---------------------------------------------------------------


async def idle_scale(relays: int = 10_000) -> dict[str, float]:
    """Figure 4: memory and CPU of the hub holding ``relays`` idle relays, and the floor's."""
    async with running_hub() as hub, Swarm() as crowd:
        devices = await pair_fleet(hub, relays)
        await asyncio.sleep(SETTLE_S)
        before = rss_kib(hub.pid)
        await start_simulators(crowd, hub, devices, "ideal", 1.0)
        await asyncio.sleep(SETTLE_S)
        after = rss_kib(hub.pid)
        idle_relays = await online_devices(hub)
        cpu, started = cpu_seconds(hub.pid), time.perf_counter()
        await asyncio.sleep(IDLE_WINDOW_S)
        cpu_percent = 100 * (cpu_seconds(hub.pid) - cpu) / (time.perf_counter() - started)
        idle_relays = min(idle_relays, await online_devices(hub))
    _note(f"hub: {after - before} KiB more for {idle_relays} relays, {cpu_percent:.1f} % CPU idle")
    async with floor_server() as (server, url), Swarm() as crowd:
        await asyncio.sleep(1)  # let the fresh process finish starting before the baseline
        floor_before = rss_kib(server.pid)
        await start_floor_clients(crowd, url, relays, 1.0)
        await asyncio.sleep(SETTLE_S)
        floor_after = rss_kib(server.pid)
    return {
        "idle_relays": idle_relays,
        "rss_per_relay_kib": round((after - before) / relays, 2),
        "idle_cpu_percent": round(cpu_percent, 2),
        "idle_floor_rss_per_conn_kib": round((floor_after - floor_before) / relays, 2),
    }


async def reconnect_storm(relays: int = 5_000) -> dict[str, float]:
    """Figure 5: seconds for ``relays`` dropped at once to be back with their jobs; the floor's."""
    async with running_hub(STORM_CONFIG) as hub, Swarm() as crowd:
        devices = await pair_fleet(hub, relays)
        await start_simulators(crowd, hub, devices, "stalled", STATUS_INTERVAL_S)
        held = devices[::JOB_EVERY]
        await queue_held_jobs(hub, held)
        await crowd.wait(lambda: crowd.total("jobs") == len(held), timeout=120)
        queue = (await hub_stats(hub))["queue"]
        if queue["dispatched"] != len(held):
            raise RuntimeError(f"expected {len(held)} jobs dispatched before the drop: {queue}")
        repeats = crowd.total("repeats")
        cpu, sims_cpu = cpu_seconds(hub.pid), crowd.cpu_seconds()
        started = crowd.drop()
        await crowd.wait(
            lambda: crowd.online == relays and crowd.total("repeats") >= repeats + len(held),
            timeout=STORM_TIMEOUT_S,
        )
        storm_s = time.perf_counter() - started
        cpu, sims_cpu = cpu_seconds(hub.pid) - cpu, crowd.cpu_seconds() - sims_cpu
    _note(f"hub: storm {storm_s:.2f} s, hub CPU {cpu:.2f} s, simulators' CPU {sims_cpu:.2f} s")
    async with floor_server() as (server, url), Swarm() as crowd:
        await start_floor_clients(crowd, url, relays, STATUS_INTERVAL_S)
        floor_cpu, clients_cpu = cpu_seconds(server.pid), crowd.cpu_seconds()
        started = crowd.drop()
        await crowd.wait(lambda: crowd.online == relays, timeout=STORM_TIMEOUT_S)
        floor_s = time.perf_counter() - started
        floor_cpu = cpu_seconds(server.pid) - floor_cpu
        clients_cpu = crowd.cpu_seconds() - clients_cpu
    _note(
        f"floor: storm {floor_s:.2f} s, server CPU {floor_cpu:.2f} s, clients' {clients_cpu:.2f} s"
    )
    return {
        "storm_s": round(storm_s, 2),
        "storm_hub_cpu_s": round(cpu, 2),
        "storm_floor_s": round(floor_s, 2),
        "storm_floor_cpu_s": round(floor_cpu, 2),
        "storm_ratio_to_floor": round(storm_s / floor_s, 2),
    }


async def main() -> None:
    figures = {**await idle_scale(), **await reconnect_storm()}
    width = max(map(len, figures))
    for name, value in figures.items():
        print(f"{name:<{width}}  {value}")


if __name__ == "__main__":
    asyncio.run(main())
