"""Bringing an existing database up to the current schema.

``schema.sql`` always describes the current schema and creates a new database
whole. A database made by an older hub is at an older ``PRAGMA user_version``
and gets the steps below, in order, before ``schema.sql`` adds anything new
(its statements are all ``IF NOT EXISTS``). A step is never changed once it
has shipped; a new one is appended.
"""

from __future__ import annotations

import re
import sqlite3
from typing import Final

# version → statements that take a database from version - 1 to it.
STEPS: Final[dict[int, tuple[str, ...]]] = {
    2: (
        "ALTER TABLE accounts ADD COLUMN subscription_expires_at TEXT",
        "ALTER TABLE accounts ADD COLUMN paused INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE accounts ADD COLUMN send_per_minute INTEGER",
        "ALTER TABLE accounts ADD COLUMN max_queued INTEGER",
    ),
    3: (),  # idempotency_keys: a new table, created by schema.sql
    4: (),  # webhook_endpoints: a new table, created by schema.sql
    # The event log, deliveries and attempts are new tables
    # created by schema.sql.
    5: (
        "ALTER TABLE devices ADD COLUMN presence TEXT NOT NULL DEFAULT 'offline'",
        "ALTER TABLE webhook_endpoints ADD COLUMN disabled_reason TEXT",
    ),
    # otps and otp_checks are new tables created by schema.sql.
    6: (
        "ALTER TABLE messages ADD COLUMN kind TEXT NOT NULL DEFAULT 'sms'",
        "ALTER TABLE messages ADD COLUMN text_sealed BLOB",
    ),
    # recipients (and their search index), lists, members and batches are new
    # tables created by schema.sql.
    7: ("ALTER TABLE messages ADD COLUMN batch_id TEXT",),
    # A version-5 database made while webhook deliveries were first written
    # lacks the column the sender now finds new deliveries by.
    8: ("ALTER TABLE webhook_deliveries ADD COLUMN event_seq INTEGER",),
    # message_events gains seq, the explicit order a message's history is read
    # in (it was read by rowid, which only SQLite has). The table is rebuilt
    # with seq as its INTEGER PRIMARY KEY, copied from the rowid, so the order
    # is the one it had; a database that never had the table gets it empty.
    9: (
        "CREATE TABLE IF NOT EXISTS message_events (message_id TEXT NOT NULL, at TEXT NOT NULL,"
        " state TEXT NOT NULL, cause TEXT NOT NULL, device_id TEXT, detail TEXT)",
        "CREATE TABLE message_events_v9 (seq INTEGER PRIMARY KEY, message_id TEXT NOT NULL,"
        " at TEXT NOT NULL, state TEXT NOT NULL, cause TEXT NOT NULL, device_id TEXT,"
        " detail TEXT)",
        "INSERT INTO message_events_v9 (seq, message_id, at, state, cause, device_id, detail)"
        " SELECT rowid, message_id, at, state, cause, device_id, detail FROM message_events",
        "DROP TABLE message_events",
        "ALTER TABLE message_events_v9 RENAME TO message_events",
    ),
    # Several hub nodes share one PostgreSQL (its version 10 adds their tables);
    # SQLite serves one node and needs none of them.
    10: (),
    # PostgreSQL's 11 orders events by their transaction and lets one node claim
    # a webhook attempt; SQLite has one writer, whose seq order is commit order.
    11: (),
    # Node death (reaped nodes, fencing) is PostgreSQL's alone.
    12: (),
    # Cluster-wide limits and secrets live in PostgreSQL only (its version 13).
    13: (),
    # A cancelled message is told as message.cancelled (it was message.failed):
    # endpoints that heard of cancels through message.failed keep hearing of them.
    14: (
        "UPDATE webhook_endpoints SET events = events || ' message.cancelled'"
        " WHERE ' ' || events || ' ' LIKE '% message.failed %'"
        " AND ' ' || events || ' ' NOT LIKE '% message.cancelled %'",
    ),
}
CURRENT: Final = max(STEPS)


def migrate(conn: sqlite3.Connection, schema: str) -> int:
    """Create or upgrade the database; returns the version it was at (0: new)."""
    existed = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'accounts'"
    ).fetchone()
    # The first schema shipped without a version number: it is version 1.
    version = conn.execute("PRAGMA user_version").fetchone()[0] or (1 if existed else 0)
    if version > CURRENT:
        raise RuntimeError(
            f"the database is at schema version {version}, newer than this hub's {CURRENT};"
            " run the newer hub (or restore a backup made for this one)"
        )
    conn.execute("BEGIN IMMEDIATE")
    try:
        if existed:
            for step in range(version + 1, CURRENT + 1):
                for statement in STEPS.get(step, ()):
                    if _applies(conn, statement):
                        conn.execute(statement)
        for statement in _statements(schema):
            conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {CURRENT}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return version if existed else 0


_ADD_COLUMN = re.compile(r"^ALTER TABLE (\w+) ADD COLUMN (\w+) ")
_UPDATE = re.compile(r"^UPDATE (\w+) ")


def _applies(conn: sqlite3.Connection, statement: str) -> bool:
    """False for a column added to a table this database never had (schema.sql
    creates it whole) or already has (it came with the table), and for rows
    changed in a table it never had."""
    updated = _UPDATE.match(statement)
    if updated is not None:
        (table,) = updated.groups()
        return bool(conn.execute(f"PRAGMA table_info({table})").fetchall())
    added = _ADD_COLUMN.match(statement)
    if added is None:
        return True
    table, column = added.groups()
    columns = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
    return bool(columns) and column not in columns


def _statements(script: str) -> list[str]:
    # executescript() would commit on its own; split so it all shares one
    # transaction. complete_statement() knows about comments and quotes.
    statements, buffer = [], ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    return statements
