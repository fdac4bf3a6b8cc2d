"""The soaks' end checks catch what they name, and only that."""

from __future__ import annotations

from tests import chaos_checks as checks


def test_a_dispatch_after_acceptance_is_caught_and_one_before_it_is_not() -> None:
    history = [
        ("req_a", "dispatched"), ("req_a", "dispatched"), ("req_a", "accepted"),
        ("req_b", "dispatched"), ("req_b", "accepted"), ("req_b", "dispatched"),
    ]  # fmt: skip
    assert checks.dispatched_after_acceptance(history) == {"req_b"}


def test_a_dispatch_to_another_device_after_acceptance_is_caught_and_to_the_same_is_not() -> None:
    history = [
        ("req_a", "dispatched", "dev_1"), ("req_a", "accepted", "dev_1"),
        ("req_a", "dispatched", "dev_1"),  # the same phone again: not another relay
        ("req_b", "dispatched", "dev_1"), ("req_b", "dispatched", "dev_2"),  # before acceptance
        ("req_b", "accepted", "dev_2"), ("req_b", "dispatched", "dev_3"),
    ]  # fmt: skip
    assert checks.handed_to_another_relay_after_acceptance(history) == {"req_b"}
