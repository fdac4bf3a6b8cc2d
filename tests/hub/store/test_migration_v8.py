"""Migration step 8: a version-5 database whose webhook_deliveries lacks event_seq
(made while deliveries were first written) is brought up to date."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from hub.store.migrations import CURRENT
from hub.store.sqlite import SqliteStore

OLD_DELIVERIES = """
CREATE TABLE webhook_deliveries (
    id TEXT PRIMARY KEY, account_id TEXT NOT NULL, endpoint_id TEXT NOT NULL,
    event_id TEXT NOT NULL, event_type TEXT NOT NULL, status TEXT NOT NULL,
    attempt_count INTEGER NOT NULL DEFAULT 0, next_attempt_at TEXT, redelivery_of TEXT,
    created_at TEXT NOT NULL, updated_at TEXT NOT NULL
)
"""


async def test_a_v5_database_without_event_seq_gets_it_and_keeps_its_deliveries(
    tmp_path: Path,
) -> None:
    path = tmp_path / "hub.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE accounts (id TEXT PRIMARY KEY, name TEXT NOT NULL,"
                   " created_at TEXT NOT NULL)")  # fmt: skip
        db.execute(OLD_DELIVERIES)
        db.execute(
            "INSERT INTO webhook_deliveries VALUES ('dlv_1', 'acc_1', 'whk_1', 'evt_1',"
            " 'message.sent', 'pending', 0, '2026-01-01T00:00:00.000Z', NULL,"
            " '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z')"
        )
        db.execute("PRAGMA user_version = 5")
    db.close()

    store = SqliteStore(path)
    await store.open()
    try:
        columns = {r["name"] for r in await store.fetchall("PRAGMA table_info(webhook_deliveries)")}
        kept = await store.fetchall("SELECT id, event_seq FROM webhook_deliveries")
        version = await store.fetchone("PRAGMA user_version")
    finally:
        await store.close()

    assert "event_seq" in columns
    assert [(r["id"], r["event_seq"]) for r in kept] == [("dlv_1", None)]
    assert version is not None and version[0] == CURRENT
