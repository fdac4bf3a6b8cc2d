"""Tests for ``hub/store/sqlite.py`` and ``schema.sql``: the embedded store on a real file."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from hub.store.interface import Conflict, StorageUnavailable, Tx
from hub.store.migrations import CURRENT
from hub.store.sqlite import SCHEMA_PATH, SqliteStore
from tests.hub.store.store_faults import CommitFaults

THREAD_WAIT_S = 5.0
SCHEMA_TABLES = {
    "accounts",
    "tokens",
    "pairing_codes",
    "devices",
    "messages",
    "message_events",
    "inbound_messages",
    "idempotency_keys",
    "webhook_endpoints",
    "events",
    "webhook_deliveries",
    "webhook_attempts",
    "otps",
    "otp_checks",
    "recipients",
    "recipient_lists",
    "list_members",
    "batches",
    # recipients_fts and the tables FTS5 keeps for it
    "recipients_fts",
    "recipients_fts_data",
    "recipients_fts_idx",
    "recipients_fts_docsize",
    "recipients_fts_config",
    "sqlite_sequence",  # kept by SQLite for the AUTOINCREMENT of events.seq
}
ADD_ACCOUNT = "INSERT INTO accounts (id, name, created_at) VALUES (?, ?, '2026-01-01T00:00:00Z')"


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    s = SqliteStore(tmp_path / "data" / "hub.db")
    await s.open()
    yield s
    await s.close()


async def writer_pragma(store: SqliteStore, name: str) -> object:
    return await store.writer.run_in_thread(
        lambda conn: conn.execute(f"PRAGMA {name}").fetchone()[0]
    )


async def test_sqlite_store_creates_its_folder_and_every_table_when_opened(
    store: SqliteStore,
) -> None:
    rows = await store.fetchall("SELECT name FROM sqlite_master WHERE type = 'table'")

    assert store.path.parent.is_dir()
    assert {row["name"] for row in rows} >= SCHEMA_TABLES


async def test_sqlite_store_uses_wal_journal_when_opened(store: SqliteStore) -> None:
    row = await store.fetchone("PRAGMA journal_mode")

    assert row is not None
    assert row[0] == "wal"
    assert await writer_pragma(store, "journal_mode") == "wal"


async def test_sqlite_store_writes_with_synchronous_full_when_not_told_otherwise(
    store: SqliteStore,
) -> None:
    assert await writer_pragma(store, "synchronous") == 2  # FULL


async def test_sqlite_store_writes_with_synchronous_normal_when_configured(
    tmp_path: Path,
) -> None:
    store = SqliteStore(tmp_path / "hub.db", synchronous="NORMAL")
    await store.open()
    try:
        assert await writer_pragma(store, "synchronous") == 1  # NORMAL
    finally:
        await store.close()


async def test_sqlite_store_enforces_foreign_keys_when_writing(store: SqliteStore) -> None:
    with pytest.raises(Conflict):
        await store.execute(
            "INSERT INTO devices (id, account_id, name, token_hash, created_at)"
            " VALUES ('dev_1', 'acc_missing', 'phone', x'00', '2026-01-01T00:00:00Z')"
        )


async def test_sqlite_store_raises_conflict_and_keeps_nothing_of_the_op_when_a_key_is_taken(
    store: SqliteStore,
) -> None:
    await store.execute(ADD_ACCOUNT, ("acc_1", "first"))

    def twice(tx: Tx) -> None:
        tx.execute(ADD_ACCOUNT, ("acc_2", "second"))
        tx.execute(ADD_ACCOUNT, ("acc_1", "again"))

    with pytest.raises(Conflict) as raised:
        await store.write(twice)

    assert isinstance(raised.value.__cause__, sqlite3.IntegrityError)
    rows = await store.fetchall("SELECT id, name FROM accounts ORDER BY id")
    assert [(r["id"], r["name"]) for r in rows] == [("acc_1", "first")]


async def test_sqlite_store_answers_a_read_round_trip_only_while_open(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "hub.db")
    await store.open()
    await store.answers()
    await store.close()

    with pytest.raises(StorageUnavailable):
        await store.answers()


async def test_sqlite_store_fetch_sees_a_write_once_it_is_acknowledged(
    store: SqliteStore,
) -> None:
    changed = await store.execute(ADD_ACCOUNT, ("acc_1", "one"))
    await store.write(lambda conn: conn.execute(ADD_ACCOUNT, ("acc_2", "two")).rowcount)

    one = await store.fetchone("SELECT name FROM accounts WHERE id = ?", ("acc_1",))
    every = await store.fetchall("SELECT id, name FROM accounts ORDER BY id")

    assert changed == 1
    assert one is not None
    assert one["name"] == "one"
    assert [(r["id"], r["name"]) for r in every] == [("acc_1", "one"), ("acc_2", "two")]


async def test_sqlite_store_fetch_does_not_see_a_write_while_its_batch_is_uncommitted(
    store: SqliteStore,
) -> None:
    inserted, release = threading.Event(), threading.Event()

    def slow(conn: sqlite3.Connection) -> None:
        conn.execute(ADD_ACCOUNT, ("acc_1", "one"))
        inserted.set()
        release.wait(THREAD_WAIT_S)

    pending = store.submit(slow)
    try:
        assert await asyncio.to_thread(inserted.wait, THREAD_WAIT_S)
        during = await store.fetchone("SELECT id FROM accounts")
    finally:
        release.set()
    await pending
    after = await store.fetchone("SELECT id FROM accounts")

    assert during is None
    assert after is not None
    assert after["id"] == "acc_1"


async def test_sqlite_store_execute_returns_the_number_of_rows_changed_when_updating(
    store: SqliteStore,
) -> None:
    for i in range(3):
        await store.execute(ADD_ACCOUNT, (f"acc_{i}", "old"))

    changed = await store.execute("UPDATE accounts SET name = 'new' WHERE name = 'old'")

    assert changed == 3


async def test_sqlite_store_logs_a_failed_background_write_when_written_later(
    store: SqliteStore, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO no_such_table VALUES (1)")

    with caplog.at_level(logging.WARNING, logger="hub.store.sqlite"):
        store.write_later(broken)
        await store.execute(ADD_ACCOUNT, ("acc_1", "one"))  # a later write: the first is done

    assert "background write failed" in caplog.text
    assert await store.fetchone("SELECT id FROM accounts") is not None


async def test_sqlite_store_answers_a_write_submitted_just_before_close_when_closed(
    tmp_path: Path,
) -> None:
    store = SqliteStore(tmp_path / "hub.db")
    await store.open()
    pending = store.submit(lambda conn: conn.execute(ADD_ACCOUNT, ("acc_1", "one")).rowcount)

    await store.close()

    try:
        assert pending.done(), "the caller waits forever"
    finally:
        if not pending.done():
            pending.cancel()
    # Answered either way is right: committed (1 row) or refused, never left waiting.
    if pending.exception() is None:
        assert pending.result() == 1
    else:
        assert isinstance(pending.exception(), StorageUnavailable)


async def test_sqlite_store_raises_storage_unavailable_when_read_before_open(
    tmp_path: Path,
) -> None:
    store = SqliteStore(tmp_path / "hub.db")

    with pytest.raises(StorageUnavailable):
        await store.fetchone("SELECT 1")


async def test_sqlite_store_raises_storage_unavailable_when_read_after_close(
    tmp_path: Path,
) -> None:
    store = SqliteStore(tmp_path / "hub.db")
    await store.open()
    await store.close()

    with pytest.raises(StorageUnavailable):
        await store.fetchall("SELECT 1")


async def test_sqlite_store_keeps_its_data_when_reopened(tmp_path: Path) -> None:
    path = tmp_path / "hub.db"
    first = SqliteStore(path)
    await first.open()
    await first.execute(ADD_ACCOUNT, ("acc_1", "one"))
    await first.close()

    second = SqliteStore(path)
    await second.open()  # applies the schema again on a database that has it
    try:
        row = await second.fetchone("SELECT name FROM accounts WHERE id = 'acc_1'")
    finally:
        await second.close()

    assert row is not None
    assert row["name"] == "one"


def test_schema_applies_twice_without_error_when_run_on_the_same_database(
    tmp_path: Path,
) -> None:
    schema = SCHEMA_PATH.read_text()
    conn = sqlite3.connect(tmp_path / "twice.db")
    try:
        conn.executescript(schema)
        conn.executescript(schema)
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    finally:
        conn.close()

    assert tables == SCHEMA_TABLES


V1_ACCOUNTS = (
    "CREATE TABLE accounts (id TEXT PRIMARY KEY, name TEXT NOT NULL, created_at TEXT NOT NULL)"
)


async def test_sqlite_store_upgrades_a_database_made_by_the_first_schema(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as old:  # what the first release created: no user_version
        old.execute(V1_ACCOUNTS)
        old.execute(ADD_ACCOUNT, ("acc_1", "Kept"))

    store = SqliteStore(path)
    await store.open()
    try:
        row = await store.fetchone("SELECT name, paused, max_queued FROM accounts")
        version = await store.writer.run_in_thread(
            lambda conn: conn.execute("PRAGMA user_version").fetchone()[0]
        )
    finally:
        await store.close()

    assert row is not None and (row["name"], row["paused"], row["max_queued"]) == ("Kept", 0, None)
    assert version == CURRENT


async def test_sqlite_store_opens_a_current_database_again_without_change(tmp_path: Path) -> None:
    for name in ("first", "second"):
        store = SqliteStore(tmp_path / "again.db")
        await store.open()
        await store.execute(ADD_ACCOUNT, (f"acc_{name}", name))
        await store.close()
    with sqlite3.connect(tmp_path / "again.db") as db:
        assert [r[0] for r in db.execute("SELECT id FROM accounts ORDER BY id")] == [
            "acc_first", "acc_second",
        ]  # fmt: skip


async def test_sqlite_store_refuses_a_database_from_a_newer_hub(tmp_path: Path) -> None:
    path = tmp_path / "newer.db"
    with sqlite3.connect(path) as newer:
        newer.execute(V1_ACCOUNTS)
        newer.execute(f"PRAGMA user_version = {CURRENT + 1}")

    store = SqliteStore(path)
    with pytest.raises(RuntimeError, match="newer than this hub"):
        await store.open()
    await store.close()


async def test_sqlite_store_probe_commits_a_page_where_a_barrier_commits_nothing(
    store: SqliteStore,
) -> None:
    # data_version changes for a connection when another one commits a change.
    with sqlite3.connect(store.path, isolation_level=None) as watcher:

        def version() -> int:
            return int(watcher.execute("PRAGMA data_version").fetchone()[0])

        before = version()
        await store.barrier()
        after_barrier = version()
        await store.probe()
        after_probe = version()
        schema = watcher.execute("PRAGMA user_version").fetchone()[0]

    assert after_barrier == before  # an empty commit succeeds even on a full disk
    assert after_probe != after_barrier  # the probe needed room to write
    assert schema == CURRENT  # and changed nothing


async def test_sqlite_store_probe_says_the_database_is_busy_when_another_process_holds_it(
    tmp_path: Path,
) -> None:
    store = SqliteStore(tmp_path / "busy.db", busy_timeout_ms=50)
    await store.open()
    blocker = sqlite3.connect(store.path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StorageUnavailable) as failed:
            await store.probe()
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    await store.probe()  # and works again once the lock is gone
    await store.close()

    assert failed.value.cause == "busy"


async def test_a_read_after_a_commit_sees_it_while_other_reads_are_in_flight(
    store: SqliteStore,
) -> None:
    # Reads share one connection. A read whose statement stays open across an
    # await holds that connection's snapshot, and a read started meanwhile
    # would not see a commit made in between: each read must run whole.
    for n in range(200):
        await store.execute(ADD_ACCOUNT, (f"acc_seed{n}", "seed"))
    stop = asyncio.Event()

    async def busy_reader() -> None:
        while not stop.is_set():
            await store.fetchone("SELECT id FROM accounts ORDER BY id")

    readers = [asyncio.create_task(busy_reader()) for _ in range(4)]
    try:
        for n in range(200):
            await store.execute(ADD_ACCOUNT, (f"acc_new{n}", "new"))
            row = await store.fetchone("SELECT id FROM accounts WHERE id = ?", (f"acc_new{n}",))
            assert row is not None, f"write {n} was not visible to the read after it"
    finally:
        stop.set()
        await asyncio.gather(*readers)


async def test_sqlite_store_says_the_disk_failed_and_keeps_nothing_when_a_commit_fails(
    tmp_path: Path,
) -> None:
    store = SqliteStore(tmp_path / "hub.db")
    faults = CommitFaults()
    store.writer.connect = faults.wrap(store.writer.connect)  # the seam a test wraps
    await store.open()
    try:
        faults.fail_next()
        with pytest.raises(StorageUnavailable) as failed:
            await store.write(
                lambda conn: conn.execute(
                    "INSERT INTO accounts (id, name, created_at) VALUES ('acc_lost', 'Lost', 'x')"
                )
            )
        rows = await store.fetchall("SELECT id FROM accounts WHERE id = 'acc_lost'")
    finally:
        await store.close()

    assert failed.value.cause == "disk"
    assert rows == []
