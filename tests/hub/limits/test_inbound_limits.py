"""``hub/limits/inbound.py``: the per-device rate and the per-account total of inbound SMS."""

from __future__ import annotations

import logging

import pytest

from hub.clock import ManualClock
from hub.limits.inbound import WARN_EVERY_S, InboundGate


def gate(clock: ManualClock, max_stored: int = 1000) -> InboundGate:
    return InboundGate(clock, per_minute=60, burst=2, max_stored=max_stored)


def test_a_device_gets_its_burst_then_one_a_second() -> None:
    clock = ManualClock()
    inbound = gate(clock)

    assert [inbound.admit("acc_a", "dev_a") for _ in range(3)] == [True, True, False]
    clock.advance(1)
    assert [inbound.admit("acc_a", "dev_a") for _ in range(2)] == [True, False]
    assert inbound.stored("acc_a") == 3


def test_the_account_total_counts_every_device_of_the_account_and_only_it() -> None:
    inbound = gate(ManualClock(), max_stored=3)

    admitted = [inbound.admit("acc_a", device) for device in ("d1", "d1", "d2", "d2")]

    assert admitted == [True, True, True, False]
    assert inbound.admit("acc_b", "d3")


def test_drops_are_warned_once_a_minute_with_how_many_went_unsaid(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = ManualClock()
    inbound = gate(clock)
    with caplog.at_level(logging.WARNING, logger="hub.limits.inbound"):
        for _ in range(2 + 10):
            inbound.admit("acc_a", "dev_a")
        clock.advance(WARN_EVERY_S)
        for _ in range(2 + 1):  # the bucket is full again: two pass, one is dropped
            inbound.admit("acc_a", "dev_a")

    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2
    assert "dev_a" in messages[0] and "inbound_per_minute = 60" in messages[0]
    assert "(9 more dropped since the last warning)" in messages[1]
