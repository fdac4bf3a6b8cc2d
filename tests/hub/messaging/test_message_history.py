"""Tests for ``hub/messaging/history.py``: the message reads the API answers from,
on a real SQLite store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hub.clock import ManualClock, rfc3339
from hub.ids import new_id
from hub.messaging.history import MessageHistory, MessageQuery
from hub.store.sqlite import SqliteStore

NOW = datetime(2026, 3, 2, 9, 30, 0, tzinfo=UTC)
MIDNIGHT = datetime(2026, 3, 2, tzinfo=UTC)
MAX_TTL_S = 3600


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    s = SqliteStore(tmp_path / "hub.db")
    await s.open()
    for account in ("acc_1", "acc_2"):
        await s.execute(
            "INSERT INTO accounts (id, name, created_at) VALUES (?, ?, ?)",
            (account, account, rfc3339(NOW)),
        )
    await s.execute(
        "INSERT INTO devices (id, account_id, name, token_hash, created_at)"
        " VALUES ('dev_1', 'acc_1', 'Pixel', x'01', ?)",
        (rfc3339(NOW),),
    )
    yield s
    await s.close()


@pytest.fixture
def history(store: SqliteStore) -> MessageHistory:
    return MessageHistory(store, ManualClock(NOW), MAX_TTL_S)


async def add_message(
    store: SqliteStore,
    queued: datetime,
    *,
    account: str = "acc_1",
    state: str = "queued",
    device: str | None = None,
    to: str = "+998901234567",
    **stamps: datetime,
) -> str:
    """Store one message queued at ``queued``; ``stamps``: sent_at, failed_at, delivered_at."""
    message_id = new_id("req", queued)
    columns = ["id", "account_id", "to_number", "text", "parts", "encoding", "state",
               "device_id", "queued_at", "expires_at", "updated_at", *stamps]  # fmt: skip
    values = [message_id, account, to, "hi", 1, "gsm7", state, device, rfc3339(queued),
              rfc3339(queued + timedelta(seconds=MAX_TTL_S)), rfc3339(queued),
              *(rfc3339(v) for v in stamps.values())]  # fmt: skip
    await store.execute(
        f"INSERT INTO messages ({', '.join(columns)}) VALUES ({', '.join('?' * len(values))})",
        values,
    )
    return message_id


async def test_history_finds_a_message_with_its_device_name_only_in_its_own_account(
    store: SqliteStore, history: MessageHistory
) -> None:
    message_id = await add_message(store, NOW, device="dev_1")

    found = await history.find("acc_1", message_id)
    other = await history.find("acc_2", message_id)

    assert found is not None and found["device_name"] == "Pixel"
    assert other is None


async def test_history_reads_events_in_the_order_they_were_written_not_by_time(
    store: SqliteStore, history: MessageHistory
) -> None:
    message_id = await add_message(store, NOW)
    for at, state in (("2026-03-02T09:30:02.000Z", "queued"),
                      ("2026-03-02T09:30:01.000Z", "dispatched")):  # fmt: skip
        await store.execute(
            "INSERT INTO message_events (message_id, at, state, cause) VALUES (?, ?, ?, 'test')",
            (message_id, at, state),
        )

    events = await history.events_of(message_id)

    assert [e["state"] for e in events] == ["queued", "dispatched"]


async def test_history_pages_newest_first_with_filters_and_a_cursor(
    store: SqliteStore, history: MessageHistory
) -> None:
    ids = [await add_message(store, NOW + timedelta(seconds=i)) for i in range(3)]
    await add_message(store, NOW + timedelta(seconds=9), state="sent")
    await add_message(store, NOW + timedelta(seconds=10), account="acc_2")

    first, cursor = await history.page("acc_1", MessageQuery(status="queued"), 2)
    rest, last = await history.page("acc_1", MessageQuery(status="queued", before_id=cursor), 2)

    assert [r["id"] for r in first] == [ids[2], ids[1]]
    assert cursor == ids[1]
    assert [r["id"] for r in rest] == [ids[0]]
    assert last is None


async def test_history_counts_what_was_sent_since_midnight_utc_per_device(
    store: SqliteStore, history: MessageHistory
) -> None:
    before = MIDNIGHT - timedelta(minutes=5)
    await add_message(store, before, state="sent", device="dev_1", sent_at=before)
    await add_message(store, before, state="sent", device="dev_1", sent_at=MIDNIGHT)
    await add_message(store, NOW, state="sent", device="dev_1", sent_at=NOW)
    await add_message(store, NOW, state="queued", device="dev_1")
    await add_message(store, NOW, account="acc_2", state="sent", device="dev_9", sent_at=NOW)

    assert await history.sent_today_by_device("acc_1") == {"dev_1": 2}
    assert await history.sent_today("acc_1") == 2


async def test_history_reads_messages_that_ended_in_the_window_only(
    store: SqliteStore, history: MessageHistory
) -> None:
    hour_ago = NOW - timedelta(hours=1)
    old = hour_ago - timedelta(minutes=1)
    await add_message(store, old, state="sent", sent_at=old)
    await add_message(store, old, state="sent", sent_at=hour_ago)
    await add_message(store, NOW, state="failed", failed_at=NOW)
    await add_message(store, NOW, state="queued")

    rows = await history.ended_since("acc_1", hour_ago)

    assert {r["state"]: (r["sent_at"], r["failed_at"]) for r in rows} == {
        "sent": (rfc3339(hour_ago), None),
        "failed": (None, rfc3339(NOW)),
    }
    assert len(rows) == 2


async def test_history_says_when_the_latest_delivery_in_the_window_was(
    store: SqliteStore, history: MessageHistory
) -> None:
    day_ago = NOW - timedelta(hours=24)
    assert await history.last_delivered_since("acc_1", day_ago) is None

    await add_message(store, day_ago, state="delivered", delivered_at=day_ago - timedelta(1))
    await add_message(store, NOW, state="delivered", delivered_at=NOW - timedelta(hours=2))
    await add_message(store, NOW, state="delivered", delivered_at=NOW - timedelta(hours=3))

    assert await history.last_delivered_since("acc_1", day_ago) == rfc3339(NOW - timedelta(hours=2))
