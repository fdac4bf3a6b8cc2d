"""Tests for ``relay_sim/phone.py``: SIMs, health readings and SMS part counting."""

from __future__ import annotations

import random

import pytest

from relay_sim.phone import SimulatedPhone, count_parts


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("", 1),
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("€" * 80, 1),  # extension characters take two septets
        ("€" * 81, 2),
        ("д" * 70, 1),  # Cyrillic forces UCS-2
        ("д" * 71, 2),
        ("😀" * 35, 1),  # beyond the BMP: two UTF-16 units each
        ("😀" * 36, 2),
        ("д" * 10_000, 150),
    ],
)
def test_count_parts_follows_gsm7_and_ucs2_limits(text: str, parts: int) -> None:
    assert count_parts(text) == parts


def test_phone_describes_its_sims_in_hello() -> None:
    phone = SimulatedPhone(random.Random(1), sims=3)

    hello = phone.hello(parts_per_minute=45)

    assert [sim.slot for sim in hello.sims] == [0, 1, 2]
    assert all(sim.number and sim.number.startswith("+99890") for sim in hello.sims)
    assert hello.limits.parts_per_minute == 45
    assert phone.has_slot(2) and not phone.has_slot(3)


@pytest.mark.parametrize("sims", [0, 9])
def test_phone_refuses_an_impossible_number_of_sims(sims: int) -> None:
    with pytest.raises(ValueError, match="SIM slots"):
        SimulatedPhone(random.Random(1), sims=sims)


def test_phone_heartbeats_stay_plausible() -> None:
    phone = SimulatedPhone(random.Random(5))

    for _ in range(500):
        reading = phone.heartbeat(queue=3)
        assert 5 <= reading.battery <= 100
        assert 2 <= reading.signal <= 4
        assert reading.queue == 3
