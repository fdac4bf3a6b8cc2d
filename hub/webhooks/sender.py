"""The webhook sender: delivers pending deliveries, with retries.

Deliveries are made with the events themselves (``hub.events.outbox``), in the
transaction of the change they report. This loop only reads: after events
commit it picks up their new deliveries, then starts workers for the
endpoints that have attempts due, at most ``concurrency_per_endpoint`` per
endpoint and ``MAX_IN_FLIGHT`` in all, then sleeps on the hub's clock until
the next attempt is due or something new arrives. A worker reads a batch of
due deliveries in one query and makes their attempts one after another, each
outcome committing in the background, until its endpoint has nothing due.

Storage is the truth; memory only holds, per endpoint, a heap of its pending
deliveries ordered by when they are due (loaded at start, fed by new events,
by redelivers and by each attempt's outcome). Each attempt's outcome and the
delivery's next state commit together, so a SIGKILL at any point leaves every
unfinished delivery pending, and the next start tries it again: at least once,
always with the same ``webhook-id``, which receivers use to drop duplicates.

This module decides when attempts are made; ``hub.webhooks.attempt`` makes
one (the signed POST) and stores its outcome with the delivery's next state.
On several nodes every sender knows every pending delivery and claims each
attempt before making it (``hub.webhooks.claims``): one node per attempt.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import random
from collections import Counter
from collections.abc import Coroutine
from typing import Any, Final

from hub.clock import Clock, rfc3339
from hub.config import WebhooksConfig
from hub.events.feed import EventFeed
from hub.events.order import DeliveryPosition, deliveries_after, delivery_position_of
from hub.store.interface import Row, StorageUnavailable, Store
from hub.waits import first_of
from hub.webhooks import attempt
from hub.webhooks.attempt import USER_AGENT, Outcome, Pending, Recorded, pending_of
from hub.webhooks.claims import CLAIM_MARGIN_S, Busy, Claimed, claim
from hub.webhooks.endpoints import SECRET_COLUMNS, WebhookEndpoints
from hub.webhooks.http import Pool
from hub.webhooks.schedule import first_delay

log = logging.getLogger(__name__)

MAX_IN_FLIGHT: Final = 64  # attempts at once over all endpoints
READ_BATCH: Final = 16  # deliveries a worker reads at once
READ_FRESH_S: Final = 1.0  # how long what a worker read is trusted
TAKE_BATCH: Final = 2000  # new deliveries read at once
UNRECORDED_RETRY_S: Final = 5.0  # an attempt whose outcome could not be stored
# New deliveries committed behind an older running transaction (PostgreSQL) are
# looked for again this soon.
HELD_RETRY_S: Final = 0.01


class WebhookSender:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        feed: EventFeed,
        endpoints: WebhookEndpoints,
        config: WebhooksConfig,
        *,
        rng: random.Random | None = None,
        pool: Pool | None = None,
        node_id: str | None = None,
    ) -> None:
        """``pool``: what the POSTs go through (default: a new ``Pool``; tests
        pass one that fails on demand). ``node_id``: this node's id when several
        nodes share the database (each attempt is claimed first); None alone."""
        self._store = store
        self._clock = clock
        self._feed = feed
        self._endpoints = endpoints
        self._config = config
        self._rng = rng or random.Random()
        self._queues: dict[str, list[tuple[float, int, Pending]]] = {}
        self._known: set[str] = set()  # deliveries queued or in flight
        self._node_id = node_id
        self._seen: DeliveryPosition = (0, 0, "")  # where the last delivery read sits
        self._listening = False  # some endpoint is enabled: new events may make deliveries
        self._order = itertools.count()
        self._workers: Counter[str] = Counter()  # endpoint → its workers (attempts at once)
        self._generations: Counter[str] = Counter()  # endpoint → changes seen so far
        self._changed_endpoints: set[str] = set()
        self._kick = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()  # workers, and outcomes being recorded
        # Never follows redirects: one could lead past the SSRF guard.
        self._pool = pool if pool is not None else Pool(USER_AGENT)

    # --- start and stop ----------------------------------------------------

    async def start(self) -> None:
        # First, so that what commits while the pending ones load is read again.
        xid, seq = await self._feed.start()
        self._seen = (xid, seq, "\uffff" if seq else "")
        for row in await self._store.fetchall(
            "SELECT d.* FROM webhook_deliveries d JOIN webhook_endpoints e"
            " ON e.id = d.endpoint_id WHERE d.status = 'pending' AND e.enabled = 1"
        ):
            self._push(self._pending_of(row))
        await self._count_endpoints()
        self._task = asyncio.create_task(self._run(), name="webhook-sender")

    async def close(self) -> None:
        tasks = [t for t in (self._task, *self._tasks) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._pool.close()

    # --- what the rest of the hub tells it -------------------------------

    def add(self, row: Row) -> None:
        """A new pending delivery (a redeliver), already stored."""
        self._push(self._pending_of(row))
        self._kick.set()

    def endpoint_changed(self, endpoint_id: str) -> None:
        """An endpoint was created, enabled, disabled or deleted: reload its deliveries."""
        self._changed_endpoints.add(endpoint_id)
        self._generations[endpoint_id] += 1
        self._kick.set()

    # --- the loop --------------------------------------------------------------

    async def _run(self) -> None:
        read_up_to: asyncio.Event | None = None  # the feed's change the last read covered
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
                # The feed hands out a new change once events commit: the same one
                # means nothing committed since the last read, only an attempt
                # ended. Reading anyway would put a query before every next attempt.
                held = False
                if change is not read_up_to:
                    held = await self._take_new()
                    # Some wait behind an older transaction: read again soon.
                    read_up_to = None if held else change
                delay = self._start_due()
                if held:
                    delay = HELD_RETRY_S if delay is None else min(delay, HELD_RETRY_S)
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
        # A cluster node cannot tell when another node makes the first endpoint:
        # it always listens (one read of new deliveries per committed change).
        self._listening = bool(row and row[0]) or self._node_id is not None

    async def _take_new(self) -> bool:
        """Queue the deliveries made by events committed since the last look;
        True if some committed ones must wait behind an older transaction."""
        while True:
            sql, params = deliveries_after(self._feed.order, self._seen, TAKE_BATCH)
            rows = await self._store.fetchall(sql, params)
            for row in rows:
                if not row["final"]:
                    return True
                if row["status"] == "pending":
                    self._push(self._pending_of(row))
                self._seen = delivery_position_of(row)
            if len(rows) < TAKE_BATCH:
                return False

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

    def _pending_of(self, row: Row) -> Pending:
        return pending_of(row, first_delay(self._config.retry_schedule_s))

    def _push(self, pending: Pending, again: bool = False) -> None:
        """Queue a delivery (``again``: one this sender already knows, to retry)."""
        if pending.id in self._known and not again:
            return  # read twice (at start, or a reload): queued once
        self._known.add(pending.id)
        queue = self._queues.setdefault(pending.endpoint_id, [])
        heapq.heappush(queue, (pending.due, next(self._order), pending))

    def _start_due(self) -> float | None:
        """Start workers where attempts are due; seconds until the next one is due."""
        now = self._clock.now().timestamp()
        soonest: float | None = None
        for endpoint_id, queue in list(self._queues.items()):
            if not queue:
                del self._queues[endpoint_id]
                continue
            if queue[0][0] > now:
                wait = queue[0][0] - now
                soonest = wait if soonest is None else min(soonest, wait)
                continue
            # One worker per due delivery, up to the endpoint's concurrency; a
            # worker that finds nothing left ends at once. The overall cap never
            # takes an endpoint's first worker: hung endpoints (one tenant's)
            # must not hold up everyone else's deliveries.
            while self._workers[endpoint_id] < min(
                len(queue), self._config.concurrency_per_endpoint
            ) and (sum(self._workers.values()) < MAX_IN_FLIGHT or not self._workers[endpoint_id]):
                self._workers[endpoint_id] += 1
                self._spawn(self._work(endpoint_id))
            # else: due but no room; a worker that ends wakes the loop
        return soonest

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _wait(self, change: asyncio.Event, delay: float | None) -> None:
        waits: list[Coroutine[Any, Any, Any]] = [self._kick.wait()]
        if self._listening:
            waits.append(change.wait())
        if delay is not None:
            waits.append(self._clock.sleep(delay))
        await first_of(*waits)

    # --- the attempts ----------------------------------------------------------

    # An endpoint's attempts are made by its workers (one HTTP exchange each at
    # a time), not by a task per attempt started from the loop: under load the
    # loop gets few turns, and an endpoint would wait for one before each attempt.

    async def _work(self, endpoint_id: str) -> None:
        """Make the endpoint's due attempts, a batch at a time, until none is due."""
        try:
            while batch := self._take_due(endpoint_id):
                await self._attempt_batch(endpoint_id, batch)
        finally:
            self._workers[endpoint_id] -= 1
            if self._workers[endpoint_id] <= 0:
                del self._workers[endpoint_id]
            self._kick.set()

    def _take_due(self, endpoint_id: str) -> list[Pending]:
        """Due deliveries of the endpoint: a fair share of them for this worker."""
        queue = self._queues.get(endpoint_id)
        if not queue:
            return []
        now = self._clock.now().timestamp()
        share = max(1, min(READ_BATCH, len(queue) // self._config.concurrency_per_endpoint))
        batch: list[Pending] = []
        while queue and queue[0][0] <= now and len(batch) < share:
            batch.append(heapq.heappop(queue)[2])
        return batch

    async def _attempt_batch(self, endpoint_id: str, batch: list[Pending]) -> None:
        """Read what the batch's attempts need in one query, then make them in turn."""
        generation = self._generations[endpoint_id]
        read_at = self._clock.monotonic()
        try:
            rows = await self._rows_of([p.id for p in batch])
        except Exception as exc:  # storage down, or a bug: no delivery may be dropped
            for pending in batch:
                self._not_recorded(pending, exc)
            return
        for n, pending in enumerate(batch):
            # What was read is trusted for a moment only, and not across a change
            # of the endpoint (disabled, deleted, its URL changed): the rest go
            # back to the queue and are read again.
            if (
                self._generations[endpoint_id] != generation
                or self._clock.monotonic() - read_at > READ_FRESH_S
            ):
                for later in batch[n:]:
                    self._push(later, again=True)
                return
            await self._attempt(pending, rows.get(pending.id))

    async def _rows_of(self, delivery_ids: list[str]) -> dict[str, Row]:
        """Each delivery as storage has it, with its event and its endpoint's secrets."""
        rows = await self._store.fetchall(
            f"SELECT d.id, e.url, e.enabled, {SECRET_COLUMNS}, d.status, d.attempt_count, v.body,"
            " d.endpoint_id, d.event_id, d.next_attempt_at"
            " FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id"
            " LEFT JOIN events v ON v.id = d.event_id"
            f" WHERE d.id IN ({', '.join('?' * len(delivery_ids))})",
            delivery_ids,
        )
        return {row["id"]: row for row in rows}

    async def _attempt(self, pending: Pending, row: Row | None) -> None:
        """POST one delivery; its outcome is recorded in the background."""
        if (
            row is None  # its endpoint was deleted
            or not row["enabled"]  # disabled: it waits, and is reloaded when enabled
            or row["status"] != "pending"
        ):
            self._known.discard(pending.id)
            return
        if row["attempt_count"] != pending.attempt_count:  # a stale copy
            if self._node_id is None:
                self._known.discard(pending.id)
            else:  # another node made an attempt: follow the delivery as stored
                self._push(self._pending_of(row), again=True)
            return
        if self._node_id is not None and not await self._claimed(pending):
            return
        try:
            if row["body"] is None:
                gone = "the event is no longer kept (see [events] retention_days)"
                outcome = Outcome(self._clock.now(), None, 0, gone, final=True)
            else:
                secrets = self._endpoints.secrets_of(row)
                outcome = await attempt.post(
                    self._pool, self._clock, self._config, pending, row["url"], row["body"], secrets
                )
        except Exception as exc:
            # A bug, or a failure nothing foresaw: it still counts as an attempt,
            # so the delivery follows its schedule to the end instead of being
            # retried forever (and keeping its event from being pruned).
            log.error("webhook attempt %s failed inside the hub", pending.id, exc_info=exc)
            error = f"the hub could not send it: {type(exc).__name__}: {exc}"[:300]
            outcome = Outcome(self._clock.now(), None, 0, error)
        # The receiver has answered: the worker goes on while the outcome
        # commits, or an endpoint could not have more attempts a second than
        # its workers can wait for commits.
        self._spawn(self._finish(pending, outcome))

    async def _claimed(self, pending: Pending) -> bool:
        """Several nodes: claim the attempt; False if another node has it (or it moved on)."""
        assert self._node_id is not None
        lease_s = self._config.timeout_s + CLAIM_MARGIN_S
        op = claim(
            self._node_id, pending.id, pending.attempt_count, lease_s, rfc3339(self._clock.now())
        )
        try:
            result = await self._store.write(op)
        except Exception as exc:  # storage down, or a bug: try again later
            self._not_recorded(pending, exc)
            return False
        if isinstance(result, Claimed):
            pending.attempt_count = result.attempt_count
            return True
        if isinstance(result, Busy):
            # Back when that claim would run out: by then it is recorded (and
            # this copy is read again as stored) or its node is gone.
            pending.due = self._clock.now().timestamp() + lease_s
            self._push(pending, again=True)
            self._kick.set()
        else:
            self._push(pending, again=True)  # read again as stored at once
            self._kick.set()
        return False

    async def _finish(self, pending: Pending, outcome: Outcome) -> None:
        """Record an attempt; queue the delivery again if it must be retried, else forget it."""
        try:
            recorded = await attempt.record(
                self._store, self._clock, self._config, self._rng, pending, outcome, self._node_id
            )
        except Exception as exc:  # storage down, or a bug: the delivery must not be dropped
            self._not_recorded(pending, exc)
            return
        if recorded is not Recorded.STALE and outcome.gone:
            log.warning("webhook endpoint %s answered 410 Gone; disabled", pending.endpoint_id)
            self.endpoint_changed(pending.endpoint_id)
        if recorded is Recorded.RETRY:
            self._push(pending, again=True)
            self._kick.set()  # it may be due at once, and no worker may be left to see it
        else:
            self._known.discard(pending.id)

    def _not_recorded(self, pending: Pending, exc: Exception) -> None:
        if isinstance(exc, StorageUnavailable):
            log.warning("webhook attempt %s not recorded (%s); trying again", pending.id, exc)
        else:
            log.error(
                "webhook attempt %s failed unexpectedly; trying again", pending.id, exc_info=exc
            )
        pending.due = self._clock.now().timestamp() + UNRECORDED_RETRY_S
        self._push(pending, again=True)
        self._kick.set()
