"""``GET /v1/stats``: the account's queue health, for the dashboard (scope ``messages.read``).

Live counts come from the hub's memory (what is queued or held now); rates,
the last hour's throughput and the POST → sent latency histogram come from
storage, read over the last hour's messages only (ids sort by queue time).
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import Response

from hub.api.request import hub_of, require
from hub.api.responses import ok
from hub.clock import rfc3339
from protocol.lifecycle import ENDED_UNDELIVERED

HOUR: Final = timedelta(hours=1)
# Upper bounds of the latency histogram's buckets, in milliseconds (None: the rest).
LATENCY_BUCKETS_MS: Final = (100, 250, 500, 1000, 2500, 5000, 10_000, 30_000, 60_000, None)


def _minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def _histogram(latencies: list[float]) -> dict[str, Any]:
    counts = [0] * len(LATENCY_BUCKETS_MS)
    for ms in latencies:
        index = next(i for i, le in enumerate(LATENCY_BUCKETS_MS) if le is None or ms <= le)
        counts[index] += 1
    ordered = sorted(latencies)

    def pct(q: float) -> float | None:
        if not ordered:
            return None
        return round(ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)], 1)

    return {
        "buckets": [
            {"le_ms": le, "count": c} for le, c in zip(LATENCY_BUCKETS_MS, counts, strict=True)
        ],
        "p50_ms": pct(0.5),
        "p95_ms": pct(0.95),
        "count": len(ordered),
    }


async def stats(request: Request) -> Response:
    principal = await require(request, "messages.read")
    hub = hub_of(request)
    account_id = principal.account_id
    now = hub.clock.now()
    live = hub.messaging.live_counts(account_id)
    oldest = live.oldest_queued_at
    rows = await hub.history.ended_since(account_id, now - HOUR)
    first = _minute(now) - timedelta(minutes=59)
    minutes = {first + timedelta(minutes=i): {"sent": 0, "failed": 0} for i in range(60)}
    latencies: list[float] = []
    for row in rows:
        if row["sent_at"]:
            sent = datetime.fromisoformat(row["sent_at"])
            if (bucket := minutes.get(_minute(sent))) is not None:
                bucket["sent"] += 1
            queued = datetime.fromisoformat(row["queued_at"])
            latencies.append(max((sent - queued).total_seconds() * 1000, 0.0))
        if row["failed_at"] and row["state"] in ENDED_UNDELIVERED:
            failed = datetime.fromisoformat(row["failed_at"])
            if (bucket := minutes.get(_minute(failed))) is not None:
                bucket["failed"] += 1
    last_minute = minutes[_minute(now)]
    devices = [
        {"id": d.id, "name": d.name, "online": hub.messaging.is_online(d.id),
         "in_flight": hub.messaging.in_flight(d.id)}
        for d in hub.devices.of_account(account_id)
    ]  # fmt: skip
    return ok({
        "at": rfc3339(now),
        "queue": {
            "queued": live.queued,
            "dispatched": live.dispatched,
            "accepted": live.accepted,
            "oldest_queued_age_s": round((now - oldest).total_seconds(), 1) if oldest else None,
        },
        "per_minute": {"sent": last_minute["sent"], "failed": last_minute["failed"]},
        "devices": devices,
        "throughput": [{"minute": rfc3339(m), **v} for m, v in minutes.items()],
        "latency": _histogram(latencies),
    })  # fmt: skip
