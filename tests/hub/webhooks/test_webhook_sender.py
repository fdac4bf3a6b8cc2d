"""Tests for ``hub/webhooks/sender.py``: when the sender makes each attempt, on the
manual clock. Real storage, a real receiver on loopback, a seeded jitter; no hub
and no API around them, so the times asserted are the sender's own."""

from __future__ import annotations

import asyncio
import random
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from hub.accounts.tokens import TokenAuthority
from hub.clock import ManualClock, rfc3339
from hub.config import WebhooksConfig
from hub.events.feed import EventFeed
from hub.events.outbox import event_statements
from hub.secret_box import SecretBox
from hub.store.sqlite import SqliteStore
from hub.webhooks.endpoints import WebhookEndpoints
from hub.webhooks.schedule import next_delay
from hub.webhooks.sender import UNRECORDED_RETRY_S, WebhookSender
from tests.e2e.receiver import Answer, Call, Receiver, serve_receiver
from tests.hub.store.store_faults import CommitFaults

SEED = 17


class WatchedClock(ManualClock):
    """A manual clock that notes each wait started on it, so a test moves time only
    once the sender has gone to sleep until the attempt it expects (moved earlier,
    the sender would measure its sleep from before the move and oversleep)."""

    def __init__(self) -> None:
        super().__init__()
        self.deadlines: list[float] = []  # monotonic, in the order the waits began
        self._slept = asyncio.Event()

    async def sleep(self, seconds: float) -> None:
        self.deadlines.append(self.monotonic() + seconds)
        self._slept.set()
        await super().sleep(seconds)

    async def sleeping_until(self, due: datetime) -> None:
        """Until the latest wait ends when the wall clock reads ``due``."""

        def asleep() -> bool:
            until = self.monotonic() + (due - self.now()).total_seconds()
            return bool(self.deadlines) and abs(self.deadlines[-1] - until) < 0.002

        async with asyncio.timeout(10):
            while not asleep():
                self._slept.clear()
                await self._slept.wait()


@dataclass
class Rig:
    store: SqliteStore
    clock: WatchedClock
    feed: EventFeed
    faults: CommitFaults
    receiver: Receiver
    account_id: str
    sender: WebhookSender
    new_sender: Callable[[], WebhookSender]

    async def restart(self) -> None:
        """Stop the sender and start a new one on the same storage, as a hub restart does."""
        await self.sender.close()
        self.clock.deadlines.clear()  # only the new sender's waits count from here
        self.sender = self.new_sender()
        await self.sender.start()

    async def emit(self) -> None:
        """One ``message.sent`` event, committed; the endpoint gets a delivery for it."""
        statements = event_statements(
            self.account_id, "message.sent", {"request_id": "req_1"}, self.clock.now()
        )

        def op(conn: sqlite3.Connection) -> None:
            for sql, params in statements:
                conn.execute(sql, params)

        await self.store.write(op)
        self.feed.committed({self.account_id})

    async def delivery(self, attempts: int) -> sqlite3.Row:
        """The one delivery, once ``attempts`` attempts of it are recorded."""
        async with asyncio.timeout(10):
            while True:
                row = await self.store.fetchone("SELECT * FROM webhook_deliveries")
                if row is not None and row["attempt_count"] >= attempts:
                    return row
                await self.store.write(lambda conn: None)  # one more commit has landed

    async def calls_after_a_round_trip(self) -> list[int]:
        """What the receiver answered so far, after the sender had a commit's time to act."""
        await self.store.write(lambda conn: None)
        return [c.status for c in self.receiver.calls]


def answers(*statuses: int, headers: dict[str, str] | None = None) -> Answer:
    """A receiver that answers these statuses in turn, then the last one for ever."""
    given: Iterator[int] = iter(statuses)

    async def answer(call: Call) -> tuple[int, dict[str, str]]:
        return next(given, statuses[-1]), headers or {}

    return answer


def at(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp)


@asynccontextmanager
async def rig(tmp_path: Path, schedule: list[int], answer: Answer) -> AsyncIterator[Rig]:
    """A started sender for one account with one endpoint on a local receiver."""
    faults = CommitFaults()
    store = SqliteStore(tmp_path / "hub.db")
    store.writer.connect = faults.wrap(store.writer.connect)
    await store.open()
    clock = WatchedClock()
    await TokenAuthority(store, clock).bootstrap("rh_sender_test_token_0000")
    account = await store.fetchone("SELECT id FROM accounts")
    assert account is not None
    feed = EventFeed(store)
    endpoints = WebhookEndpoints(store, clock, SecretBox(Fernet.generate_key()), 86_400)
    config = WebhooksConfig(allow_private_targets=True, retry_schedule_s=schedule)

    def new_sender() -> WebhookSender:
        return WebhookSender(store, clock, feed, endpoints, config, rng=random.Random(SEED))

    sender = new_sender()
    try:
        async with serve_receiver(answer=answer) as receiver:
            created = await endpoints.create(
                account["id"], receiver.url, ["message.sent"], "", True, limit=1
            )
            assert created is not None
            await sender.start()
            r = Rig(store, clock, feed, faults, receiver, account["id"], sender, new_sender)
            try:
                yield r
            finally:
                await r.sender.close()
    finally:
        feed.close()
        await store.close()


