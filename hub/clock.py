"""The one clock every timer in the hub reads, injectable so tests move time.

``now()`` is wall time (timestamps, expiry); ``monotonic()`` measures intervals
(ack timeouts, presence). Timers wait with ``sleep()``; a test passes a
``ManualClock`` and calls ``advance()`` instead of waiting.
"""

from __future__ import annotations

import asyncio
import functools
import heapq
import itertools
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...
    def monotonic(self) -> float: ...
    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class ManualClock:
    """A clock that only moves when told to; sleepers wake when their time comes."""

    def __init__(self, start: datetime | None = None) -> None:
        # Starts at the real time so peers on the system clock (relays) agree on "now".
        self._wall = start or datetime.now(UTC)
        self._mono = 1000.0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def now(self) -> datetime:
        return self._wall

    def monotonic(self) -> float:
        return self._mono

    async def sleep(self, seconds: float) -> None:
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self._mono + max(seconds, 0.0), next(self._order), waiter))
        await waiter

    def advance(self, seconds: float) -> None:
        """Move time forward and wake every sleeper whose time has come."""
        self._mono += seconds
        self._wall += timedelta(seconds=seconds)
        while self._sleepers and self._sleepers[0][0] <= self._mono:
            _, _, waiter = heapq.heappop(self._sleepers)
            if not waiter.done():
                waiter.set_result(None)


@functools.lru_cache(maxsize=1024)  # a send formats the same few instants several times
def rfc3339(moment: datetime) -> str:
    """UTC time as an RFC 3339 string with a ``Z`` and milliseconds."""
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    return moment.isoformat(timespec="milliseconds")[:-6] + "Z"
