"""Tests for ``hub/clock.py``: the manual clock tests move instead of waiting."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone

from hub.clock import ManualClock, rfc3339

START = datetime(2026, 1, 1, tzinfo=UTC)


async def sleepers(clock: ManualClock, *delays: float) -> tuple[list[asyncio.Task], list[float]]:
    """Start one sleeper per delay; returns once every one of them is asleep."""
    woke: list[float] = []
    asleep = [asyncio.Event() for _ in delays]

    async def sleeper(delay: float, ready: asyncio.Event) -> None:
        sleeping = clock.sleep(delay)
        ready.set()
        await sleeping
        woke.append(delay)

    tasks = [asyncio.create_task(sleeper(d, e)) for d, e in zip(delays, asleep, strict=True)]
    for event in asleep:
        await event.wait()  # set in the same step that parks the sleeper on the clock
    return tasks, woke


async def one_turn() -> None:
    """Let every task whose wake-up is already scheduled run (a yield, not a wait)."""
    await asyncio.sleep(0)


async def test_manual_clock_wakes_a_sleeper_only_when_advanced_to_its_deadline() -> None:
    clock = ManualClock(START)
    (task,), woke = await sleepers(clock, 5)

    clock.advance(4)
    await one_turn()
    assert not task.done()

    clock.advance(1)
    await task
    assert woke == [5]


async def test_manual_clock_wakes_sleepers_in_deadline_order_when_advanced_past_all() -> None:
    clock = ManualClock(START)
    tasks, woke = await sleepers(clock, 5, 1, 3, 3)

    clock.advance(10)
    await asyncio.gather(*tasks)

    assert woke == [1, 3, 3, 5]


async def test_manual_clock_wakes_only_the_sleepers_due_when_advanced_partway() -> None:
    clock = ManualClock(START)
    (five, one, three), woke = await sleepers(clock, 5, 1, 3)

    clock.advance(3)
    await asyncio.gather(one, three)

    await one_turn()
    assert woke == [1, 3]
    assert not five.done()
    clock.advance(2)
    await five
    assert woke == [1, 3, 5]


async def test_manual_clock_measures_a_sleep_from_when_it_starts_when_time_moved_before() -> None:
    clock = ManualClock(START)
    clock.advance(100)
    (task,), _ = await sleepers(clock, 5)

    clock.advance(4)
    await one_turn()
    assert not task.done()
    clock.advance(1)
    await task


async def test_manual_clock_skips_a_cancelled_sleeper_when_advanced() -> None:
    clock = ManualClock(START)
    (cancelled, kept), woke = await sleepers(clock, 1, 2)
    cancelled.cancel()
    await asyncio.gather(cancelled, return_exceptions=True)

    clock.advance(2)
    await kept

    assert woke == [2]


def test_manual_clock_moves_wall_and_monotonic_time_together_when_advanced() -> None:
    clock = ManualClock(START)
    wall, mono = clock.now(), clock.monotonic()

    clock.advance(2.5)
    clock.advance(0.5)

    assert clock.now() - wall == timedelta(seconds=3)
    assert clock.monotonic() - mono == 3.0


def test_manual_clock_stands_still_when_not_advanced() -> None:
    clock = ManualClock(START)

    assert (clock.now(), clock.monotonic()) == (clock.now(), clock.monotonic())
    assert clock.now() == START


def test_rfc3339_writes_utc_with_milliseconds_and_z_when_given_another_zone() -> None:
    tashkent = datetime(2026, 1, 1, 10, 0, 0, 123_456, tzinfo=timezone(timedelta(hours=5)))

    assert rfc3339(tashkent) == "2026-01-01T05:00:00.123Z"
