"""When a failed webhook delivery is tried again.

``retry_schedule_s[k]`` is the delay before attempt ``k + 1`` (the first entry,
normally 0, is the first attempt itself). Each delay gets ±20 % jitter so
that deliveries failed together by one outage do not all return at once. A
``Retry-After`` from a 429 or 503 is honoured: the next attempt is never
sooner than the receiver asked (capped at a day).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Final

JITTER: Final = 0.2
RETRY_AFTER_MAX_S: Final = 86_400.0
HONOURS_RETRY_AFTER: Final = frozenset({429, 503})


def first_delay(schedule: Sequence[int]) -> float:
    return float(schedule[0]) if schedule else 0.0


def next_delay(
    attempts_made: int,
    schedule: Sequence[int],
    rng: random.Random,
    retry_after_s: float | None = None,
) -> float | None:
    """Seconds until the next attempt after ``attempts_made`` failures; None: give up."""
    if attempts_made >= len(schedule):
        return None
    delay = schedule[attempts_made] * rng.uniform(1 - JITTER, 1 + JITTER)
    if retry_after_s is not None:
        delay = max(delay, min(retry_after_s, RETRY_AFTER_MAX_S))
    return delay


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """A ``Retry-After`` header (seconds or an HTTP date) as seconds from ``now``."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max((when - now).total_seconds(), 0.0)
