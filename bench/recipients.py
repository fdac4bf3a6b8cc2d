"""Recipients at scale: search latency at 100,000 recipients, and the time to queue
a 10,000-number list send, against a real hub process (``relayhub serve``).

Run: ``.venv/bin/python -m bench.recipients`` (not part of ``make test``).
The floor for search is the same trigram query run on raw SQLite in this
process over the same rows, so the ratio shows what HTTP, auth and JSON add.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from bench.harness import free_port, start
from hub.recipients.search_text import search_terms

TOKEN = "rh_bench_recipients_token_0123456789"
RECIPIENTS = 100_000
LIST_SIZE = 10_000
NAMES = ["Sherzod", "Dilnoza", "Aziza", "Bekzod", "Шахло", "Ўткир", "O\u02bbg\u02bbiloy", "Jasur"]
QUERIES = ["sherzod", "шахло", "otkir", "4567", "ogil", "di"]
SEARCHES = 50


def csv_rows(count: int) -> str:
    lines = ["phone,name,city"]
    for n in range(count):
        lines.append(f"+99890{n:07d},{NAMES[n % len(NAMES)]} {n},City{n % 12}")
    return "\n".join(lines) + "\n"


async def timed(client: httpx.AsyncClient, method: str, url: str, **kwargs: object) -> float:
    started = time.perf_counter()
    response = await client.request(method, url, **kwargs)  # type: ignore[arg-type]
    assert response.status_code < 300, response.text
    return (time.perf_counter() - started) * 1000


def floor_search_ms(rows: str) -> float:
    """The same fragment search on raw SQLite: FTS5 trigram over the same terms."""
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE t USING fts5(search, tokenize = 'trigram')")
    for line in rows.splitlines()[1:]:
        phone, name, _ = line.split(",")
        db.execute("INSERT INTO t (search) VALUES (?)", (search_terms(name, phone),))
    samples = []
    for query in QUERIES[:-1]:
        for _ in range(SEARCHES):
            started = time.perf_counter()
            db.execute(
                "SELECT rowid FROM t WHERE t MATCH ? ORDER BY rowid DESC LIMIT 51", (f'"{query}"',)
            ).fetchall()
            samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


async def main() -> None:
    data = Path(tempfile.mkdtemp(prefix="relayhub-bench-"))
    port = free_port()
    base = f"http://127.0.0.1:{port}/api/v1"
    hub = await start(
        ["-m", "hub", "serve", "--port", str(port), "--data", str(data)],
        "Uvicorn running on",
        env={"RELAYHUB_ADMIN_TOKEN": TOKEN},
    )
    headers = {"Authorization": f"Bearer {TOKEN}"}
    try:
        async with httpx.AsyncClient(timeout=120, headers=headers) as client:
            # A list send needs a paired device.
            pairing = (await client.post(f"{base}/relay/pairing-codes", json={})).json()
            await client.post(
                f"{base}/relay/app/pair", json={"pairing_code": pairing["pairing_code"]}
            )
            rows = csv_rows(RECIPIENTS)
            csv = {"content": rows.encode(), "headers": {"Content-Type": "text/csv"}}
            import_ms = await timed(client, "POST", f"{base}/recipients/import", **csv)
            results: dict[str, float] = {}
            for query in QUERIES:
                samples = [
                    await timed(client, "GET", f"{base}/recipients", params={"q": query})
                    for _ in range(SEARCHES)
                ]
                results[query] = statistics.median(samples)
            ids: list[str] = []
            cursor = ""
            while len(ids) < LIST_SIZE:
                params: dict[str, str | int] = {"limit": 500, "cursor": cursor}
                page = (await client.get(f"{base}/recipients", params=params)).json()
                ids += [r["id"] for r in page["items"]]
                cursor = page["next_cursor"]
            lists = f"{base}/recipient-lists"
            made = (await client.post(lists, json={"name": "bench", "recipient_ids": []})).json()
            for n in range(0, LIST_SIZE, 1000):
                chunk = {"recipient_ids": ids[n : n + 1000]}
                await client.post(f"{lists}/{made['id']}/members", json=chunk)
            send = {"list_id": made["id"], "text": "Salom {name} ({city})"}
            queue_ms = await timed(client, "POST", f"{lists}/queue", json=send)
    finally:
        hub.terminate()
        await hub.wait()
    floor = floor_search_ms(rows)
    report = {
        "recipients": RECIPIENTS,
        "import_100k_s": round(import_ms / 1000, 2),
        "search_p50_ms": {q: round(v, 2) for q, v in results.items()},
        "search_floor_p50_ms": round(floor, 3),
        "queue_10k_list_s": round(queue_ms / 1000, 2),
    }
    print(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    asyncio.run(main())
