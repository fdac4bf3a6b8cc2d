"""``IdempotencyKeys``: a key reused with another body, or while its first request
runs, is refused with a domain error (the API answers 422 and 409)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hub.errors import IdempotencyKeyBusy, IdempotencyKeyReused
from hub.messaging.idempotency import IdempotencyKeys
from hub.messaging.writes import run_statements
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


async def test_a_key_answered_for_another_body_is_refused_as_reused(store: SqliteStore) -> None:
    keys = IdempotencyKeys(store)
    await store.write(run_statements([keys.statement(ACCOUNT, "k1", b"body", 202, b"{}", T0)]))

    with pytest.raises(IdempotencyKeyReused):
        await keys.replay(ACCOUNT, "k1", b"another body", T0 + timedelta(hours=1))

    replay = await keys.replay(ACCOUNT, "k1", b"body", T0 + timedelta(hours=1))
    assert replay is not None and (replay.status, replay.body) == (202, b"{}")


async def test_a_key_older_than_a_day_is_free_again_even_with_another_body(
    store: SqliteStore,
) -> None:
    keys = IdempotencyKeys(store)
    await store.write(run_statements([keys.statement(ACCOUNT, "k1", b"body", 202, b"{}", T0)]))

    assert await keys.replay(ACCOUNT, "k1", b"another body", T0 + timedelta(hours=24)) is None


async def test_a_key_claimed_twice_at_once_is_refused_as_busy_until_released(
    store: SqliteStore,
) -> None:
    keys = IdempotencyKeys(store)

    with keys.claim(ACCOUNT, "k1"):
        with pytest.raises(IdempotencyKeyBusy), keys.claim(ACCOUNT, "k1"):
            pass
        with keys.claim("acc_other", "k1"), keys.claim(ACCOUNT, "k2"):
            pass  # another account's key, another key: not busy

    with keys.claim(ACCOUNT, "k1"):
        pass
