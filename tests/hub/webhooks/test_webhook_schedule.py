"""Tests for ``hub/webhooks/schedule.py``: retry delays, jitter and ``Retry-After``."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from hub.webhooks.schedule import JITTER, RETRY_AFTER_MAX_S, next_delay, parse_retry_after

SCHEDULE = (0, 10, 60, 300)
DRAWS = 2000
NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)


def http_date(moment: datetime) -> str:
    """``moment`` as an HTTP date (``Thu, 01 Jan 2026 12:00:00 GMT``)."""
    return format_datetime(moment, usegmt=True)


# next_delay


@pytest.mark.parametrize("attempts_made", [1, 2, 3])
def test_next_delay_stays_within_the_jitter_of_its_schedule_entry_over_many_draws(
    attempts_made: int,
) -> None:
    rng = random.Random(1234)
    base = SCHEDULE[attempts_made]

    delays = [next_delay(attempts_made, SCHEDULE, rng) for _ in range(DRAWS)]

    assert all(d is not None for d in delays)
    values = [d for d in delays if d is not None]
    assert min(values) >= base * (1 - JITTER)
    assert max(values) <= base * (1 + JITTER)
    # Jitter actually spreads the delays: both halves of the band are used.
    assert min(values) < base * (1 - JITTER / 2)
    assert max(values) > base * (1 + JITTER / 2)


def test_next_delay_reads_the_entry_at_the_number_of_attempts_made() -> None:
    schedule = (0, 100, 10_000)
    rng = random.Random(7)

    after_one = next_delay(1, schedule, rng)
    after_two = next_delay(2, schedule, rng)

    assert after_one is not None and 80 <= after_one <= 120
    assert after_two is not None and 8_000 <= after_two <= 12_000


def test_next_delay_is_zero_when_the_entry_is_zero() -> None:
    assert next_delay(0, SCHEDULE, random.Random(1)) == 0


def test_next_delay_draws_the_same_delays_when_given_the_same_seed() -> None:
    first = [next_delay(2, SCHEDULE, random.Random(42)) for _ in range(3)]
    again = [next_delay(2, SCHEDULE, random.Random(42)) for _ in range(3)]

    assert first == again


@pytest.mark.parametrize("attempts_made", [len(SCHEDULE), len(SCHEDULE) + 1, 100])
def test_next_delay_gives_up_when_every_scheduled_attempt_was_made(attempts_made: int) -> None:
    assert next_delay(attempts_made, SCHEDULE, random.Random(1)) is None


def test_next_delay_gives_up_when_the_schedule_is_empty() -> None:
    assert next_delay(0, (), random.Random(1)) is None


def test_next_delay_gives_up_when_every_attempt_was_made_even_with_a_retry_after() -> None:
    assert next_delay(len(SCHEDULE), SCHEDULE, random.Random(1), retry_after_s=5.0) is None


def test_next_delay_waits_for_the_retry_after_when_it_is_longer_than_the_schedule() -> None:
    delay = next_delay(1, SCHEDULE, random.Random(1), retry_after_s=3_600.0)

    assert delay == 3_600.0


def test_next_delay_keeps_the_scheduled_delay_when_the_retry_after_is_shorter() -> None:
    jittered = next_delay(3, SCHEDULE, random.Random(5))

    honoured = next_delay(3, SCHEDULE, random.Random(5), retry_after_s=1.0)

    assert honoured == jittered
    assert honoured is not None and honoured >= SCHEDULE[3] * (1 - JITTER)


def test_next_delay_keeps_the_scheduled_delay_when_the_retry_after_is_zero() -> None:
    jittered = next_delay(2, SCHEDULE, random.Random(9))

    assert next_delay(2, SCHEDULE, random.Random(9), retry_after_s=0.0) == jittered


def test_next_delay_caps_a_retry_after_at_a_day_when_the_receiver_asks_for_longer() -> None:
    delay = next_delay(1, SCHEDULE, random.Random(1), retry_after_s=30 * RETRY_AFTER_MAX_S)

    assert delay == RETRY_AFTER_MAX_S


def test_next_delay_keeps_a_scheduled_delay_longer_than_the_retry_after_cap() -> None:
    schedule = (0, 3 * int(RETRY_AFTER_MAX_S))

    delay = next_delay(1, schedule, random.Random(1), retry_after_s=10 * RETRY_AFTER_MAX_S)

    assert delay is not None and delay >= schedule[1] * (1 - JITTER)


# parse_retry_after


@pytest.mark.parametrize(("value", "seconds"), [("0", 0.0), ("120", 120.0), (" 30 ", 30.0)])
def test_parse_retry_after_reads_seconds_when_given_a_number(value: str, seconds: float) -> None:
    assert parse_retry_after(value, NOW) == seconds


def test_parse_retry_after_counts_from_now_when_given_an_http_date_in_the_future() -> None:
    value = http_date(NOW + timedelta(minutes=5))

    assert parse_retry_after(value, NOW) == 300.0


def test_parse_retry_after_reads_a_date_with_a_numeric_offset() -> None:
    value = "Thu, 01 Jan 2026 14:30:00 +0200"  # 12:30 UTC

    assert parse_retry_after(value, NOW) == 1_800.0


def test_parse_retry_after_is_zero_when_the_http_date_has_passed() -> None:
    value = http_date(NOW - timedelta(hours=1))

    assert parse_retry_after(value, NOW) == 0.0


@pytest.mark.parametrize(
    "value",
    ["soon", "1.5", "-5", "1e3", "0x10", "Wed, 21 Oct", "Mon, 99 Jan 2026 00:00:00 GMT"],
)
def test_parse_retry_after_is_none_when_the_value_is_garbage(value: str) -> None:
    assert parse_retry_after(value, NOW) is None


@pytest.mark.parametrize("value", [None, "", "   "])
def test_parse_retry_after_is_none_when_the_header_is_missing_or_empty(value: str | None) -> None:
    assert parse_retry_after(value, NOW) is None


@pytest.mark.parametrize(
    "value",
    [
        "Thu, 01 Jan 2026 12:05:00",  # no zone at all
        "Thu, 01 Jan 2026 12:05:00 -0000",  # RFC 2822's "zone unknown"
    ],
)
def test_parse_retry_after_is_none_when_the_date_is_naive(value: str) -> None:
    assert parse_retry_after(value, NOW) is None


@pytest.mark.parametrize(
    "value",
    [
        "\u00b2",  # "²": latin-1 byte 0xB2, as httpx decodes a non-ASCII header value
        "\u0663",  # "٣": ARABIC-INDIC DIGIT THREE; delay-seconds is ASCII DIGITs only
    ],
)
def test_parse_retry_after_is_none_when_the_digits_are_not_ascii(value: str) -> None:
    assert parse_retry_after(value, NOW) is None
