"""The hub as a separate OS process, for tests that kill it with SIGKILL."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.pg_cluster import database_for, postgres_backend

READY_LINE = "Uvicorn running on"


@dataclass(frozen=True)
class Finished:
    """A ``relayhub`` run that exited by itself: its exit code and what it printed."""

    returncode: int
    stdout: str
    stderr: str


async def run_relayhub(*args: str, env: dict[str, str] | None = None) -> Finished:
    """Run ``relayhub ARGS`` to its end (a refused start, a one-shot command)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "hub", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, **(env or {})},
    )  # fmt: skip
    async with asyncio.timeout(20):
        out, err = await process.communicate()
    assert process.returncode is not None
    return Finished(process.returncode, out.decode(), err.decode())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class HubProcess:
    def __init__(
        self,
        data_dir: Path,
        port: int,
        admin_token: str,
        config: Path | None = None,
        database: str | None = None,
    ) -> None:
        """``database``: this PostgreSQL URL (several nodes share one), whatever the backend."""
        self.data_dir = data_dir
        self.config = config
        self.database = database
        self.port = port
        self.admin_token = admin_token
        self.base_url = f"http://127.0.0.1:{port}"
        self.process: asyncio.subprocess.Process | None = None
        self.log: list[str] = []  # stderr: the log
        self.output: list[str] = []  # stdout: the start-up banner
        self._output_grew = asyncio.Event()
        self._log_grew = asyncio.Event()
        self._drain: asyncio.Task[None] | None = None
        self._drain_out: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start ``relayhub serve`` and return once it accepts connections."""
        env = {**os.environ, "RELAYHUB_ADMIN_TOKEN": self.admin_token}
        config = ["--config", str(self.config)] if self.config else []
        if self.database is not None:
            config += ["--database", self.database]
        elif postgres_backend():
            config += ["--database", database_for(self.data_dir)]
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "hub", "serve", "--host", "127.0.0.1",
            "--port", str(self.port), "--data", str(self.data_dir), *config,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env,
        )  # fmt: skip
        assert self.process.stderr is not None
        self._drain_out = asyncio.create_task(self._drain_stdout())
        async with asyncio.timeout(20):
            while True:
                line = (await self.process.stderr.readline()).decode()
                if not line:
                    raise RuntimeError("the hub exited during start-up:\n" + "".join(self.log))
                self.log.append(line)
                if READY_LINE in line:
                    break
        self._drain = asyncio.create_task(self._drain_stderr())

    async def _drain_stderr(self) -> None:
        assert self.process is not None and self.process.stderr is not None
        while line := await self.process.stderr.readline():
            self.log.append(line.decode())
            self._log_grew.set()
        self._log_grew.set()  # stderr closed: a waiter stops waiting

    async def _drain_stdout(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        while line := await self.process.stdout.readline():
            self.output.append(line.decode())
            self._output_grew.set()
        self._output_grew.set()  # stdout closed: a waiter stops waiting

    async def wait_output(self, text: str) -> str:
        """The first stdout line holding ``text``, once the hub has printed it."""
        assert self.process is not None
        async with asyncio.timeout(20):
            while True:
                for line in self.output:
                    if text in line:
                        return line
                if self._drain_out is not None and self._drain_out.done():
                    raise AssertionError(f"the hub never printed {text!r}: {self.output}")
                self._output_grew.clear()
                await self._output_grew.wait()

    async def wait_log(self, text: str, timeout_s: float = 20) -> str:
        """The first log (stderr) line holding ``text``, once the hub has logged it."""
        async with asyncio.timeout(timeout_s):
            while True:
                for line in self.log:
                    if text in line:
                        return line
                if self._drain is not None and self._drain.done():
                    raise AssertionError(f"the hub never logged {text!r}")
                self._log_grew.clear()
                await self._log_grew.wait()

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    async def _drained(self) -> None:
        for task in (self._drain, self._drain_out):
            if task is not None:
                await task

    async def kill(self) -> None:
        """SIGKILL: no shutdown code runs, exactly like a crash or a power cut of the process."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()
        await self._drained()

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                async with asyncio.timeout(10):
                    await self.process.wait()
            except TimeoutError:
                await self.kill()
        await self._drained()
