"""PostgreSQL's floors, measured on the private cluster the hub figures use, in the same run.

- ``pg_fsync_ops_per_s``: ``pg_test_fsync``'s fdatasync line (one 8 kB write
  and its flush) on the data folder's own disk: what a durable commit waits
  for, whatever the engine does above it.
- ``pg_notify_p50_ms`` / ``..._p99_ms``: a bare NOTIFY round trip: one
  connection LISTENs, another commits ``NOTIFY`` (autocommit, so a real
  commit), timed from the send to the listener holding it. The cross-node
  push adds this hop (and a claim) to a same-node push.
- ``pg_claim_rows_per_s``: bare ``FOR UPDATE SKIP LOCKED`` claims of 100
  queued rows per transaction by 4 connections at once; each commit durable.
  Every row must be claimed exactly once, or the floor is refused.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import time

import psycopg

from bench.harness import percentile
from tests.pg_cluster import PgCluster

NOTIFY_SAMPLES = 300
CLAIM_ROWS = 20_000
CLAIM_BATCH = 100
CLAIMERS = 4
FSYNC_SECONDS = 1  # pg_test_fsync's time per method; only the fdatasync line is kept

_FDATASYNC = re.compile(r"^\s*fdatasync\s+([\d.]+) ops/sec", re.MULTILINE)


def fsync_ops_per_s(cluster: PgCluster) -> float:
    """fdatasync ops/s of one 8 kB write, on the disk that holds the cluster's data."""
    target = cluster.root / "pg_test_fsync.out"
    done = subprocess.run(
        [str(cluster.bin / "pg_test_fsync"), "-f", str(target), "-s", str(FSYNC_SECONDS)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    target.unlink(missing_ok=True)
    found = _FDATASYNC.search(done.stdout)  # the first one: "one 8kB write"
    if found is None:
        raise RuntimeError(f"pg_test_fsync printed no fdatasync line:\n{done.stdout}")
    return float(found.group(1))


async def notify_round_trip(url: str, samples: int = NOTIFY_SAMPLES) -> dict[str, float]:
    """p50/p99 of NOTIFY committed on one connection → received on another."""
    listener = await psycopg.AsyncConnection.connect(url, autocommit=True)
    sender = await psycopg.AsyncConnection.connect(url, autocommit=True)
    try:
        await listener.execute("LISTEN bench_floor")
        took = []
        for n in range(samples):
            began = time.perf_counter()
            await sender.execute("SELECT pg_notify('bench_floor', %s)", (str(n),))
            async for note in listener.notifies(timeout=5, stop_after=1):
                assert note.payload == str(n), note
            took.append((time.perf_counter() - began) * 1000)
        if len(took) != samples:
            raise RuntimeError("a NOTIFY never arrived")
    finally:
        await sender.close()
        await listener.close()
    return {"pg_notify_p50_ms": percentile(took, 0.5), "pg_notify_p99_ms": percentile(took, 0.99)}


async def skip_locked_claims(url: str) -> float:
    """Rows per second claimed by ``CLAIMERS`` connections, ``CLAIM_BATCH`` a transaction."""
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as setup:
        await setup.execute("DROP TABLE IF EXISTS bench_claims")
        await setup.execute(
            "CREATE TABLE bench_claims (id bigint PRIMARY KEY, owner text, body text NOT NULL)"
        )
        await setup.execute(
            "INSERT INTO bench_claims (id, body)"
            " SELECT n, repeat('x', 200) FROM generate_series(1, %s) AS n",
            (CLAIM_ROWS,),
        )
    claimed: list[int] = []

    async def claimer(name: str) -> None:
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
            while True:
                rows = await (
                    await conn.execute(
                        "UPDATE bench_claims SET owner = %s WHERE id IN (SELECT id FROM"
                        " bench_claims WHERE owner IS NULL ORDER BY id LIMIT %s"
                        " FOR UPDATE SKIP LOCKED) RETURNING id",
                        (name, CLAIM_BATCH),
                    )
                ).fetchall()
                if not rows:
                    return
                claimed.extend(row[0] for row in rows)

    began = time.perf_counter()
    await asyncio.gather(*(claimer(f"c{n}") for n in range(CLAIMERS)))
    elapsed = time.perf_counter() - began
    if sorted(claimed) != list(range(1, CLAIM_ROWS + 1)):
        raise RuntimeError("a SKIP LOCKED claim took a row twice or missed one")
    return CLAIM_ROWS / elapsed


async def measure(cluster: PgCluster, url: str) -> dict[str, float]:
    return {
        "pg_fsync_ops_per_s": round(fsync_ops_per_s(cluster), 1),
        **await notify_round_trip(url),
        "pg_claim_rows_per_s": round(await skip_locked_claims(url), 1),
    }


if __name__ == "__main__":

    async def _main() -> None:
        cluster = PgCluster()
        cluster.start()
        try:
            print(await measure(cluster, cluster.create_database("floors")))
        finally:
            cluster.destroy()

    asyncio.run(_main())
