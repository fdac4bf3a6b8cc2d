"""Group commit on each backend: N concurrent single-row writes, ops per second.

``python -m bench.store_writes``: the SQLite store in a temp folder and the
PostgreSQL store on a private cluster (tests/pg_cluster.py, fsync on), each
fed the same waves of concurrent one-row inserts; median of 3 runs.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from hub.store.interface import Store, Tx
from hub.store.postgres import PostgresStore
from hub.store.sqlite import SqliteStore
from tests.pg_cluster import PgCluster

WRITES = 20_000
CONCURRENT = 200
NOW = "2026-01-01T00:00:00Z"


def _insert(n: int) -> Any:
    def op(tx: Tx) -> None:
        tx.execute(
            "INSERT INTO message_events (message_id, at, state, cause) VALUES (?, ?, ?, ?)",
            (f"req_{n}", NOW, "queued", "bench"),
        )

    return op


async def _ops_per_s(store: Store) -> float:
    await store.open()
    try:
        began = time.perf_counter()
        for wave in range(0, WRITES, CONCURRENT):
            await asyncio.gather(*(store.write(_insert(n)) for n in range(wave, wave + CONCURRENT)))
        return WRITES / (time.perf_counter() - began)
    finally:
        await store.close()


async def main() -> None:
    cluster = PgCluster()
    cluster.start()
    try:
        for name in ("sqlite", "postgres"):
            runs = []
            for run in range(3):
                if name == "sqlite":
                    folder = Path(tempfile.mkdtemp(prefix="relayhub-bench-"))
                    store: Store = SqliteStore(folder / "bench.db")
                else:
                    store = PostgresStore(cluster.create_database(f"bench_{run}"))
                runs.append(await _ops_per_s(store))
            spread = f"{min(runs):,.0f}-{max(runs):,.0f}"
            print(f"{name}: {statistics.median(runs):,.0f} ops/s (runs {spread})", flush=True)
    finally:
        cluster.destroy()


if __name__ == "__main__":
    asyncio.run(main())
