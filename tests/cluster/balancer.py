"""Debian's haproxy in front of the nodes, run with the repository's own
deploy/haproxy.cfg (the file docs/operations.md tells operators to use)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
from pathlib import Path

from tests.e2e.hub_process import HubProcess, free_port

CONFIG = Path(__file__).resolve().parents[2] / "deploy" / "haproxy.cfg"
SERVERS = 3  # the config names node1..node3
REQUIRE_ENV = "RELAYHUB_REQUIRE_HAPROXY"


def missing_reason() -> str | None:
    if shutil.which("haproxy") is None:
        return "haproxy is not installed (apt-get install haproxy)"
    return None


class Balancer:
    def __init__(self, nodes: list[HubProcess]) -> None:
        assert len(nodes) == SERVERS, f"deploy/haproxy.cfg names {SERVERS} nodes"
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._env = {
            "RELAYHUB_LB_BIND": f"127.0.0.1:{self.port}",
            **{f"RELAYHUB_NODE{n + 1}": f"127.0.0.1:{node.port}" for n, node in enumerate(nodes)},
        }
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        """Start haproxy in the foreground; return once its port accepts connections."""
        self.process = await asyncio.create_subprocess_exec(
            "haproxy", "-db", "-f", str(CONFIG),
            env={**os.environ, **self._env},
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        async with asyncio.timeout(10):
            while True:
                if self.process.returncode is not None:
                    assert self.process.stderr is not None
                    raise RuntimeError((await self.process.stderr.read()).decode())
                try:
                    _, writer = await asyncio.open_connection("127.0.0.1", self.port)
                except OSError:
                    # haproxy announces no readiness; its listening port is the event.
                    await asyncio.sleep(0.02)
                    continue
                writer.close()
                await writer.wait_closed()
                return

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(5):
                    await self.process.wait()
            if self.process.returncode is None:
                self.process.kill()
                await self.process.wait()
