"""Tests for step 5 of ``hub/store/migrations.py``: a version-4 database gains
``devices.presence`` and ``webhook_endpoints.disabled_reason`` and keeps its rows."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from hub.store.migrations import CURRENT
from hub.store.sqlite import SqliteStore
from tests.hub.store.migration_db import EARLY_ACCOUNTS, STAMP, columns, open_once, user_version

# The tables step 5 alters, as the version-4 schema created them.
V4_DEVICES = """
CREATE TABLE devices (
    id                TEXT PRIMARY KEY,
    account_id        TEXT NOT NULL REFERENCES accounts(id),
    name              TEXT NOT NULL,
    token_hash        BLOB NOT NULL UNIQUE,
    created_at        TEXT NOT NULL,
    disabled          INTEGER NOT NULL DEFAULT 0,
    revoked_at        TEXT,
    model             TEXT,
    app_version       TEXT,
    os                TEXT,
    sims              TEXT NOT NULL DEFAULT '[]',
    parts_per_minute  INTEGER,
    last_seq          INTEGER NOT NULL DEFAULT 0,
    last_seen_at      TEXT,
    battery           INTEGER,
    charging          INTEGER,
    signal            INTEGER,
    network           TEXT
)"""
V4_WEBHOOK_ENDPOINTS = """
CREATE TABLE webhook_endpoints (
    id                    TEXT PRIMARY KEY,
    account_id            TEXT NOT NULL REFERENCES accounts(id),
    url                   TEXT NOT NULL,
    events                TEXT NOT NULL,
    description           TEXT NOT NULL DEFAULT '',
    enabled               INTEGER NOT NULL DEFAULT 1,
    secret_sealed         BLOB NOT NULL,
    previous_sealed       BLOB,
    previous_until        TEXT,
    created_at            TEXT NOT NULL,
    updated_at            TEXT NOT NULL
)"""


def make_v4(path: Path, *, with_endpoints: bool = True) -> None:
    """A database as a version-4 hub left it, with one row in each altered table."""
    with closing(sqlite3.connect(path)) as db, db:
        db.execute(EARLY_ACCOUNTS)
        db.execute(V4_DEVICES)
        db.execute(
            "INSERT INTO accounts (id, name, created_at) VALUES ('acc_1', 'Kept', ?)", (STAMP,)
        )
        db.execute(
            "INSERT INTO devices (id, account_id, name, token_hash, created_at, battery)"
            " VALUES ('dev_1', 'acc_1', 'Pixel', x'01', ?, 80)",
            (STAMP,),
        )
        if with_endpoints:
            db.execute(V4_WEBHOOK_ENDPOINTS)
            db.execute(
                "INSERT INTO webhook_endpoints (id, account_id, url, events, enabled,"
                " secret_sealed, created_at, updated_at)"
                " VALUES ('whe_1', 'acc_1', 'https://example.com/hook', 'message.sent', 0,"
                " x'0102', ?, ?)",
                (STAMP, STAMP),
            )
        db.execute("PRAGMA user_version = 4")


async def test_sqlite_store_adds_device_presence_offline_when_upgrading_a_v4_database(
    tmp_path: Path,
) -> None:
    path = tmp_path / "v4.db"
    make_v4(path)

    store = SqliteStore(path)
    await store.open()
    try:
        row = await store.fetchone("SELECT name, battery, presence FROM devices WHERE id = 'dev_1'")
    finally:
        await store.close()

    assert row is not None
    assert (row["name"], row["battery"], row["presence"]) == ("Pixel", 80, "offline")
    presence = columns(path, "devices")["presence"]
    assert (presence["type"], presence["notnull"], presence["dflt_value"]) == (
        "TEXT", 1, "'offline'",
    )  # fmt: skip


async def test_sqlite_store_adds_endpoint_disabled_reason_when_upgrading_a_v4_database(
    tmp_path: Path,
) -> None:
    path = tmp_path / "v4.db"
    make_v4(path)

    store = SqliteStore(path)
    await store.open()
    try:
        row = await store.fetchone(
            "SELECT url, enabled, secret_sealed, disabled_reason FROM webhook_endpoints"
        )
    finally:
        await store.close()

    assert row is not None
    assert (row["url"], row["enabled"], row["secret_sealed"], row["disabled_reason"]) == (
        "https://example.com/hook", 0, b"\x01\x02", None,
    )  # fmt: skip
    reason = columns(path, "webhook_endpoints")["disabled_reason"]
    assert (reason["type"], reason["notnull"], reason["dflt_value"]) == ("TEXT", 0, None)


async def test_sqlite_store_gives_new_devices_presence_offline_after_upgrading(
    tmp_path: Path,
) -> None:
    path = tmp_path / "v4.db"
    make_v4(path)

    store = SqliteStore(path)
    await store.open()
    try:
        await store.execute(
            "INSERT INTO devices (id, account_id, name, token_hash, created_at)"
            " VALUES ('dev_2', 'acc_1', 'Galaxy', x'02', ?)",
            (STAMP,),
        )
        row = await store.fetchone("SELECT presence FROM devices WHERE id = 'dev_2'")
    finally:
        await store.close()

    assert row is not None and row["presence"] == "offline"


async def test_sqlite_store_creates_the_event_and_delivery_tables_when_upgrading_a_v4_database(
    tmp_path: Path,
) -> None:
    path = tmp_path / "v4.db"
    make_v4(path)

    await open_once(path)

    with closing(sqlite3.connect(path)) as db:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert tables >= {"events", "webhook_deliveries", "webhook_attempts"}
    assert user_version(path) == CURRENT


async def test_sqlite_store_upgrades_a_database_without_webhook_endpoints_to_v5(
    tmp_path: Path,
) -> None:
    # Made by a hub before version 4: step 5 has no endpoints table to alter, and
    # schema.sql creates it whole, disabled_reason included.
    path = tmp_path / "v3.db"
    make_v4(path, with_endpoints=False)
    with closing(sqlite3.connect(path)) as db:
        db.execute("PRAGMA user_version = 3")

    await open_once(path)

    assert "disabled_reason" in columns(path, "webhook_endpoints")
    assert "presence" in columns(path, "devices")
    assert user_version(path) == CURRENT


async def test_sqlite_store_keeps_the_v5_columns_when_an_upgraded_database_is_reopened(
    tmp_path: Path,
) -> None:
    path = tmp_path / "v4.db"
    make_v4(path)
    await open_once(path)
    with closing(sqlite3.connect(path)) as db, db:
        db.execute("UPDATE devices SET presence = 'online'")

    await open_once(path)  # current already: no step runs again

    with closing(sqlite3.connect(path)) as db:
        assert db.execute("SELECT presence FROM devices").fetchone()[0] == "online"
    assert user_version(path) == CURRENT
