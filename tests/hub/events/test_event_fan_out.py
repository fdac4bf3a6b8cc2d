"""Tests for ``hub/events/outbox.py``: an event and its webhook deliveries are stored by the
same statements, in the transaction of the change they report (real SQLite)."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hub.clock import rfc3339
from hub.events.outbox import event_statements
from hub.messaging.writes import run_statements
from hub.store.interface import StorageUnavailable
from hub.store.sqlite import SqliteStore

T0 = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
ADD_ACCOUNT = "INSERT INTO accounts (id, name, created_at) VALUES (?, ?, '2026-01-01T00:00:00Z')"
ADD_ENDPOINT = (
    "INSERT INTO webhook_endpoints (id, account_id, url, events, enabled, secret_sealed,"
    " created_at, updated_at) VALUES (?, ?, 'https://example.com/hook', ?, ?, x'00', ?, ?)"
)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    s = SqliteStore(tmp_path / "hub.db")
    await s.open()
    await s.execute(ADD_ACCOUNT, ("acc_1", "one"))
    await s.execute(ADD_ACCOUNT, ("acc_2", "two"))
    yield s
    await s.close()


async def add_endpoint(
    store: SqliteStore,
    endpoint_id: str,
    events: str,
    account_id: str = "acc_1",
    enabled: bool = True,
) -> None:
    stamp = rfc3339(T0)
    await store.execute(ADD_ENDPOINT, (endpoint_id, account_id, events, int(enabled), stamp, stamp))


async def add_event(store: SqliteStore, type_: str, account_id: str = "acc_1") -> str:
    statements = event_statements(account_id, type_, {"n": 1}, T0)
    await store.write(run_statements(statements))
    event_id = statements[0][1][0]
    assert isinstance(event_id, str)
    return event_id


async def deliveries(store: SqliteStore) -> list[sqlite3.Row]:
    return await store.fetchall("SELECT * FROM webhook_deliveries ORDER BY endpoint_id, event_id")


async def test_an_event_gets_one_pending_delivery_per_subscribed_endpoint(
    store: SqliteStore,
) -> None:
    await add_endpoint(store, "whk_a", "message.sent")
    await add_endpoint(store, "whk_b", "message.sent message.delivered")
    sent = await add_event(store, "message.sent")
    delivered = await add_event(store, "message.delivered")

    rows = await deliveries(store)
    assert {(r["endpoint_id"], r["event_id"]) for r in rows} == {
        ("whk_a", sent), ("whk_b", sent), ("whk_b", delivered),
    }  # fmt: skip
    for row in rows:
        assert row["id"].startswith("dlv_") and len(row["id"]) == 30
        assert row["status"] == "pending"
        assert row["attempt_count"] == 0
        assert row["account_id"] == "acc_1"
        assert row["next_attempt_at"] == row["created_at"] == rfc3339(T0)
        assert row["redelivery_of"] is None
    assert len({r["id"] for r in rows}) == 3


async def test_no_delivery_for_a_disabled_an_unsubscribed_or_another_accounts_endpoint(
    store: SqliteStore,
) -> None:
    await add_endpoint(store, "whk_off", "message.sent", enabled=False)
    await add_endpoint(store, "whk_other_type", "message.delivered device.online")
    await add_endpoint(store, "whk_other_account", "message.sent", account_id="acc_2")
    # A type that is a prefix of a subscribed one must not match it.
    await add_endpoint(store, "whk_prefix", "message.sent.extra")
    await add_event(store, "message.sent")

    assert await deliveries(store) == []
    assert len(await store.fetchall("SELECT id FROM events")) == 1


async def test_an_event_whose_write_fails_leaves_no_delivery(store: SqliteStore) -> None:
    await add_endpoint(store, "whk_a", "message.sent")
    statements = event_statements("acc_1", "message.sent", {"n": 1}, T0)
    failing = [*statements, ("INSERT INTO no_such_table VALUES (1)", ())]

    with pytest.raises(StorageUnavailable):
        await store.write(run_statements(failing))

    assert await deliveries(store) == []
    assert await store.fetchall("SELECT id FROM events") == []
