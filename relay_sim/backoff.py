"""Reconnect delays: exponential, capped, jittered so a fleet does not reconnect in step."""

from __future__ import annotations

import random


class Backoff:
    """Delays of ``first`` doubling up to ``maximum``; each one jittered to 50 to 100 %."""

    def __init__(self, rng: random.Random, first: float = 0.05, maximum: float = 2.0) -> None:
        self._rng = rng
        self.first = first
        self.maximum = maximum
        self._next = first

    def next_delay(self) -> float:
        delay = self._next * self._rng.uniform(0.5, 1.0)
        self._next = min(self._next * 2, self.maximum)
        return delay

    def reset(self) -> None:
        """Call once a connection has worked, so the next failure retries quickly."""
        self._next = self.first
