"""``AccountDirectory.check_open`` and ``admit``: the refusals they raise carry
the facts (the API words them, tests/hub/api/test_domain_problems.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from hub.accounts.directory import AccountDirectory
from hub.clock import ManualClock
from hub.config import LimitsConfig
from hub.errors import QueueFull, QueuePaused, QuotaExceeded, RateLimited, SubscriptionExpired
from hub.store.sqlite import SqliteStore


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


async def directory(store: SqliteStore, clock: ManualClock, **limits: int) -> AccountDirectory:
    accounts = AccountDirectory(store, clock, LimitsConfig(**limits))  # type: ignore[arg-type]
    await accounts.load()
    return accounts


async def test_check_open_refuses_an_ended_subscription_with_its_end(
    store: SqliteStore, clock: ManualClock
) -> None:
    accounts = await directory(store, clock)
    account = await accounts.create("shop")
    ends = clock.now() + timedelta(seconds=10)
    await accounts.update(account.id, subscription_expires_at=ends)
    accounts.check_open(account.id)  # not yet

    clock.advance(10)
    with pytest.raises(SubscriptionExpired) as refused:
        accounts.check_open(account.id)

    assert refused.value.ended_at == ends


async def test_check_open_refuses_a_paused_queue(store: SqliteStore, clock: ManualClock) -> None:
    accounts = await directory(store, clock)
    account = await accounts.create("shop")
    await accounts.update(account.id, paused=True)

    with pytest.raises(QueuePaused):
        accounts.check_open(account.id)


async def test_admit_refuses_past_the_queue_limit_counting_what_is_being_queued(
    store: SqliteStore, clock: ManualClock
) -> None:
    accounts = await directory(store, clock, max_queued=10)
    account = await accounts.create("shop")

    with accounts.admitting(account.id, queued=2, adding=6):
        with pytest.raises(QueueFull) as refused:
            accounts.admit(account.id, queued=3, adding=2)  # 3 waiting + 6 being queued + 2
        accounts.admit(account.id, queued=3, adding=1)  # exactly the limit

    assert (refused.value.queued, refused.value.adding, refused.value.limit) == (9, 2, 10)
    accounts.admit(account.id, queued=3, adding=2)  # the list is queued: no longer counted


async def test_admit_refuses_past_the_storage_quota_and_counts_only_what_it_admits(
    store: SqliteStore, clock: ManualClock
) -> None:
    accounts = await directory(store, clock, max_stored_messages=5)
    account = await accounts.create("shop")
    accounts.admit(account.id, queued=0, adding=3)

    with pytest.raises(QuotaExceeded) as refused:
        accounts.admit(account.id, queued=0, adding=3)

    assert (refused.value.stored, refused.value.adding, refused.value.quota) == (3, 3, 5)
    accounts.admit(account.id, queued=0, adding=2)  # the refused 3 were not counted


async def test_admit_refuses_past_the_send_rate_with_the_wait_rounded_up(
    store: SqliteStore, clock: ManualClock
) -> None:
    accounts = await directory(store, clock, send_per_minute=2)
    account = await accounts.create("shop")
    accounts.admit(account.id, queued=0)
    accounts.admit(account.id, queued=0)

    clock.advance(0.5)  # a token every 30 s: 29.5 s to go
    with pytest.raises(RateLimited) as refused:
        accounts.admit(account.id, queued=0)

    assert (refused.value.per_minute, refused.value.retry_after_s) == (2, 30)
    clock.advance(29.5)
    accounts.admit(account.id, queued=0)
