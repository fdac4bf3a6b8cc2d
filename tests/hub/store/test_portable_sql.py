"""The statements that were SQLite-only, written portably (issue 17): same effect as before.

``INSERT OR IGNORE`` became ``ON CONFLICT DO NOTHING``, ``INSERT OR REPLACE``
``ON CONFLICT ... DO UPDATE``, and the recipient search (FTS5 ``MATCH``, a
``LIKE`` scan, ``json_each``) moved to ``hub/store/dialect.py``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hub.clock import ManualClock
from hub.messaging.idempotency import IdempotencyKeys
from hub.messaging.writes import run_statements
from hub.recipients.directory import Recipients
from hub.recipients.lists import RecipientLists
from hub.store.sqlite import SqliteStore

T0 = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
ACCOUNT = "acc_1"


@pytest.fixture
async def store(store: SqliteStore) -> SqliteStore:
    """The shared store (tests/hub/conftest.py), with the account."""
    await store.execute(
        "INSERT INTO accounts (id, name, created_at) VALUES (?, 'a', ?)", (ACCOUNT, T0.isoformat())
    )
    return store


async def test_idempotency_statement_replaces_an_older_answer_for_the_same_key(
    store: SqliteStore,
) -> None:
    first = IdempotencyKeys.statement(ACCOUNT, "k1", b"old", 202, b"first", T0 - timedelta(days=2))
    again = IdempotencyKeys.statement(ACCOUNT, "k1", b"new", 201, b"second", T0)
    await store.write(run_statements([first]))
    await store.write(run_statements([again]))

    rows = await store.fetchall("SELECT * FROM idempotency_keys")
    assert [(bytes(r["request_hash"]), r["status"], bytes(r["body"])) for r in rows] == [
        (b"new", 201, b"second")
    ]
    replay = await IdempotencyKeys(store).replay(ACCOUNT, "k1", b"new", T0)
    assert replay is not None and replay.body == b"second"


async def test_list_members_named_twice_are_stored_once_and_counted_once(
    store: SqliteStore,
) -> None:
    clock = ManualClock(T0)
    recipients = Recipients(store, clock)
    one = await recipients.create(ACCOUNT, "Ali", "+998901234567", [], {})
    two = await recipients.create(ACCOUNT, "Vali", "+998901234568", [], {})
    lists = RecipientLists(store, clock)

    made = await lists.create(ACCOUNT, "friends", [one.id, one.id])
    changed = await lists.change_members(ACCOUNT, made["id"], [one.id, two.id], [])

    assert changed == 1  # only two was new
    members = await lists.members(ACCOUNT, made["id"])
    assert sorted(m.id for m in members) == sorted([one.id, two.id])  # ids of one ms: any order


async def test_recipient_search_finds_fragments_by_index_and_by_scan_and_tags_exactly(
    store: SqliteStore,
) -> None:
    recipients = Recipients(store, ManualClock(T0))
    sherzod = await recipients.create(ACCOUNT, "Шерзод", "+998901111111", ["vip"], {})
    await recipients.create(ACCOUNT, "Dilnoza", "+998902222222", ["vipper"], {})

    by_index, _ = await recipients.page(ACCOUNT, "sherz", None, None, 10)
    by_scan, _ = await recipients.page(ACCOUNT, "sh", None, None, 10)
    by_digits, _ = await recipients.page(ACCOUNT, "1111", None, None, 10)
    by_tag, _ = await recipients.page(ACCOUNT, None, "vip", None, 10)
    quoted, _ = await recipients.page(ACCOUNT, 'sh"erz', None, None, 10)

    assert [r.id for r in by_index] == [sherzod.id]
    assert [r.id for r in by_scan] == [sherzod.id]
    assert [r.id for r in by_digits] == [sherzod.id]
    assert [r.id for r in by_tag] == [sherzod.id]
    assert quoted == []  # a quote is text to find, not FTS5 syntax
