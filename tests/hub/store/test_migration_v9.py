"""Migration step 9: message_events gains ``seq``, the explicit order of a message's
history (read by rowid before), and keeps every event in the order it had."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from hub.store.migrations import CURRENT
from tests.hub.store.migration_db import EARLY_ACCOUNTS, columns, open_once, user_version

OLD_EVENTS = """
CREATE TABLE message_events (
    message_id TEXT NOT NULL, at TEXT NOT NULL, state TEXT NOT NULL, cause TEXT NOT NULL,
    device_id TEXT, detail TEXT
)"""
# Written out of time order (a clock step back) so the order kept is the rowid's, not the time's.
EVENTS = [
    ("req_1", "2026-01-01T00:00:02.000Z", "queued", "send"),
    ("req_1", "2026-01-01T00:00:01.000Z", "dispatched", "relay"),
    ("req_2", "2026-01-01T00:00:00.000Z", "queued", "send"),
    ("req_1", "2026-01-01T00:00:01.000Z", "accepted", "relay"),
]


def make_v8(path: Path, events: list[tuple[str, str, str, str]]) -> None:
    with closing(sqlite3.connect(path)) as db, db:
        db.execute(EARLY_ACCOUNTS)
        db.execute(OLD_EVENTS)
        db.executemany(
            "INSERT INTO message_events (message_id, at, state, cause) VALUES (?, ?, ?, ?)", events
        )
        db.execute("PRAGMA user_version = 8")


def history(path: Path, message_id: str) -> list[tuple[int, str]]:
    with closing(sqlite3.connect(path)) as db:
        rows = db.execute(
            "SELECT seq, state FROM message_events WHERE message_id = ? ORDER BY seq",
            (message_id,),
        )
        return list(rows)


async def test_a_v8_database_gets_seq_in_the_order_its_events_were_written(
    tmp_path: Path,
) -> None:
    path = tmp_path / "hub.db"
    make_v8(path, EVENTS)

    await open_once(path)

    assert columns(path, "message_events")["seq"]["pk"] == 1
    assert history(path, "req_1") == [(1, "queued"), (2, "dispatched"), (4, "accepted")]
    assert history(path, "req_2") == [(3, "queued")]
    assert user_version(path) == CURRENT


async def test_an_event_written_after_step_9_comes_after_the_ones_it_kept(
    tmp_path: Path,
) -> None:
    path = tmp_path / "hub.db"
    make_v8(path, EVENTS)
    await open_once(path)

    with closing(sqlite3.connect(path)) as db, db:
        db.execute(
            "INSERT INTO message_events (message_id, at, state, cause)"
            " VALUES ('req_1', '2026-01-01T00:00:00.000Z', 'sent', 'relay')"
        )
        indexes = {r[1] for r in db.execute("PRAGMA index_list(message_events)")}

    assert history(path, "req_1")[-1] == (5, "sent")
    assert "message_events_message" in indexes  # schema.sql made it again for the new table


async def test_a_v8_database_without_message_events_gets_the_table_with_seq(
    tmp_path: Path,
) -> None:
    path = tmp_path / "hub.db"
    with closing(sqlite3.connect(path)) as db, db:
        db.execute(EARLY_ACCOUNTS)
        db.execute("PRAGMA user_version = 8")

    await open_once(path)

    assert set(columns(path, "message_events")) == {
        "seq", "message_id", "at", "state", "cause", "device_id", "detail"
    }  # fmt: skip
    assert user_version(path) == CURRENT