async def test_webhook_sender_retries_a_failed_attempt_when_its_jittered_delay_has_passed(
    tmp_path: Path,
) -> None:
    schedule = [0, 300]
    delay = next_delay(1, schedule, random.Random(SEED))  # the sender's first draw
    assert delay is not None
    async with rig(tmp_path, schedule, answers(500, 200)) as r:
        await r.emit()
        await r.receiver.wait_until(lambda: len(r.receiver.calls) == 1)
        failed = await r.delivery(attempts=1)
        tried = r.clock.now()
        await r.clock.sleeping_until(at(failed["next_attempt_at"]))

        r.clock.advance(delay - 0.01)
        before_due = await r.calls_after_a_round_trip()
        r.clock.advance(0.01)
        await r.receiver.wait_until(lambda: [c.status for c in r.receiver.calls] == [500, 200])
        done = await r.delivery(attempts=2)

    assert failed["status"] == "pending"
    assert failed["next_attempt_at"] == rfc3339(tried + timedelta(seconds=delay))
    assert before_due == [500]
    assert done["status"] == "succeeded"
    assert done["next_attempt_at"] is None


async def test_webhook_sender_waits_the_first_entry_of_its_schedule_before_a_first_attempt(
    tmp_path: Path,
) -> None:
    async with rig(tmp_path, [30, 60], answers(204)) as r:
        await r.emit()
        (queued,) = await r.store.fetchall("SELECT next_attempt_at FROM webhook_deliveries")
        await r.clock.sleeping_until(at(queued["next_attempt_at"]) + timedelta(seconds=30))
        r.clock.advance(29)
        before_due = await r.calls_after_a_round_trip()
        r.clock.advance(1)
        await r.receiver.wait_until(lambda: len(r.receiver.calls) == 1)
        done = await r.delivery(attempts=1)

    assert before_due == []
    assert done["status"] == "succeeded"


async def test_webhook_sender_puts_the_next_attempt_no_sooner_than_a_503s_retry_after(
    tmp_path: Path,
) -> None:
    schedule = [0, 5]
    async with rig(tmp_path, schedule, answers(503, headers={"Retry-After": "3600"})) as r:
        await r.emit()
        failed = await r.delivery(attempts=1)
        tried = r.clock.now()
        await r.clock.sleeping_until(at(failed["next_attempt_at"]))
        r.clock.advance(3599)
        before_due = await r.calls_after_a_round_trip()
        r.clock.advance(1)
        await r.receiver.wait_until(lambda: len(r.receiver.calls) == 2)

    assert failed["next_attempt_at"] == rfc3339(tried + timedelta(seconds=3600))
    assert before_due == [503]


async def test_webhook_sender_fails_a_delivery_for_good_after_the_last_entry_of_its_schedule(
    tmp_path: Path,
) -> None:
    schedule = [0, 10]
    async with rig(tmp_path, schedule, answers(500)) as r:
        await r.emit()
        failed = await r.delivery(attempts=1)
        await r.clock.sleeping_until(at(failed["next_attempt_at"]))
        r.clock.advance(10 * 1.2)  # past the latest the jitter allows
        given_up = await r.delivery(attempts=2)
        r.clock.advance(86_400)
        after_a_day = await r.calls_after_a_round_trip()

    assert given_up["status"] == "failed"
    assert given_up["next_attempt_at"] is None
    assert after_a_day == [500, 500]


async def test_webhook_sender_makes_an_attempt_again_when_its_outcome_could_not_be_stored(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with rig(tmp_path, [0, 300], answers(204)) as r:
        await r.emit()
        r.faults.fail_next()  # the next commit is the first attempt's outcome
        await r.receiver.wait_until(lambda: len(r.receiver.calls) == 1)
        assert await asyncio.to_thread(r.faults.tripped.wait, 10), "no commit failed"
        # Told of the failure, the sender waits UNRECORDED_RETRY_S before trying again.
        await r.clock.sleeping_until(r.clock.now() + timedelta(seconds=UNRECORDED_RETRY_S))
        r.clock.advance(UNRECORDED_RETRY_S - 0.01)
        before_due = await r.calls_after_a_round_trip()
        r.clock.advance(0.01)
        await r.receiver.wait_until(lambda: len(r.receiver.calls) == 2)
        done = await r.delivery(attempts=1)

    first, second = r.receiver.calls
    assert before_due == [204]
    assert first.webhook_id == second.webhook_id  # the same delivery, not a new one
    assert done["status"] == "succeeded"
    assert "not recorded" in caplog.text


async def test_webhook_sender_started_again_keeps_a_stored_retry_at_its_stored_time(
    tmp_path: Path,
) -> None:
    schedule = [0, 300]
    delay = next_delay(1, schedule, random.Random(SEED))  # the first sender's draw
    assert delay is not None
    async with rig(tmp_path, schedule, answers(500, 200)) as r:
        await r.emit()
        failed = await r.delivery(attempts=1)
        await r.restart()
        # The new sender read the pending delivery back and sleeps until its stored time.
        await r.clock.sleeping_until(at(failed["next_attempt_at"]))
        r.clock.advance(delay - 0.01)
        before_due = await r.calls_after_a_round_trip()
        r.clock.advance(0.01)
        await r.receiver.wait_until(lambda: len(r.receiver.calls) == 2)
        done = await r.delivery(attempts=2)

    first, second = r.receiver.calls
    assert failed["status"] == "pending"
    assert before_due == [500]
    assert first.webhook_id == second.webhook_id  # the same delivery, not a new one
    assert (done["status"], done["attempt_count"]) == ("succeeded", 2)
