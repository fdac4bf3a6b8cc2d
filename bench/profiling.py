"""Optional py-spy recordings of the hub over a benchmark's measured window."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from bench.harness import BenchHub


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
