"""Creating or upgrading a PostgreSQL database to the current schema.

``postgres_schema.sql`` always describes the current schema and creates a new
database whole (its statements are all idempotent). Several hubs may start on
one database at once, so the work runs in one transaction under an advisory
lock: the first creates, the others wait and then find nothing left to do.

The version numbers are SQLite's (``hub.store.migrations``): version 9 is the
first that PostgreSQL ever had. A later SQLite step that changes a table needs
its PostgreSQL statements here under the same number (a test keeps the two
lists of versions ending alike).
"""

from __future__ import annotations

from importlib import resources
from typing import Any, Final

import psycopg

SCHEMA_PATH = resources.files("hub.store").joinpath("postgres_schema.sql")

# version → statements that take a database from version - 1 to it.
STEPS: Final[dict[int, tuple[str, ...]]] = {
    9: (),
    # Several nodes: messages gain the node holding a queued one; hub_nodes and
    # relay_sessions are new tables created by the schema.
    10: ('ALTER TABLE messages ADD COLUMN IF NOT EXISTS owner_node TEXT COLLATE "C"',),
    # Events and deliveries read in commit order; webhook attempts claimed by one
    # node at a time (the new indexes come with the schema).
    11: (
        "ALTER TABLE events ADD COLUMN IF NOT EXISTS xid xid8 NOT NULL"
        " DEFAULT pg_current_xact_id()",
        "ALTER TABLE webhook_deliveries ADD COLUMN IF NOT EXISTS made_xid xid8 NOT NULL"
        " DEFAULT pg_current_xact_id()",
        'ALTER TABLE webhook_deliveries ADD COLUMN IF NOT EXISTS locked_by TEXT COLLATE "C"',
        "ALTER TABLE webhook_deliveries ADD COLUMN IF NOT EXISTS locked_until TIMESTAMPTZ",
        'ALTER TABLE webhook_deliveries ADD COLUMN IF NOT EXISTS locked_at TEXT COLLATE "C"',
    ),
    # Node death: messages gain the reaped node an orphan was left by;
    # reaped_nodes and the fencing function rh_hold_node are created by the schema.
    12: ('ALTER TABLE messages ADD COLUMN IF NOT EXISTS orphan_of TEXT COLLATE "C"',),
    # Cluster-wide limits and secrets: new tables, an index and rh_admit_send,
    # created by the schema.
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

# pg_advisory_xact_lock's key: "relayhub" in ASCII, so another application's
# lock on the same database is unlikely to collide with it.
_LOCK_KEY: Final = 0x72656C6179687562


def migrate(conn: psycopg.Connection[Any]) -> int:
    """Create or upgrade the database; returns the version it was at (0: new)."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
        version = _version_of(conn)
        if version > CURRENT:
            raise RuntimeError(
                f"the database is at schema version {version}, newer than this hub's {CURRENT};"
                " run the newer hub (or restore a backup made for this one)"
            )
        if version == CURRENT:
            return version
        # pg_trgm is a trusted extension: a database owner may create it.
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        if version:
            for step in range(version + 1, CURRENT + 1):
                for statement in STEPS[step]:
                    conn.execute(statement.encode())
        conn.execute(SCHEMA_PATH.read_text().encode())  # a script: no parameters
        conn.execute("DELETE FROM schema_version")
        conn.execute("INSERT INTO schema_version (version) VALUES (%s)", (CURRENT,))
    return version


def _version_of(conn: psycopg.Connection[Any]) -> int:
    exists = conn.execute("SELECT to_regclass('schema_version') IS NOT NULL").fetchone()
    if not exists or not exists[0]:
        return 0
    row = conn.execute("SELECT max(version) FROM schema_version").fetchone()
    return int(row[0]) if row and row[0] is not None else 0
