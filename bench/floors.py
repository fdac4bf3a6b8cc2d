"""The machine's floors, measured in the same run as the hub's figures.

The machine is shared and noisy, so a hub figure alone says little; beside
the cost of the bare pieces it is built from, the ratio compares across runs:

- a bare Starlette endpoint that parses the same body and answers 202
  (``bench/floor_app.py`` under uvicorn): HTTP's own price, for accept and
  for the POST half of push latency;
- a raw ``websockets`` echo round trip: the socket half of push latency;
- one SQLite commit of one row with the hub's default ``synchronous=FULL``:
  the disk's flush, which every durable 202 waits for.
"""

from __future__ import annotations

import asyncio
import sqlite3
import tempfile
import time
from pathlib import Path

import httpx
from websockets.asyncio.client import connect

from bench.harness import HOST, free_port, percentile, start, stop
from bench.http_load import Connection, build_request, hammer

BODY = b'{"to": "+998901234567", "text": "Salom from the benchmark"}'
PATH = "/api/v1/sms/send"


async def bare_starlette(samples: int, clients: int, seconds: float) -> dict[str, float]:
    """Round trip (raw client and httpx) and 202s per second of the bare endpoint."""
    port = free_port()
    app = await start(
        ["-m", "uvicorn", "bench.floor_app:app", "--port", str(port), "--no-access-log"],
        "Uvicorn running on",
    )
    try:
        request = build_request(PATH, BODY, None, f"{HOST}:{port}")
        conn = await Connection.open(HOST, port)
        raw = []
        for _ in range(samples):
            began = time.perf_counter()
            status, _ = await conn.round_trip(request)
            raw.append((time.perf_counter() - began) * 1000)
            assert status == 202
        conn.close()
        via_httpx = []
        async with httpx.AsyncClient(base_url=f"http://{HOST}:{port}") as client:
            for _ in range(samples):
                began = time.perf_counter()
                answer = await client.post(
                    PATH, content=BODY, headers={"Content-Type": "application/json"}
                )
                via_httpx.append((time.perf_counter() - began) * 1000)
                assert answer.status_code == 202
        load = await hammer(HOST, port, request, clients, seconds, keep_bodies=False)
    finally:
        await stop(app)
    return {
        "post_p50_ms": percentile(raw, 0.5),
        "post_p99_ms": percentile(raw, 0.99),
        "post_httpx_p50_ms": percentile(via_httpx, 0.5),
        "accept_rps": load.count(202) / load.elapsed_s,
    }


async def websocket_echo(samples: int) -> dict[str, float]:
    """Round trip of a small text frame through a bare ``websockets`` echo server."""
    port = free_port()
    server = await start(["-m", "bench.ws_floor", "serve", str(port)], "listening", stream="stdout")
    try:
        times = []
        async with connect(f"ws://{HOST}:{port}", compression=None) as ws:
            frame = '{"type":"send","id":"req_0","to":"+998901234567","text":"Salom"}'
            for _ in range(samples):
                began = time.perf_counter()
                await ws.send(frame)
                await ws.recv()
                times.append((time.perf_counter() - began) * 1000)
    finally:
        await stop(server)
    return {"ws_echo_p50_ms": percentile(times, 0.5), "ws_echo_p99_ms": percentile(times, 0.99)}


def sqlite_commit(samples: int) -> dict[str, float]:
    """Latency of committing one row in WAL mode with ``synchronous=FULL``.

    That is the flush of the write-ahead log to disk: the price of "durable
    before acknowledged" that no code of the hub can remove.
    """
    with tempfile.TemporaryDirectory(prefix="relayhub-floor-") as work:
        conn = sqlite3.connect(Path(work) / "floor.db", isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("CREATE TABLE t (id TEXT PRIMARY KEY, body TEXT NOT NULL)")
        times = []
        for index in range(samples):
            began = time.perf_counter()
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO t VALUES (?, ?)", (f"req_{index}", "x" * 200))
            conn.execute("COMMIT")
            times.append((time.perf_counter() - began) * 1000)
        conn.close()
    return {
        "sqlite_commit_p50_ms": percentile(times, 0.5),
        "sqlite_commit_p99_ms": percentile(times, 0.99),
    }


if __name__ == "__main__":

    async def _main() -> None:
        print(await bare_starlette(200, 64, 3))
        print(await websocket_echo(200))
        print(sqlite_commit(200))

    asyncio.run(_main())
