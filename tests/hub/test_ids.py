"""Tests for ``hub/ids.py``: prefixed, time-sortable ULID-style ids."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from hub.ids import new_id

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
NOW = datetime(2026, 3, 14, 15, 9, 26, 535_000, tzinfo=UTC)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def millis_of(identifier: str) -> int:
    """The 48-bit millisecond time in the first 10 characters after the prefix."""
    value = 0
    for char in identifier.split("_", 1)[1][:10]:
        value = value * 32 + CROCKFORD.index(char)
    return value  # 10 chars hold 50 bits: 2 zero bits of padding, then the 48-bit time


def test_new_id_starts_with_its_prefix_and_26_crockford_characters() -> None:
    identifier = new_id("req", NOW)

    assert re.fullmatch(r"req_[0-9A-HJKMNP-TV-Z]{26}", identifier)


@pytest.mark.parametrize("prefix", ["dev", "tok", "ses"])
def test_new_id_uses_the_prefix_it_is_given(prefix: str) -> None:
    assert new_id(prefix, NOW).startswith(f"{prefix}_")


def test_new_id_encodes_the_millisecond_of_its_time_when_made() -> None:
    assert millis_of(new_id("req", NOW)) == (NOW - EPOCH) // timedelta(milliseconds=1)


def test_new_id_differs_when_made_twice_in_the_same_millisecond() -> None:
    assert len({new_id("req", NOW) for _ in range(1000)}) == 1000


def test_new_id_sorts_after_ids_made_at_earlier_milliseconds() -> None:
    times = [NOW + timedelta(milliseconds=i) for i in range(2000)]
    ids = [new_id("req", t) for t in times]

    assert sorted(ids) == ids


def test_new_id_sorts_by_time_when_times_are_years_apart() -> None:
    early = new_id("req", datetime(2020, 1, 1, tzinfo=UTC))
    late = new_id("req", datetime(2031, 1, 1, tzinfo=UTC))

    assert early < late


def test_new_id_sorts_after_the_previous_millisecond_when_the_float_time_rounds_down() -> None:
    at = datetime(2039, 5, 10, 17, 42, 48, 2_000, tzinfo=UTC)
    before = at - timedelta(milliseconds=1)

    assert millis_of(new_id("req", at)) > millis_of(new_id("req", before))


def _reference_encoding(value: int) -> str:
    """Crockford base32 of a 130-bit value, one digit at a time, most significant first."""
    return "".join(CROCKFORD[(value >> (5 * i)) & 31] for i in reversed(range(26)))


@pytest.mark.parametrize(
    "value", [0, 1, 31, 32, 2**80 - 1, 2**128 - 1, 0x0123456789ABCDEF0123456789ABCDEF]
)
def test_floor_id_encodes_its_value_digit_for_digit(value: int) -> None:
    from hub.ids import _encode

    assert _encode("req", value) == f"req_{_reference_encoding(value)}"
