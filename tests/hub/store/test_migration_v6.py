"""Tests for step 6 of ``hub/store/migrations.py``: a version-5 database gains
``messages.kind`` and ``messages.text_sealed`` and the OTP tables, and keeps its rows."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from hub.messaging.message import LiveMessage
from hub.store.migrations import CURRENT
from hub.store.sqlite import SqliteStore
from protocol.lifecycle import State
from tests.hub.store.migration_db import (
    EARLY_ACCOUNTS,
    STAMP,
    columns,
    open_once,
    tables,
    user_version,
)

# The tables step 6 alters or the rows it must keep, as the version-5 schema created them.
V5_MESSAGES = """
CREATE TABLE messages (
    id                   TEXT PRIMARY KEY,
    account_id           TEXT NOT NULL REFERENCES accounts(id),
    to_number            TEXT NOT NULL,
    text                 TEXT NOT NULL,
    parts                INTEGER NOT NULL,
    encoding             TEXT NOT NULL,
    requested_device_id  TEXT,
    sim_slot             INTEGER,
    state                TEXT NOT NULL,
    device_id            TEXT,
    attempts             INTEGER NOT NULL DEFAULT 0,
    error_code           TEXT,
    error_message        TEXT,
    queued_at            TEXT NOT NULL,
    expires_at           TEXT NOT NULL,
    dispatched_at        TEXT,
    accepted_at          TEXT,
    sent_at              TEXT,
    delivered_at         TEXT,
    failed_at            TEXT,
    updated_at           TEXT NOT NULL
)"""
LATER = "2026-01-02T00:00:00.000Z"
INSERT_V5_MESSAGE = (
    "INSERT INTO messages (id, account_id, to_number, text, parts, encoding, state,"
    " queued_at, expires_at, updated_at) VALUES (?, 'acc_1', ?, ?, 1, 'gsm7', ?, ?, ?, ?)"
)


def make_v5(path: Path) -> None:
    """A database as a version-5 hub left it, with one account and two messages."""
    with closing(sqlite3.connect(path)) as db, db:
        db.execute(EARLY_ACCOUNTS)
        db.execute(V5_MESSAGES)
        db.execute(
            "INSERT INTO accounts (id, name, created_at) VALUES ('acc_1', 'Kept', ?)", (STAMP,)
        )
        for message_id, to, text, state in (
            ("req_1", "+998901234567", "hello", "queued"),
            ("req_2", "+998907654321", "bye", "delivered"),
        ):
            db.execute(INSERT_V5_MESSAGE, (message_id, to, text, state, STAMP, LATER, STAMP))
        db.execute("PRAGMA user_version = 5")


async def test_sqlite_store_adds_message_kind_sms_when_upgrading_a_v5_database(
    tmp_path: Path,
) -> None:
    path = tmp_path / "v5.db"
    make_v5(path)

    store = SqliteStore(path)
    await store.open()
    try:
        rows = await store.fetchall(
            "SELECT id, to_number, text, state, kind, text_sealed FROM messages ORDER BY id"
        )
    finally:
        await store.close()

    assert [tuple(r) for r in rows] == [
        ("req_1", "+998901234567", "hello", "queued", "sms", None),
        ("req_2", "+998907654321", "bye", "delivered", "sms", None),
    ]
    kind = columns(path, "messages")["kind"]
    assert (kind["type"], kind["notnull"], kind["dflt_value"]) == ("TEXT", 1, "'sms'")
    sealed = columns(path, "messages")["text_sealed"]
    assert (sealed["type"], sealed["notnull"], sealed["dflt_value"]) == ("BLOB", 0, None)


async def test_sqlite_store_creates_the_otp_tables_when_upgrading_a_v5_database(
    tmp_path: Path,
) -> None:
    path = tmp_path / "v5.db"
    make_v5(path)
    assert not tables(path) & {"otps", "otp_checks"}

    await open_once(path)

    assert tables(path) >= {"otps", "otp_checks"}
    assert {"code_hash", "status", "wrong_tries", "expires_at"} <= set(columns(path, "otps"))
    assert user_version(path) == CURRENT


async def test_sqlite_store_keeps_accounts_and_accepts_otps_for_them_after_upgrading(
    tmp_path: Path,
) -> None:
    path = tmp_path / "v5.db"
    make_v5(path)

    store = SqliteStore(path)
    await store.open()
    try:
        await store.execute(
            "INSERT INTO otps (id, account_id, message_id, to_number, purpose, locale,"
            " code_hash, status, created_at, expires_at)"
            " VALUES ('otp_1', 'acc_1', 'req_3', '+998901234567', 'login', 'en', x'00',"
            " 'pending', ?, ?)",
            (STAMP, LATER),
        )
        account = await store.fetchone("SELECT name FROM accounts WHERE id = 'acc_1'")
        otp = await store.fetchone("SELECT status, wrong_tries FROM otps WHERE id = 'otp_1'")
    finally:
        await store.close()

    assert account is not None and account["name"] == "Kept"
    assert otp is not None and (otp["status"], otp["wrong_tries"]) == ("pending", 0)


async def test_sqlite_store_gives_new_messages_kind_sms_after_upgrading(tmp_path: Path) -> None:
    path = tmp_path / "v5.db"
    make_v5(path)

    store = SqliteStore(path)
    await store.open()
    try:
        await store.execute(
            INSERT_V5_MESSAGE, ("req_3", "+998901234567", "new", "queued", STAMP, LATER, STAMP)
        )
        row = await store.fetchone("SELECT kind, text_sealed FROM messages WHERE id = 'req_3'")
    finally:
        await store.close()

    assert row is not None and (row["kind"], row["text_sealed"]) == ("sms", None)


async def test_live_message_reads_an_upgraded_v5_row_as_an_ordinary_sms(tmp_path: Path) -> None:
    path = tmp_path / "v5.db"
    make_v5(path)

    store = SqliteStore(path)
    await store.open()
    try:
        row = await store.fetchone("SELECT * FROM messages WHERE id = 'req_1'")
    finally:
        await store.close()

    def never(sealed: bytes) -> str:
        raise AssertionError("an upgraded message has no sealed text")

    assert row is not None
    message = LiveMessage.from_row(row, never)
    assert (message.kind, message.text, message.text_sealed) == ("sms", "hello", None)
    assert message.state is State.QUEUED


async def test_sqlite_store_keeps_the_v6_columns_when_an_upgraded_database_is_reopened(
    tmp_path: Path,
) -> None:
    path = tmp_path / "v5.db"
    make_v5(path)
    await open_once(path)
    with closing(sqlite3.connect(path)) as db, db:
        db.execute("UPDATE messages SET kind = 'otp', text_sealed = x'0102' WHERE id = 'req_1'")

    await open_once(path)  # current already: no step runs again

    with closing(sqlite3.connect(path)) as db:
        row = db.execute("SELECT kind, text_sealed FROM messages WHERE id = 'req_1'").fetchone()
    assert row == ("otp", b"\x01\x02")
    assert user_version(path) == CURRENT
