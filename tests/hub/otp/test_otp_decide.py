"""Tests for ``hub/otp.py``: the verify decision (``_decide``), from a row and a guess."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from typing import Any, cast

import pytest

from hub.clock import rfc3339
from hub.otp import Verification, _decide
from tests.hub.otp.otp_rig import MAX_TRIES, START, TTL_S

# --- _decide

NOW = START
EXPIRES = rfc3339(START + timedelta(seconds=TTL_S))


def row(status: str = "pending", wrong_tries: int = 0, expires_at: str = EXPIRES) -> Any:
    """An ``otps`` row as ``_decide`` reads it (it only indexes rows)."""
    return {"status": status, "wrong_tries": wrong_tries, "expires_at": expires_at}


def decide(r: dict[str, Any] | None, right: bool, now: datetime = NOW) -> Verification:
    return _decide(cast("sqlite3.Row | None", r), right, now, MAX_TRIES)


@pytest.mark.parametrize("right", [True, False])
def test_decide_answers_unknown_when_there_is_no_row(right: bool) -> None:
    assert decide(None, right) == Verification("unknown", 0)


@pytest.mark.parametrize("right", [True, False])
def test_decide_answers_max_attempts_when_the_otp_is_locked(right: bool) -> None:
    assert decide(row("max_attempts", MAX_TRIES), right) == Verification("max_attempts", 0)


@pytest.mark.parametrize("right", [True, False])
def test_decide_answers_expired_used_when_the_otp_was_verified(right: bool) -> None:
    assert decide(row("verified"), right) == Verification("expired", 0, "used")


@pytest.mark.parametrize("right", [True, False])
def test_decide_answers_expired_superseded_when_a_newer_code_replaced_it(right: bool) -> None:
    assert decide(row("superseded"), right) == Verification("expired", 0, "superseded")


@pytest.mark.parametrize("right", [True, False])
def test_decide_answers_expired_timed_out_when_now_is_exactly_expires_at(right: bool) -> None:
    at_expiry = START + timedelta(seconds=TTL_S)

    assert decide(row(), right, at_expiry) == Verification("expired", 0, "timed_out")


def test_decide_verifies_the_right_code_a_millisecond_before_expires_at() -> None:
    just_before = START + timedelta(seconds=TTL_S, milliseconds=-1)

    assert decide(row(), True, just_before) == Verification("verified", MAX_TRIES)


@pytest.mark.parametrize("wrong_tries", [0, 1, MAX_TRIES - 1])
def test_decide_verifies_the_right_code_with_the_tries_left_when_pending(
    wrong_tries: int,
) -> None:
    assert decide(row(wrong_tries=wrong_tries), True) == Verification(
        "verified", MAX_TRIES - wrong_tries
    )


@pytest.mark.parametrize("wrong_tries", range(MAX_TRIES - 1))
def test_decide_counts_a_wrong_code_down_as_failed_when_tries_remain(wrong_tries: int) -> None:
    assert decide(row(wrong_tries=wrong_tries), False) == Verification(
        "failed", MAX_TRIES - wrong_tries - 1
    )


def test_decide_answers_max_attempts_when_the_last_try_is_wrong() -> None:
    assert decide(row(wrong_tries=MAX_TRIES - 1), False) == Verification("max_attempts", 0)


def test_decide_checks_the_status_before_expiry_when_both_apply() -> None:
    long_after = START + timedelta(days=1)

    assert decide(row("verified"), True, long_after) == Verification("expired", 0, "used")
    assert decide(row("max_attempts"), True, long_after) == Verification("max_attempts", 0)
