"""Tests for ``relay_sim/backoff.py``."""

from __future__ import annotations

import random

from relay_sim.backoff import Backoff


def test_backoff_doubles_up_to_the_maximum_with_jitter() -> None:
    backoff = Backoff(random.Random(1), first=0.05, maximum=2.0)

    delays = [backoff.next_delay() for _ in range(10)]

    ceilings = [0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 2.0, 2.0, 2.0, 2.0]
    assert all(
        ceiling / 2 <= delay <= ceiling for delay, ceiling in zip(delays, ceilings, strict=True)
    )


def test_backoff_reset_starts_again_from_the_first_delay() -> None:
    backoff = Backoff(random.Random(1), first=0.05, maximum=2.0)
    for _ in range(5):
        backoff.next_delay()

    backoff.reset()

    assert backoff.next_delay() <= 0.05
