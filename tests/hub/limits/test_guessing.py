"""The guessing brake: failures per client and window, IPv6 counted by its /64."""

from __future__ import annotations

import pytest

from hub.clock import ManualClock
from hub.limits.guess_brakes import GuessBrake, client_key


def test_brake_waits_for_the_oldest_failure_to_age_out_once_the_limit_is_reached() -> None:
    clock = ManualClock()
    brake = GuessBrake(clock, limit=2, window_s=60)
    brake.charge("192.0.2.1")
    clock.advance(10)
    brake.charge("192.0.2.1")

    assert brake.retry_after("192.0.2.1") == 50
    assert brake.retry_after("192.0.2.2") == 0
    clock.advance(50)
    assert brake.retry_after("192.0.2.1") == 0  # one failure left in the window


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("192.0.2.7", "192.0.2.7"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),
        ("fe80::1%eth0", "fe80::/64"),
        ("::ffff:192.0.2.7", "192.0.2.7"),
        ("unknown", "unknown"),
    ],
)
def test_client_key_groups_an_ipv6_client_by_its_64_and_a_mapped_one_by_its_ipv4(
    address: str, key: str
) -> None:
    assert client_key(address) == key


def test_brake_refuses_a_fresh_address_of_the_same_ipv6_64() -> None:
    brake = GuessBrake(ManualClock(), limit=3, window_s=60)
    for n in range(3):
        brake.charge(f"2001:db8:0:7::{n + 1}")

    assert brake.retry_after("2001:db8:0:7::99") == 60
    assert brake.retry_after("2001:db8:0:8::1") == 0


def test_refusal_headers_name_the_policy_its_quota_and_the_wait() -> None:
    brake = GuessBrake(ManualClock(), limit=10, window_s=600)

    assert brake.refusal_headers("pairing-guess", 42) == {
        "Retry-After": "42",
        "RateLimit-Policy": '"pairing-guess";q=10;w=600',
        "RateLimit": '"pairing-guess";r=0;t=42',
    }
