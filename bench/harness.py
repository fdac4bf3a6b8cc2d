"""What every benchmark scenario shares: real processes, a hub to aim at, and statistics.

A scenario is ``async def run(hub: BenchHub) -> dict[str, float]`` (or takes
no hub when it measures a floor); ``bench.run`` calls each several times and
reports medians with their spread.
"""

from __future__ import annotations

import asyncio
import os
import resource
import shutil
import socket
import statistics
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

TOKEN = "rh_bench_admin_token_0123456789"
HOST = "127.0.0.1"

_drains: set[asyncio.Task[None]] = set()

# Figure → why the scenario that runs now could not measure it (a missing
# program, a part of the hub not built yet); ``bench.run`` records it.
MISSING: dict[str, str] = {}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def raise_fd_limit() -> None:
    """Thousands of sockets need thousands of descriptors: take the hard limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


async def start(
    args: list[str],
    ready: str,
    env: dict[str, str] | None = None,
    *,
    stream: str = "stderr",
    read_on: bool = False,
) -> asyncio.subprocess.Process:
    """Start ``python args…`` and return once ``ready`` appears on its ``stream``.

    The other stream is discarded; the watched one is drained in the
    background afterwards, since a full pipe would block the process, unless
    the caller reads on itself (``read_on``).
    """
    pipe, devnull = asyncio.subprocess.PIPE, asyncio.subprocess.DEVNULL
    process = await asyncio.create_subprocess_exec(
        sys.executable, *args,
        stdout=pipe if stream == "stdout" else devnull,
        stderr=pipe if stream == "stderr" else devnull,
        env={**os.environ, **(env or {})},
    )  # fmt: skip
    output = process.stdout if stream == "stdout" else process.stderr
    assert output is not None
    try:
        async with asyncio.timeout(120):
            while ready not in (line := (await output.readline()).decode()):
                if not line:
                    raise RuntimeError(f"{args} exited during start-up")
    except BaseException:
        await stop(process)
        raise
    if read_on:
        return process
    task = asyncio.create_task(_drain(output))
    _drains.add(task)
    task.add_done_callback(_drains.discard)
    return process


async def _drain(output: asyncio.StreamReader) -> None:
    while await output.readline():
        pass


async def stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.terminate()
        try:
            async with asyncio.timeout(20):
                await process.wait()
        except TimeoutError:
            process.kill()
            await process.wait()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kib(pid: int) -> int:
    """Resident memory of a process now, in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def median(values: list[float]) -> float:
    return statistics.median(values)


@dataclass
class BenchHub:
    """A hub running as ``relayhub serve`` on a fresh data folder, with its admin token."""

    process: asyncio.subprocess.Process
    port: int
    work: Path
    account_id: str
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def base(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def pid(self) -> int:
        return self.process.pid

    def client(self, timeout: float = 30) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self.base, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=timeout
        )


@asynccontextmanager
async def running_hub(
    config: str = "", env: dict[str, str] | None = None
) -> AsyncIterator[BenchHub]:
    """A hub with generous account limits: the benchmark measures capacity, not limits.

    ``config`` is extra ``hub.toml`` text (its ``[server]`` table already has
    ``access_log = false``).
    """
    raise_fd_limit()
    work = Path(tempfile.mkdtemp(prefix="relayhub-bench-"))
    config_file = work / "bench.toml"
    config_file.write_text("[server]\naccess_log = false\n" + config)
    port = free_port()
    process = await start(
        ["-m", "hub", "serve", "--port", str(port), "--data", str(work / "data"),
         "--config", str(config_file)],
        "Uvicorn running on", {"RELAYHUB_ADMIN_TOKEN": TOKEN, **(env or {})},
    )  # fmt: skip
    try:
        hub = BenchHub(process, port, work, account_id="")
        async with hub.client() as client:
            hub.account_id = (await client.get("/api/v1/account")).json()["account_id"]
            answer = await client.patch(
                f"/api/v1/admin/accounts/{hub.account_id}",
                json={"limits": {"send_per_minute": 100_000, "max_queued": 10_000_000}},
            )
            answer.raise_for_status()
        yield hub
    finally:
        await stop(process)
        shutil.rmtree(work, ignore_errors=True)  # a 10,000-relay run leaves ~80 MB
