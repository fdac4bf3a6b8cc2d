"""Tests for ``hub/webhooks/outbox.py``: the fan-out from the event log to deliveries,
on a real SQLite store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hub.clock import rfc3339
from hub.events import event_statement
from hub.message import run_statements
from hub.store.sqlite import SqliteStore
from hub.webhooks import outbox
from hub.webhooks.outbox import CURSOR, fan_out

T0 = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
DUE = T0 + timedelta(seconds=1)
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
    *,
    account_id: str = "acc_1",
    enabled: bool = True,
    created_at: datetime = T0,
) -> None:
    stamp = rfc3339(created_at)
    await store.execute(ADD_ENDPOINT, (endpoint_id, account_id, events, int(enabled), stamp, stamp))


async def add_event(
    store: SqliteStore, type_: str, *, account_id: str = "acc_1", at: datetime = T0
) -> str:
    """Commit one event; returns its id."""
    statement = event_statement(account_id, type_, {"n": 1}, at)
    await store.write(run_statements([statement]))
    event_id = statement[1][0]
    assert isinstance(event_id, str)
    return event_id


async def deliveries(store: SqliteStore) -> set[tuple[str, str]]:
    """Every delivery as (endpoint id, event id)."""
    rows = await store.fetchall("SELECT endpoint_id, event_id FROM webhook_deliveries")
    return {(row["endpoint_id"], row["event_id"]) for row in rows}


async def cursor(store: SqliteStore) -> int | None:
    row = await store.fetchone("SELECT seq FROM outbox_cursor WHERE name = ?", (CURSOR,))
    return None if row is None else int(row["seq"])


async def test_fan_out_makes_one_pending_delivery_per_event_and_subscribed_endpoint(
    store: SqliteStore,
) -> None:
    await add_endpoint(store, "whe_a", "message.sent")
    await add_endpoint(store, "whe_b", "message.sent message.delivered")
    sent = await add_event(store, "message.sent")
    delivered = await add_event(store, "message.delivered")

    made, more = await store.write(fan_out(T0, DUE))

    expected = {("whe_a", sent), ("whe_b", sent), ("whe_b", delivered)}
    assert {(endpoint, event) for _, endpoint, event in made} == expected
    assert len(made) == 3
    assert more is False
    rows = await store.fetchall(
        "SELECT id, account_id, endpoint_id, event_id, event_type, status, attempt_count,"
        " next_attempt_at, redelivery_of, created_at FROM webhook_deliveries"
    )
    assert {(row["endpoint_id"], row["event_id"]) for row in rows} == expected
    assert {row["id"] for row in rows} == {delivery for delivery, _, _ in made}
    for row in rows:
        assert row["id"].startswith("dlv_")
        assert row["account_id"] == "acc_1"
        assert row["event_type"] == (
            "message.sent" if row["event_id"] == sent else "message.delivered"
        )
        assert (row["status"], row["attempt_count"], row["redelivery_of"]) == ("pending", 0, None)
        assert row["next_attempt_at"] == rfc3339(DUE)
        assert row["created_at"] == rfc3339(T0)


async def test_fan_out_makes_no_delivery_when_the_endpoint_is_disabled(store: SqliteStore) -> None:
    await add_endpoint(store, "whe_off", "message.sent", enabled=False)
    await add_event(store, "message.sent")

    made, _ = await store.write(fan_out(T0, DUE))

    assert made == []
    assert await deliveries(store) == set()


async def test_fan_out_makes_no_delivery_when_the_endpoint_does_not_subscribe_to_the_type(
    store: SqliteStore,
) -> None:
    await add_endpoint(store, "whe_a", "message.delivered device.offline")
    await add_event(store, "message.sent")
    await add_event(store, "device.online")

    made, _ = await store.write(fan_out(T0, DUE))

    assert made == []
    assert await deliveries(store) == set()


async def test_fan_out_makes_no_delivery_when_the_endpoint_belongs_to_another_account(
    store: SqliteStore,
) -> None:
    await add_endpoint(store, "whe_mine", "message.sent", account_id="acc_1")
    await add_endpoint(store, "whe_theirs", "message.sent", account_id="acc_2")
    mine = await add_event(store, "message.sent", account_id="acc_1")

    made, _ = await store.write(fan_out(T0, DUE))

    assert [(endpoint, event) for _, endpoint, event in made] == [("whe_mine", mine)]
    assert await deliveries(store) == {("whe_mine", mine)}


async def test_fan_out_makes_no_delivery_when_the_event_is_older_than_the_endpoint(
    store: SqliteStore,
) -> None:
    await add_endpoint(store, "whe_new", "message.sent", created_at=T0)
    before = await add_event(store, "message.sent", at=T0 - timedelta(milliseconds=1))
    same = await add_event(store, "message.sent", at=T0)
    after = await add_event(store, "message.sent", at=T0 + timedelta(seconds=1))

    await store.write(fan_out(T0, DUE))

    assert await deliveries(store) == {("whe_new", same), ("whe_new", after)}
    assert ("whe_new", before) not in await deliveries(store)


async def test_fan_out_makes_nothing_new_when_run_again_without_new_events(
    store: SqliteStore,
) -> None:
    await add_endpoint(store, "whe_a", "message.sent")
    await add_event(store, "message.sent")
    await add_event(store, "device.online")  # nobody hears it, the cursor still passes it
    first, _ = await store.write(fan_out(T0, DUE))
    seq = await cursor(store)

    again, more = await store.write(fan_out(T0, DUE))

    assert len(first) == 1
    assert (again, more) == ([], False)
    assert await cursor(store) == seq == 2
    assert len(await deliveries(store)) == 1


async def test_fan_out_delivers_only_the_new_events_when_run_after_more_arrive(
    store: SqliteStore,
) -> None:
    await add_endpoint(store, "whe_a", "message.sent")
    await add_event(store, "message.sent")
    await store.write(fan_out(T0, DUE))
    later = await add_event(store, "message.sent", at=T0 + timedelta(seconds=5))

    made, _ = await store.write(fan_out(T0, DUE))

    assert [(endpoint, event) for _, endpoint, event in made] == [("whe_a", later)]
    assert len(await deliveries(store)) == 2


async def test_fan_out_makes_no_duplicate_when_the_cursor_is_reset(store: SqliteStore) -> None:
    await add_endpoint(store, "whe_a", "message.sent")
    await add_endpoint(store, "whe_b", "message.sent")
    await add_event(store, "message.sent")
    await add_event(store, "message.sent")
    first, _ = await store.write(fan_out(T0, DUE))
    # As after a crash before the cursor's commit: the same events are read again.
    await store.execute("DELETE FROM outbox_cursor")

    again, more = await store.write(fan_out(T0 + timedelta(seconds=1), DUE))

    assert len(first) == 4
    assert (again, more) == ([], False)
    count = await store.fetchone("SELECT COUNT(*) FROM webhook_deliveries")
    assert count is not None and count[0] == 4
    assert await cursor(store) == 2


async def test_fan_out_still_fans_out_to_an_endpoint_added_after_the_cursor_is_reset(
    store: SqliteStore,
) -> None:
    await add_endpoint(store, "whe_a", "message.sent")
    event = await add_event(store, "message.sent")
    await store.write(fan_out(T0, DUE))
    await add_endpoint(store, "whe_b", "message.sent")  # created at T0, with the event
    await store.execute("DELETE FROM outbox_cursor")

    again, _ = await store.write(fan_out(T0, DUE))

    assert [(endpoint, ev) for _, endpoint, ev in again] == [("whe_b", event)]
    assert await deliveries(store) == {("whe_a", event), ("whe_b", event)}


async def test_fan_out_says_more_is_waiting_when_it_read_a_whole_batch(
    store: SqliteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(outbox, "BATCH", 2)
    await add_endpoint(store, "whe_a", "message.sent")
    events = [await add_event(store, "message.sent") for _ in range(3)]

    first, first_more = await store.write(fan_out(T0, DUE))
    second, second_more = await store.write(fan_out(T0, DUE))

    assert [event for _, _, event in first] == events[:2]
    assert first_more is True
    assert [event for _, _, event in second] == events[2:]
    assert second_more is False


async def test_fan_out_says_more_is_waiting_when_the_batch_is_exactly_full(
    store: SqliteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(outbox, "BATCH", 2)
    await add_endpoint(store, "whe_a", "message.sent")
    await add_event(store, "message.sent")
    await add_event(store, "message.sent")

    _, more = await store.write(fan_out(T0, DUE))
    after, after_more = await store.write(fan_out(T0, DUE))

    assert more is True  # it cannot know the log ended exactly here
    assert (after, after_more) == ([], False)


async def test_fan_out_says_nothing_more_when_it_read_less_than_a_batch(
    store: SqliteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(outbox, "BATCH", 2)
    await add_endpoint(store, "whe_a", "message.sent")
    await add_event(store, "message.sent")

    made, more = await store.write(fan_out(T0, DUE))

    assert len(made) == 1
    assert more is False


async def test_fan_out_makes_nothing_when_the_log_is_empty(store: SqliteStore) -> None:
    await add_endpoint(store, "whe_a", "message.sent")

    assert await store.write(fan_out(T0, DUE)) == ([], False)
    assert await cursor(store) is None
