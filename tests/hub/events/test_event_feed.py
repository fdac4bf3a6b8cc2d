"""Tests for ``hub/events/feed.py``: reading the event log and waking its waiters."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from hub.events.feed import EventFeed
from hub.events.outbox import event_statements
from hub.messaging.writes import run_statements
from hub.store.sqlite import SqliteStore

T0 = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
WAKE_WAIT_S = 5.0  # how long a test waits for a woken task before giving up


@pytest.fixture
def feed(store: SqliteStore) -> EventFeed:
    return EventFeed(store)


async def add_event(
    store: SqliteStore, type_: str, *, account_id: str = "acc_1", at: datetime = T0
) -> str:
    """Commit one event; returns its id."""
    statement = event_statements(account_id, type_, {"type": type_}, at)[0]
    await store.write(run_statements([statement]))
    event_id = statement[1][0]
    assert isinstance(event_id, str)
    return event_id


async def all_ids(store: SqliteStore) -> list[str]:
    return [row["id"] for row in await store.fetchall("SELECT id FROM events ORDER BY seq")]


async def test_event_feed_reads_only_the_accounts_events_after_a_seq_in_order(
    store: SqliteStore, feed: EventFeed
) -> None:
    first = await add_event(store, "message.sent")
    await add_event(store, "message.sent", account_id="acc_2")
    second = await add_event(store, "message.delivered")
    await add_event(store, "device.online", account_id="acc_2")
    third = await add_event(store, "message.failed")
    after = await feed.position_of("acc_1", first)
    assert after is not None

    rows = (await feed.read("acc_1", after)).rows

    assert [row["id"] for row in rows] == [second, third]
    assert [row["type"] for row in rows] == ["message.delivered", "message.failed"]
    seqs = [row["seq"] for row in rows]
    assert seqs == sorted(seqs) and seqs[0] > after[1]


async def test_event_feed_reads_every_event_of_the_account_when_read_from_zero(
    store: SqliteStore, feed: EventFeed
) -> None:
    ids = [await add_event(store, "message.sent") for _ in range(3)]

    rows = (await feed.read("acc_1", (0, 0))).rows

    assert [row["id"] for row in rows] == ids


async def test_event_feed_reads_the_body_a_receiver_gets(
    store: SqliteStore, feed: EventFeed
) -> None:
    await add_event(store, "otp.verified")

    (row,) = (await feed.read("acc_1", (0, 0))).rows

    body = msgspec.json.decode(row["body"])
    assert body == {
        "type": "otp.verified",
        "timestamp": "2026-01-01T12:00:00.000Z",
        "data": {"type": "otp.verified"},
    }


async def test_event_feed_reads_only_the_given_types_when_filtered(
    store: SqliteStore, feed: EventFeed
) -> None:
    sent = await add_event(store, "message.sent")
    await add_event(store, "message.delivered")
    online = await add_event(store, "device.online")
    await add_event(store, "device.online", account_id="acc_2")

    rows = (await feed.read("acc_1", (0, 0), types=["message.sent", "device.online"])).rows

    assert [row["id"] for row in rows] == [sent, online]


async def test_event_feed_reads_at_most_the_limit_oldest_first(
    store: SqliteStore, feed: EventFeed
) -> None:
    ids = [await add_event(store, "message.sent") for _ in range(4)]

    rows = (await feed.read("acc_1", (0, 0), limit=2)).rows

    assert [row["id"] for row in rows] == ids[:2]


async def test_event_feed_reads_nothing_when_the_account_has_no_newer_event(
    store: SqliteStore, feed: EventFeed
) -> None:
    await add_event(store, "message.sent")
    await add_event(store, "message.sent", account_id="acc_2")

    assert (await feed.read("acc_1", await feed.start())).rows == []


async def test_event_feed_position_of_finds_the_accounts_own_event(
    store: SqliteStore, feed: EventFeed
) -> None:
    await add_event(store, "message.sent", account_id="acc_2")
    mine = await add_event(store, "message.sent")

    assert await feed.position_of("acc_1", mine) == (0, 2)


async def test_event_feed_position_of_is_none_when_the_event_is_another_accounts(
    store: SqliteStore, feed: EventFeed
) -> None:
    theirs = await add_event(store, "message.sent", account_id="acc_2")

    assert await feed.position_of("acc_1", theirs) is None


async def test_event_feed_position_of_is_none_when_the_event_is_unknown(feed: EventFeed) -> None:
    assert await feed.position_of("acc_1", "evt_nothing") is None


async def test_event_feed_starts_at_zero_when_the_log_is_empty(feed: EventFeed) -> None:
    assert await feed.start() == (0, 0)


async def test_event_feed_starts_after_the_newest_seq_over_every_account(
    store: SqliteStore, feed: EventFeed
) -> None:
    await add_event(store, "message.sent")
    await add_event(store, "message.sent", account_id="acc_2")

    assert await feed.start() == (0, 2)


def test_event_feed_sets_a_change_taken_before_committed(feed: EventFeed) -> None:
    before = feed.next_change()

    feed.committed([])
    after = feed.next_change()

    assert before.is_set()
    assert not after.is_set()


def test_event_feed_sets_a_change_once_more_when_committed_again(feed: EventFeed) -> None:
    feed.committed([])
    second = feed.next_change()

    feed.committed([])

    assert second.is_set()
    assert not feed.next_change().is_set()


def test_event_feed_gives_the_same_change_to_waiters_between_commits(feed: EventFeed) -> None:
    assert feed.next_change() is feed.next_change()


async def test_event_feed_wakes_a_waiter_when_committed(feed: EventFeed) -> None:
    waiter = asyncio.create_task(feed.next_change().wait())
    await asyncio.sleep(0)  # let the waiter start waiting (a turn of the loop, not a delay)
    assert not waiter.done()

    feed.committed([])

    await asyncio.wait_for(waiter, WAKE_WAIT_S)
    assert not feed.closed


async def test_event_feed_close_sets_closed_and_wakes_every_waiter(feed: EventFeed) -> None:
    waiters = [asyncio.create_task(feed.next_change().wait()) for _ in range(3)]
    await asyncio.sleep(0)  # let the waiters start waiting (a turn of the loop, not a delay)
    assert not any(w.done() for w in waiters)

    feed.close()

    await asyncio.wait_for(asyncio.gather(*waiters), WAKE_WAIT_S)
    assert feed.closed


async def test_event_feed_prune_deletes_only_events_older_than_the_cutoff(
    store: SqliteStore, feed: EventFeed
) -> None:
    await add_event(store, "message.sent", at=T0 - timedelta(days=2))
    await add_event(store, "message.sent", account_id="acc_2", at=T0 - timedelta(seconds=1))
    at_cutoff = await add_event(store, "message.sent", at=T0)
    newer = await add_event(store, "message.sent", account_id="acc_2", at=T0 + timedelta(hours=1))

    feed.prune(T0)
    await store.write(lambda conn: None)  # writes commit in order: the prune is done

    assert await all_ids(store) == [at_cutoff, newer]


async def test_event_feed_keeps_the_seq_of_later_events_when_older_are_pruned(
    store: SqliteStore, feed: EventFeed
) -> None:
    await add_event(store, "message.sent", at=T0 - timedelta(days=1))
    kept = await add_event(store, "message.sent", at=T0)

    feed.prune(T0)
    await store.write(lambda conn: None)
    added = await add_event(store, "message.sent", at=T0)

    assert await feed.position_of("acc_1", kept) == (0, 2)
    assert await feed.position_of("acc_1", added) == (0, 3)  # AUTOINCREMENT never reuses a seq


def test_an_accounts_change_is_set_only_by_its_own_events(feed: EventFeed) -> None:
    mine, other = feed.next_change("acc_1"), feed.next_change("acc_2")
    any_account = feed.next_change()

    feed.committed(["acc_1"])

    assert mine.is_set()
    assert not other.is_set()
    assert any_account.is_set()
    assert not feed.next_change("acc_1").is_set()  # a new one for the next commit


def test_closing_the_feed_sets_every_accounts_change(feed: EventFeed) -> None:
    mine = feed.next_change("acc_1")

    feed.close()

    assert mine.is_set()
    assert feed.closed
