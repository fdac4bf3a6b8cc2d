"""The webhook sender: delivers pending deliveries, with retries.

Deliveries are made with the events themselves (``hub.events``), in the
transaction of the change they report. This loop only reads: after events
commit it picks up their new deliveries, then starts every attempt that is
due, at most ``concurrency_per_endpoint`` per endpoint and ``MAX_IN_FLIGHT``
in all, then sleeps on the hub's clock until the next attempt is due or
something new arrives.

Storage is the truth; memory only holds, per endpoint, a heap of its pending
deliveries ordered by when they are due (loaded at start, fed by new events,
by redelivers and by each attempt's outcome). Each attempt's outcome and the
delivery's next state commit together, so a SIGKILL at any point leaves every
unfinished delivery pending, and the next start tries it again: at least once,
always with the same ``webhook-id``, which receivers use to drop duplicates.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import random
import sqlite3
import time
from collections import Counter
from collections.abc import Coroutine
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

import httpx

from hub.clock import Clock, rfc3339
from hub.config import WebhooksConfig
from hub.event_feed import EventFeed
from hub.store.sqlite import SqliteStore
from hub.store.writer import StorageUnavailable
from hub.waits import first_of
from hub.webhooks import signer
from hub.webhooks.endpoints import WebhookEndpoints
from hub.webhooks.schedule import HONOURS_RETRY_AFTER, first_delay, next_delay, parse_retry_after
from hub.webhooks.targets import TargetRefused, check_target

log = logging.getLogger(__name__)

MAX_IN_FLIGHT: Final = 64  # attempts at once over all endpoints
TAKE_BATCH: Final = 2000  # new deliveries read at once
EXCERPT_BYTES: Final = 512  # of each response body, for the attempts log
UNRECORDED_RETRY_S: Final = 5.0  # an attempt whose outcome could not be stored
USER_AGENT: Final = "relayhub-webhooks/1"


@dataclass(slots=True)
class Pending:
    id: str
    endpoint_id: str
    event_id: str
    attempt_count: int
    due: float  # wall-clock seconds since the epoch


@dataclass(frozen=True, slots=True)
class Outcome:
    at: datetime  # when the attempt started
    status_code: int | None
    latency_ms: int
    error: str | None = None
    excerpt: str | None = None
    retry_after_s: float | None = None
    final: bool = False  # no point in trying again

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def pending_of(row: sqlite3.Row, first_delay_s: float) -> Pending:
    due = datetime.fromisoformat(row["next_attempt_at"]).timestamp()
    if row["attempt_count"] == 0:
        due += first_delay_s  # a new delivery is stored due "now"; the schedule may say later
    return Pending(row["id"], row["endpoint_id"], row["event_id"], row["attempt_count"], due)


class WebhookSender:
    def __init__(
        self,
        store: SqliteStore,
        clock: Clock,
        feed: EventFeed,
        endpoints: WebhookEndpoints,
        config: WebhooksConfig,
        *,
        rng: random.Random | None = None,
    ) -> None:
        self._store = store
        self._clock = clock
        self._feed = feed
        self._endpoints = endpoints
        self._config = config
        self._rng = rng or random.Random()
        self._queues: dict[str, list[tuple[float, int, Pending]]] = {}
        self._known: set[str] = set()  # deliveries queued or in flight
        self._seen: tuple[int, str] = (0, "")  # (event seq, id) of the last delivery read
        self._listening = False  # some endpoint is enabled: new events may make deliveries
        self._order = itertools.count()
        self._running: Counter[str] = Counter()  # endpoint → attempts in flight
        self._changed_endpoints: set[str] = set()
        self._kick = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._attempts: set[asyncio.Task[None]] = set()
        self._client: httpx.AsyncClient | None = None

    # --- start and stop ----------------------------------------------------

    async def start(self) -> None:
        self._client = httpx.AsyncClient(
            follow_redirects=False,  # a redirect could lead past the SSRF guard
            trust_env=False,
            limits=httpx.Limits(max_connections=MAX_IN_FLIGHT),
            headers={"user-agent": USER_AGENT},
        )
        # First, so that what commits while the pending ones load is read again.
        self._seen = (await self._feed.last_seq(), "\uffff")
        for row in await self._store.fetchall(
            "SELECT d.* FROM webhook_deliveries d JOIN webhook_endpoints e"
            " ON e.id = d.endpoint_id WHERE d.status = 'pending' AND e.enabled = 1"
        ):
            self._push(self._pending_of(row))
        await self._count_endpoints()
        self._task = asyncio.create_task(self._run(), name="webhook-sender")

    async def close(self) -> None:
        tasks = [t for t in (self._task, *self._attempts) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()

    # --- what the rest of the hub tells it -------------------------------

    def add(self, row: sqlite3.Row) -> None:
        """A new pending delivery (a redeliver), already stored."""
        self._push(self._pending_of(row))
        self._kick.set()

    def endpoint_changed(self, endpoint_id: str) -> None:
        """An endpoint was created, enabled, disabled or deleted: reload its deliveries."""
        self._changed_endpoints.add(endpoint_id)
        self._kick.set()

    # --- the loop --------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            change = self._feed.next_change()  # taken before reading: no wake-up is lost
            self._kick.clear()
            delay: float | None = 1.0
            try:
                # Endpoint changes first: they decide whether events must wake us.
                changed, self._changed_endpoints = self._changed_endpoints, set()
                if changed:
                    await self._count_endpoints()
                    await self._reload(changed)
                await self._take_new()
                delay = self._start_due()
            except StorageUnavailable as exc:
                log.warning("webhook sender: storage unavailable (%s); retrying", exc)
            except Exception:  # a bug must not stop deliveries for good
                log.exception("webhook sender: unexpected error; retrying")
            await self._wait(change, delay)

    async def _count_endpoints(self) -> None:
        row = await self._store.fetchone(
            "SELECT EXISTS (SELECT 1 FROM webhook_endpoints WHERE enabled = 1)"
        )
        # With no enabled endpoint no event makes a delivery: committed events
        # need not wake this loop at all (the common case on a hub without webhooks).
        self._listening = bool(row and row[0])

    async def _take_new(self) -> None:
        """Queue the deliveries made by events committed since the last look."""
        while True:
            # One event makes a delivery per endpoint: page on (event seq, id) so
            # a page that ends inside one event's deliveries loses none of them.
            seq, last_id = self._seen
            rows = await self._store.fetchall(
                "SELECT * FROM webhook_deliveries WHERE redelivery_of IS NULL"
                " AND (event_seq > ? OR (event_seq = ? AND id > ?))"
                " ORDER BY event_seq, id LIMIT ?",
                (seq, seq, last_id, TAKE_BATCH),
            )
            for row in rows:
                if row["status"] == "pending":
                    self._push(self._pending_of(row))
            if rows:
                self._seen = (rows[-1]["event_seq"], rows[-1]["id"])
            if len(rows) < TAKE_BATCH:
                return

    async def _reload(self, endpoint_ids: set[str]) -> None:
        """Queue the pending deliveries of these endpoints again, as storage has them."""
        for endpoint_id in endpoint_ids:
            for _, _, dropped in self._queues.pop(endpoint_id, []):
                self._known.discard(dropped.id)
            rows = await self._store.fetchall(
                "SELECT d.* FROM webhook_deliveries d JOIN webhook_endpoints e"
                " ON e.id = d.endpoint_id WHERE d.endpoint_id = ? AND d.status = 'pending'"
                " AND e.enabled = 1",
                (endpoint_id,),
            )
            for row in rows:
                self._push(self._pending_of(row))  # one in flight stays known: not twice

    def _pending_of(self, row: sqlite3.Row) -> Pending:
        return pending_of(row, first_delay(self._config.retry_schedule_s))

    def _push(self, pending: Pending, again: bool = False) -> None:
        """Queue a delivery (``again``: one this sender already knows, to retry)."""
        if pending.id in self._known and not again:
            return  # read twice (at start, or a reload): queued once
        self._known.add(pending.id)
        queue = self._queues.setdefault(pending.endpoint_id, [])
        heapq.heappush(queue, (pending.due, next(self._order), pending))

    def _start_due(self) -> float | None:
        """Start what is due and has room; seconds until the next one is due."""
        now = self._clock.now().timestamp()
        soonest: float | None = None
        for endpoint_id, queue in list(self._queues.items()):
            while (
                queue
                and queue[0][0] <= now
                and self._running[endpoint_id] < self._config.concurrency_per_endpoint
                and len(self._attempts) < MAX_IN_FLIGHT
            ):
                _, _, pending = heapq.heappop(queue)
                self._start(pending)
            if not queue:
                del self._queues[endpoint_id]
            elif queue[0][0] > now:
                wait = queue[0][0] - now
                soonest = wait if soonest is None else min(soonest, wait)
            # else: due but no room; an attempt that ends wakes the loop
        return soonest

    def _start(self, pending: Pending) -> None:
        self._running[pending.endpoint_id] += 1
        task = asyncio.create_task(self._attempt(pending))
        self._attempts.add(task)
        task.add_done_callback(lambda t: self._ended(t, pending.endpoint_id))

    def _ended(self, task: asyncio.Task[None], endpoint_id: str) -> None:
        self._attempts.discard(task)
        self._running[endpoint_id] -= 1
        if self._running[endpoint_id] <= 0:
            del self._running[endpoint_id]
        self._kick.set()

    async def _wait(self, change: asyncio.Event, delay: float | None) -> None:
        waits: list[Coroutine[Any, Any, Any]] = [self._kick.wait()]
        if self._listening:
            waits.append(change.wait())
        if delay is not None:
            waits.append(self._clock.sleep(delay))
        await first_of(*waits)

    # --- one attempt -----------------------------------------------------------

    async def _attempt(self, pending: Pending) -> None:
        """Try one delivery; it is queued again if it must be retried, else forgotten."""
        try:
            retry = await self._try(pending)
        except Exception as exc:  # storage down, or a bug: the delivery must not be dropped
            if isinstance(exc, StorageUnavailable):
                log.warning("webhook attempt %s not recorded (%s); trying again", pending.id, exc)
            else:
                log.exception("webhook attempt %s failed unexpectedly; trying again", pending.id)
            pending.due = self._clock.now().timestamp() + UNRECORDED_RETRY_S
            retry = True
        if retry:
            self._push(pending, again=True)
        else:
            self._known.discard(pending.id)

    async def _try(self, pending: Pending) -> bool:
        """POST the event and record the outcome; True if it must be tried again."""
        row = await self._store.fetchone(
            "SELECT e.url, e.enabled, d.status, d.attempt_count, v.body"
            " FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id"
            " LEFT JOIN events v ON v.id = d.event_id WHERE d.id = ?",
            (pending.id,),
        )
        if (
            row is None  # its endpoint was deleted
            or not row["enabled"]  # disabled: it waits, and is reloaded when enabled
            or row["status"] != "pending"
            or row["attempt_count"] != pending.attempt_count  # a stale copy
        ):
            return False
        if row["body"] is None:
            gone = "the event is no longer kept (see [events] retention_days)"
            outcome = Outcome(self._clock.now(), None, 0, gone, final=True)
        else:
            outcome = await self._post(pending, row["url"], row["body"])
        return await self._record(pending, outcome)

    async def _post(self, pending: Pending, url: str, body: bytes) -> Outcome:
        assert self._client is not None
        at, started = self._clock.now(), time.perf_counter()

        def took() -> int:
            return round((time.perf_counter() - started) * 1000)

        try:
            # Checked again now (DNS may have changed), and the request goes to
            # the address that was checked.
            target = await check_target(url, self._config.allow_private_targets)
        except TargetRefused as exc:
            return Outcome(at, None, 0, f"refused: {exc}")
        secrets = await self._endpoints.signing_secrets(pending.endpoint_id)
        if not secrets:
            return Outcome(at, None, 0, "the endpoint was deleted", final=True)
        timestamp = int(self._clock.now().timestamp())
        headers = {
            **signer.headers(secrets, pending.event_id, timestamp, body),
            "content-type": "application/json",
            "host": target.host_header,
        }
        extensions = {"sni_hostname": target.server_name} if target.address else {}
        timeout = self._config.timeout_s
        try:
            async with (
                asyncio.timeout(timeout),
                self._client.stream(
                    "POST", target.pinned_url, content=body, headers=headers, extensions=extensions
                ) as response,
            ):
                excerpt = b""
                async for chunk in response.aiter_raw():
                    excerpt += chunk
                    if len(excerpt) >= EXCERPT_BYTES:
                        break
        except TimeoutError:
            return Outcome(at, None, took(), f"no answer within {timeout:g} s")
        except httpx.HTTPError as exc:
            return Outcome(at, None, took(), f"{type(exc).__name__}: {exc}"[:300])
        retry_after = None
        if response.status_code in HONOURS_RETRY_AFTER:
            retry_after = parse_retry_after(response.headers.get("retry-after"), self._clock.now())
        return Outcome(
            at,
            response.status_code,
            took(),
            None,
            excerpt[:EXCERPT_BYTES].decode("utf-8", "replace"),
            retry_after,
        )

    async def _record(self, pending: Pending, outcome: Outcome) -> bool:
        """Store the attempt and the delivery's next state together; True: try again."""
        now = self._clock.now()
        made = pending.attempt_count + 1
        gone = outcome.status_code == 410
        delay = None
        if not outcome.succeeded and not gone and not outcome.final:
            delay = next_delay(
                made, self._config.retry_schedule_s, self._rng, outcome.retry_after_s
            )
        status = "succeeded" if outcome.succeeded else "pending" if delay is not None else "failed"
        due = now + timedelta(seconds=delay) if delay is not None else None
        stamp, tried = rfc3339(now), rfc3339(outcome.at)

        def op(conn: sqlite3.Connection) -> bool:
            moved = conn.execute(
                "UPDATE webhook_deliveries SET status = ?, attempt_count = ?,"
                " next_attempt_at = ?, updated_at = ?"
                " WHERE id = ? AND status = 'pending' AND attempt_count = ?",
                (status, made, due and rfc3339(due), stamp, pending.id, pending.attempt_count),
            ).rowcount
            if not moved:
                return False  # deleted with its endpoint, or recorded by another copy
            conn.execute(
                "INSERT INTO webhook_attempts (delivery_id, n, at, status_code, latency_ms,"
                " error, response_excerpt) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (pending.id, made, tried, outcome.status_code, outcome.latency_ms,
                 outcome.error, outcome.excerpt),
            )  # fmt: skip
            if gone:
                conn.execute(
                    "UPDATE webhook_endpoints SET enabled = 0, disabled_reason = ?,"
                    " updated_at = ? WHERE id = ?",
                    (f"the receiver answered 410 Gone at {stamp}", stamp, pending.endpoint_id),
                )
            return True

        if not await self._store.write(op):
            return False
        if gone:
            log.warning("webhook endpoint %s answered 410 Gone; disabled", pending.endpoint_id)
            self.endpoint_changed(pending.endpoint_id)
        if due is None:
            return False
        pending.attempt_count, pending.due = made, due.timestamp()
        return True
