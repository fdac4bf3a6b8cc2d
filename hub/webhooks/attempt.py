"""One webhook attempt: POST the delivery signed, then store its outcome and next state.

The sender (``hub.webhooks.sender``) decides when an attempt is due; this
module makes it and says what comes next. The outcome and the delivery's next
state commit in one transaction, so a crash leaves the delivery pending and
the next start tries it again with the same ``webhook-id``.
"""

from __future__ import annotations

import asyncio
import enum
import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from hub.clock import Clock, rfc3339
from hub.config import WebhooksConfig
from hub.errors import TargetRefused
from hub.store.interface import Row, Store, Tx
from hub.webhooks import signer
from hub.webhooks.http import Pool, RequestFailed
from hub.webhooks.schedule import HONOURS_RETRY_AFTER, next_delay, parse_retry_after
from hub.webhooks.targets import check_target

EXCERPT_BYTES: Final = 512  # of each response body, for the attempts log
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

    @property
    def gone(self) -> bool:
        """410: the receiver wants no more deliveries; its endpoint gets disabled."""
        return self.status_code == 410


class Recorded(enum.Enum):
    """What storing an attempt's outcome left the delivery as."""

    RETRY = "retry"  # stored, and due again at ``Pending.due``
    DONE = "done"  # stored: succeeded, or given up
    STALE = "stale"  # not stored: deleted with its endpoint, or recorded by another copy


def pending_of(row: Row, first_delay_s: float) -> Pending:
    due = datetime.fromisoformat(row["next_attempt_at"]).timestamp()
    if row["attempt_count"] == 0:
        due += first_delay_s  # a new delivery is stored due "now"; the schedule may say later
    return Pending(row["id"], row["endpoint_id"], row["event_id"], row["attempt_count"], due)


async def post(
    pool: Pool,
    clock: Clock,
    config: WebhooksConfig,
    pending: Pending,
    url: str,
    body: bytes,
    secrets: list[str],
) -> Outcome:
    """POST one delivery to ``url`` signed with ``secrets``; every way it can end is an Outcome."""
    at, started = clock.now(), time.perf_counter()

    def took() -> int:
        return round((time.perf_counter() - started) * 1000)

    try:
        # Checked again now (DNS may have changed), and the request goes to
        # the address that was checked.
        target = await check_target(url, config.allow_private_targets)
    except TargetRefused as exc:
        return Outcome(at, None, 0, f"refused: {exc}")
    timestamp = int(clock.now().timestamp())
    headers = {
        **signer.headers(secrets, pending.event_id, timestamp, body),
        "content-type": "application/json",
    }
    timeout = config.timeout_s
    try:
        async with asyncio.timeout(timeout):
            answer = await pool.post(
                target.pinned_url, host_header=target.host_header,
                server_name=target.server_name, headers=headers, body=body,
                excerpt_bytes=EXCERPT_BYTES,
            )  # fmt: skip
    except TimeoutError:
        return Outcome(at, None, took(), f"no answer within {timeout:g} s")
    except RequestFailed as exc:
        return Outcome(at, None, took(), str(exc))
    retry_after = None
    if answer.status in HONOURS_RETRY_AFTER:
        retry_after = parse_retry_after(answer.headers.get("retry-after"), clock.now())
    return Outcome(
        at,
        answer.status,
        took(),
        None,
        answer.excerpt.decode("utf-8", "replace"),
        retry_after,
    )


async def record(
    store: Store,
    clock: Clock,
    config: WebhooksConfig,
    rng: random.Random,
    pending: Pending,
    outcome: Outcome,
    node_id: str | None = None,
) -> Recorded:
    """Store the attempt and the delivery's next state together.

    On ``RETRY`` the attempt count and due time of ``pending`` are moved on,
    ready to be queued again. ``node_id`` (several nodes): the node that claimed
    the attempt (``hub.webhooks.claims``); it is recorded only while that claim holds.
    """
    now = clock.now()
    made = pending.attempt_count + 1
    delay = None
    if not outcome.succeeded and not outcome.gone and not outcome.final:
        delay = next_delay(made, config.retry_schedule_s, rng, outcome.retry_after_s)
    status = "succeeded" if outcome.succeeded else "pending" if delay is not None else "failed"
    due = now + timedelta(seconds=delay) if delay is not None else None
    stamp, tried = rfc3339(now), rfc3339(outcome.at)

    update = (
        "UPDATE webhook_deliveries SET status = ?, attempt_count = ?,"
        " next_attempt_at = ?, updated_at = ?"
    )
    where = " WHERE id = ? AND status = 'pending' AND attempt_count = ?"
    params: list[object] = [status, made, due and rfc3339(due), stamp]
    params += [pending.id, pending.attempt_count]
    if node_id is not None:
        update += ", locked_by = NULL, locked_until = NULL, locked_at = NULL"
        where += " AND locked_by = ?"
        params.append(node_id)

    def op(tx: Tx) -> bool:
        moved = tx.execute(update + where, params).rowcount
        if not moved:
            return False  # deleted with its endpoint, or recorded by another copy
        tx.execute(
            "INSERT INTO webhook_attempts (delivery_id, n, at, status_code, latency_ms,"
            " error, response_excerpt) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (pending.id, made, tried, outcome.status_code, outcome.latency_ms,
             outcome.error, outcome.excerpt),
        )  # fmt: skip
        if outcome.gone:
            tx.execute(
                "UPDATE webhook_endpoints SET enabled = 0, disabled_reason = ?,"
                " updated_at = ? WHERE id = ?",
                (f"the receiver answered 410 Gone at {stamp}", stamp, pending.endpoint_id),
            )
        return True

    if not await store.write(op):
        return Recorded.STALE
    if due is None:
        return Recorded.DONE
    pending.attempt_count, pending.due = made, due.timestamp()
    return Recorded.RETRY
