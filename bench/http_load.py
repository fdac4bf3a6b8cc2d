"""A minimal keep-alive HTTP/1.1 client on asyncio streams, cheap enough to load a server.

httpx spends more CPU per request than the hub does, so it would measure
itself. This client sends one fixed request per round trip and reads the
status line, headers and a Content-Length body; nothing more.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from dataclasses import dataclass, field


@dataclass
class LoadResult:
    statuses: dict[int, int] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)
    elapsed_s: float = 0.0

    def count(self, status: int) -> int:
        return self.statuses.get(status, 0)


def build_request(path: str, body: bytes, token: str | None, host: str) -> bytes:
    lines = [
        f"POST {path} HTTP/1.1",
        f"Host: {host}",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
    ]
    if token:
        lines.append(f"Authorization: Bearer {token}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, host: str, port: int) -> Connection:
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer)

    async def round_trip(self, request: bytes) -> tuple[int, bytes]:
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        body = await self.reader.readexactly(length) if length else b""
        return status, body

    def close(self) -> None:
        self.writer.close()


async def hammer(
    host: str, port: int, request: bytes, connections: int, seconds: float, keep_bodies: bool
) -> LoadResult:
    """``connections`` clients each send ``request`` back to back for ``seconds``."""
    result = LoadResult()
    deadline = time.perf_counter() + seconds

    async def client() -> None:
        conn = await Connection.open(host, port)
        try:
            while time.perf_counter() < deadline:
                start = time.perf_counter()
                status, body = await conn.round_trip(request)
                result.latencies.append(time.perf_counter() - start)
                result.statuses[status] = result.statuses.get(status, 0) + 1
                if keep_bodies:
                    result.bodies.append(body)
        finally:
            conn.close()

    start = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(connections)))
    result.elapsed_s = time.perf_counter() - start
    return result


async def paced(
    host: str, port: int, request: bytes, rate: float, stop: asyncio.Event, connections: int = 16
) -> LoadResult:
    """Send ``request`` at about ``rate`` per second over ``connections`` until ``stop`` is set.

    Each client keeps its own schedule (one request every ``connections / rate``
    seconds); a late answer delays only the next request, not the schedule.
    """
    result = LoadResult()
    interval = connections / rate

    async def client(offset: float) -> None:
        conn = await Connection.open(host, port)
        due = time.perf_counter() + offset
        try:
            while not stop.is_set():
                wait = due - time.perf_counter()
                if wait > 0:
                    try:
                        await asyncio.wait_for(stop.wait(), wait)
                        break
                    except TimeoutError:
                        pass
                due += interval
                status, _ = await conn.round_trip(request)
                result.statuses[status] = result.statuses.get(status, 0) + 1
        finally:
            conn.close()

    began = time.perf_counter()
    await asyncio.gather(*(client(i * interval / connections) for i in range(connections)))
    result.elapsed_s = time.perf_counter() - began
    return result


async def _paced_for(port: int, body: bytes, token: str, rate: float, seconds: float) -> None:
    request = build_request("/api/v1/sms/send", body, token, f"127.0.0.1:{port}")
    stop = asyncio.Event()
    asyncio.get_running_loop().call_later(seconds, stop.set)
    print("load started", flush=True)
    result = await paced("127.0.0.1", port, request, rate, stop)
    print(json.dumps({"statuses": result.statuses, "elapsed_s": result.elapsed_s}), flush=True)


if __name__ == "__main__":
    # A background load in its own process, so it does not share a CPU with
    # whatever the orchestrator measures: python -m bench.http_load PORT RATE SECONDS BODY TOKEN
    port, rate, seconds, body, token = sys.argv[1:6]
    asyncio.run(_paced_for(int(port), body.encode(), token, float(rate), float(seconds)))
