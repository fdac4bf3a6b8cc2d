"""Tests for ``relay_sim/profiles.py``: the bundled profiles and the plans they draw."""

from __future__ import annotations

import dataclasses
import random

import pytest

from relay_sim.profiles import PROFILES, Profile


def test_profiles_are_keyed_by_their_names() -> None:
    assert set(PROFILES) == {"ideal", "realistic", "flaky", "stalled"}
    assert all(profile.name == name for name, profile in PROFILES.items())


def test_ideal_profile_is_immediate_and_faultless() -> None:
    ideal = PROFILES["ideal"]

    assert ideal == Profile("ideal")
    plan = ideal.plan(random.Random(1))
    assert (plan.ack_delay_s, plan.send_latency_s, plan.delivery_delay_s) == (0, 0, 0)
    assert not (plan.send_fails or plan.delivered_first or plan.disconnect_after_accept)


def test_realistic_profile_has_latency_and_rare_failures() -> None:
    realistic = PROFILES["realistic"]

    assert realistic.send_latency_s == (0.2, 1.5)
    assert realistic.delivery_delay_s == (1, 8)
    assert realistic.send_failure_rate == pytest.approx(0.02)
    assert realistic.never_delivered_rate == pytest.approx(0.03)
    assert realistic.disconnect_rate == 0 and realistic.duplicate_report_rate == 0


def test_flaky_profile_injects_every_kind_of_fault() -> None:
    flaky = PROFILES["flaky"]

    assert flaky.disconnect_rate > 0
    assert flaky.duplicate_report_rate > 0
    assert flaky.out_of_order_rate > 0
    assert 1 <= flaky.ack_delay_s[1] <= 5


def test_profile_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        PROFILES["ideal"].send_failure_rate = 1  # type: ignore[misc]


@pytest.mark.parametrize(
    "changes",
    [
        {"send_failure_rate": 1.5},
        {"disconnect_rate": -0.1},
        {"ack_delay_s": (2, 1)},
        {"delivery_delay_s": (-1, 1)},
    ],
)
def test_profile_refuses_impossible_values(changes: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=next(iter(changes))):
        Profile("bad", **changes)  # type: ignore[arg-type]


def test_plan_draws_delays_within_the_profile_ranges() -> None:
    profile = Profile("ranges", ack_delay_s=(1, 2), send_latency_s=(3, 4), delivery_delay_s=(5, 6))
    rng = random.Random(3)

    for _ in range(100):
        plan = profile.plan(rng)
        assert 1 <= plan.ack_delay_s <= 2
        assert 3 <= plan.send_latency_s <= 4
        assert plan.delivery_delay_s is not None and 5 <= plan.delivery_delay_s <= 6


def test_plan_with_certain_failure_never_delivers_nor_reorders() -> None:
    profile = Profile("doomed", send_failure_rate=1, out_of_order_rate=1)

    plan = profile.plan(random.Random(1))

    assert plan.send_fails
    assert plan.delivery_delay_s is None and not plan.delivered_first


def test_plan_with_no_delivery_reports_never_reorders() -> None:
    profile = Profile("silent", never_delivered_rate=1, out_of_order_rate=1)

    plan = profile.plan(random.Random(1))

    assert plan.delivery_delay_s is None and not plan.delivered_first


def test_plan_is_reproducible_from_a_seed() -> None:
    flaky = PROFILES["flaky"]

    first = [flaky.plan(rng) for rng in [random.Random(42)] for _ in range(20)]
    again = [flaky.plan(rng) for rng in [random.Random(42)] for _ in range(20)]

    assert first == again


def test_stalled_profile_answers_no_job_within_a_day() -> None:
    plan = PROFILES["stalled"].plan(random.Random(1))

    assert plan.ack_delay_s >= 86_400
