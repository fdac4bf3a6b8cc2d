"""Tests for ``hub/messaging/live.py``: which copies of moving messages it keeps, and
how their writes reach a real SQLite store (faults injected by wrapping the
writer's connection)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hub.accounts.tokens import TokenAuthority
from hub.clock import ManualClock
from hub.messaging.live import LiveMessages
from hub.messaging.message import LiveMessage, insert_statements, save_statements
from hub.store.interface import StorageUnavailable
from hub.store.sqlite import SqliteStore
from protocol.lifecycle import Event, State, decide
from tests.hub.store.store_faults import CommitFaults

NOW = datetime(2026, 3, 1, 9, 0, 0, tzinfo=UTC)


@dataclass
class Heard:
    """What the book told its owner."""

    failed: list[tuple[BaseException, list[str]]] = field(default_factory=list)
    events_of: list[set[str]] = field(default_factory=list)


@dataclass
class Env:
    store: SqliteStore
    faults: CommitFaults
    book: LiveMessages
    heard: Heard
    account_id: str

    def message(self, n: int, account_id: str | None = None) -> LiveMessage:
        return LiveMessage(
            id=f"req_{n:03}", account_id=account_id or self.account_id, to="+998901234567",
            text=f"text {n}", parts=1, encoding="gsm7", requested_device_id=None,
            sim_slot=None, queued_at=NOW, expires_at=NOW + timedelta(hours=1),
        )  # fmt: skip

    async def stored(self, message: LiveMessage) -> LiveMessage:
        """``message`` inserted, through the book, and in it."""
        self.book.add(message)
        await self.book.write([message], insert_statements(message))
        return message


def move(message: LiveMessage, event: Event) -> None:
    message.enter(decide(message.state, message.device_id, event, device="dev_A"), "t", NOW)


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    faults = CommitFaults()
    store = SqliteStore(tmp_path / "hub.db")
    store.writer.connect = faults.wrap(store.writer.connect)
    await store.open()
    await TokenAuthority(store, ManualClock()).bootstrap("rh_book_test_token_000000")
    account = await store.fetchone("SELECT id FROM accounts")
    assert account is not None
    heard = Heard()
    book = LiveMessages(
        store,
        on_write_failed=lambda exc, messages: heard.failed.append((exc, [m.id for m in messages])),
        on_events=heard.events_of.append,
        unseal=lambda sealed: sealed.decode(),
    )
    yield Env(store, faults, book, heard, account["id"])
    await store.close()


async def test_book_keeps_a_live_message_after_its_write_and_forgets_a_finished_one(
    env: Env,
) -> None:
    live, finished = await env.stored(env.message(1)), await env.stored(env.message(2))
    move(finished, Event.EXPIRE)

    await env.book.write([finished], save_statements(finished))

    assert env.book.holds(live)
    assert env.book.get(finished.id) is None  # storage is its only copy now
    assert (live.writes_in_flight, finished.writes_in_flight) == (0, 0)


async def test_book_keeps_a_finished_message_while_its_write_is_in_flight(env: Env) -> None:
    message = await env.stored(env.message(1))
    move(message, Event.EXPIRE)

    pending = env.book.write([message], save_statements(message))
    env.book.forget_if_done(message)  # as a caller might, before the commit
    held_while_writing = env.book.holds(message)
    await pending

    assert held_while_writing
    assert env.book.get(message.id) is None


async def test_book_tells_its_owner_of_a_failed_write_with_the_messages_it_carried(
    env: Env,
) -> None:
    message = await env.stored(env.message(1))
    move(message, Event.DISPATCH)
    env.faults.fail_next()

    with pytest.raises(StorageUnavailable):
        await env.book.write([message], save_statements(message))

    ((error, carried),) = env.heard.failed
    assert isinstance(error, StorageUnavailable)
    assert carried == [message.id]
    assert message.writes_in_flight == 0
    stored = await env.store.fetchone("SELECT state FROM messages WHERE id = ?", (message.id,))
    assert stored is not None and stored["state"] == "queued"  # memory is ahead of storage


async def test_book_tells_its_owner_which_accounts_a_write_stored_events_for(env: Env) -> None:
    quiet = await env.stored(env.message(1))
    move(quiet, Event.DISPATCH)  # no event for a dispatch
    await env.book.write([quiet], save_statements(quiet))
    loud = await env.stored(env.message(2))
    move(loud, Event.DISPATCH)
    move(loud, Event.SENT)  # message.sent

    await env.book.write([loud], save_statements(loud))

    assert env.heard.events_of == [{env.account_id}]


async def test_book_loads_only_the_messages_still_moving_oldest_first(env: Env) -> None:
    for n in (3, 1, 2):
        await env.stored(env.message(n))
    done = env.book[env.message(2).id]
    move(done, Event.EXPIRE)
    await env.book.write([done], save_statements(done))
    env.book.clear()

    loaded = [m.id for m in await env.book.load_live()]

    assert loaded == ["req_001", "req_003"]
    assert sorted(m.id for m in env.book.messages()) == loaded
    assert all(m.state is State.QUEUED for m in env.book.messages())


async def test_book_finds_an_accounts_message_in_storage_once_the_book_let_it_go(
    env: Env,
) -> None:
    message = await env.stored(env.message(1))
    move(message, Event.EXPIRE)
    await env.book.write([message], save_statements(message))

    found = await env.book.find(env.account_id, message.id)

    assert found is not None and found is not message  # read back, a fresh copy
    assert found.state is State.EXPIRED
    assert env.book.holds(found)


async def test_book_finds_nothing_for_an_account_that_does_not_own_the_message(
    env: Env,
) -> None:
    message = await env.stored(env.message(1))

    in_memory = await env.book.find("acc_other", message.id)
    env.book.clear()
    in_storage = await env.book.find("acc_other", message.id)

    assert (in_memory, in_storage) == (None, None)


async def test_book_does_not_hold_a_copy_left_over_from_before_a_reload(env: Env) -> None:
    old = await env.stored(env.message(1))
    env.book.clear()

    (reloaded,) = await env.book.load_live()

    assert not env.book.holds(old)
    assert env.book.holds(reloaded)
    assert env.book[old.id] is reloaded
