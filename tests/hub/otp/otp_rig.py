"""What the OTP tests share: two accounts on a real store, the numbers and times
they use, and helpers to send a code and read what storage holds of it.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

from hub.messaging.writes import run_statements
from hub.otp import NewOtp, Otps
from hub.store.interface import Row
from hub.store.sqlite import SqliteStore

ACCOUNT = "acc_1"
OTHER_ACCOUNT = "acc_2"
TO = "+998901234567"
OTHER_TO = "+998907654321"
PURPOSE = "login"
START = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)  # whole seconds: stored times are exact
TTL_S = 300
MAX_TRIES = 5
ADD_ACCOUNT = "INSERT INTO accounts (id, name, created_at) VALUES (?, ?, '2026-01-01T00:00:00Z')"

_message_ids = itertools.count(1)


async def send(
    otps: Otps,
    store: SqliteStore,
    *,
    account: str = ACCOUNT,
    to: str = TO,
    purpose: str = PURPOSE,
    ttl_s: int = TTL_S,
) -> NewOtp:
    """Create an OTP and commit its statements, as the API does with its message."""
    new = otps.create(account, f"req_{next(_message_ids):04d}", to, purpose, "en", ttl_s, 6)
    await store.write(run_statements(new.statements))
    return new


def wrong(code: str) -> str:
    """A code of the same length that is not ``code``."""
    return f"{(int(code) + 1) % 10 ** len(code):0{len(code)}d}"


async def otp_row(store: SqliteStore, otp_id: str) -> Row:
    row = await store.fetchone("SELECT * FROM otps WHERE id = ?", (otp_id,))
    assert row is not None
    return row


async def check_results(store: SqliteStore, otp_id: str) -> list[str]:
    """The results of the code's checks, oldest first. ``otp_checks`` keeps no
    sequence, so checks made at one instant come in result order: the same on
    every backend, where insertion order (SQLite's rowid) is not."""
    rows = await store.fetchall(
        "SELECT result FROM otp_checks WHERE otp_id = ? ORDER BY at, result", (otp_id,)
    )
    return [r["result"] for r in rows]
