"""Charging a guess before it is checked: the count holds for guesses in flight."""

from __future__ import annotations

from hub.clock import ManualClock
from hub.limits.guess_brakes import GuessBrake


def test_charges_past_the_limit_are_refused_before_any_is_settled() -> None:
    brake = GuessBrake(ManualClock(), limit=3, window_s=60)

    waits = [brake.charge("192.0.2.1") for _ in range(5)]

    assert waits == [0, 0, 0, 60, 60]


def test_a_refunded_charge_frees_its_place_and_only_its_own() -> None:
    brake = GuessBrake(ManualClock(), limit=2, window_s=60)
    brake.charge("192.0.2.1")
    brake.charge("192.0.2.1")
    brake.refund("192.0.2.1")  # that guess proved right

    assert brake.charge("192.0.2.1") == 0
    assert brake.charge("192.0.2.1") == 60


def test_a_refused_charge_does_not_push_the_end_back() -> None:
    clock = ManualClock()
    brake = GuessBrake(clock, limit=1, window_s=60)
    brake.charge("192.0.2.1")
    clock.advance(30)

    assert brake.charge("192.0.2.1") == 30
    clock.advance(30)
    assert brake.charge("192.0.2.1") == 0
