"""Tests for ``hub/otp.py``: codes, texts, the verify decision, and verification and
resend limits on a real store with an injected clock."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest
from cryptography.fernet import Fernet

from hub import otp as otp_module
from hub.clock import ManualClock, rfc3339
from hub.config import ConfigError, OtpConfig, load_config
from hub.messaging.writes import run_statements
from hub.otp import NewOtp, Otps, TooSoon, Verification, _decide, new_code, render
from hub.secret_box import SecretBox
from hub.store.sqlite import SqliteStore

ACCOUNT = "acc_1"
OTHER_ACCOUNT = "acc_2"
TO = "+998901234567"
OTHER_TO = "+998907654321"
PURPOSE = "login"
START = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)  # whole seconds: stored times are exact
TTL_S = 300
MAX_TRIES = 5
ADD_ACCOUNT = "INSERT INTO accounts (id, name, created_at) VALUES (?, ?, '2026-01-01T00:00:00Z')"

_message_ids = itertools.count(1)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    s = SqliteStore(tmp_path / "hub.db")
    await s.open()
    await s.execute(ADD_ACCOUNT, (ACCOUNT, "one"))
    await s.execute(ADD_ACCOUNT, (OTHER_ACCOUNT, "two"))
    yield s
    await s.close()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def box() -> SecretBox:
    return SecretBox(Fernet.generate_key())


@pytest.fixture
def announced() -> list[set[str]]:
    """What ``on_events`` was called with, in order."""
    return []


@pytest.fixture
def otps(store: SqliteStore, clock: ManualClock, box: SecretBox, announced: list[set[str]]) -> Otps:
    return Otps(store, clock, OtpConfig(max_wrong_tries=MAX_TRIES), box, announced.append)


async def send(
    otps: Otps,
    store: SqliteStore,
    *,
    account: str = ACCOUNT,
    to: str = TO,
    purpose: str = PURPOSE,
    ttl_s: int = TTL_S,
) -> NewOtp:
    """Create an OTP and commit its statements, as the API does with its message."""
    new = otps.create(account, f"req_{next(_message_ids):04d}", to, purpose, "en", ttl_s, 6)
    await store.write(run_statements(new.statements))
    return new


def wrong(code: str) -> str:
    """A code of the same length that is not ``code``."""
    return f"{(int(code) + 1) % 10 ** len(code):0{len(code)}d}"


async def otp_row(store: SqliteStore, otp_id: str) -> sqlite3.Row:
    row = await store.fetchone("SELECT * FROM otps WHERE id = ?", (otp_id,))
    assert row is not None
    return row


async def check_results(store: SqliteStore, otp_id: str) -> list[str]:
    rows = await store.fetchall(
        "SELECT result FROM otp_checks WHERE otp_id = ? ORDER BY rowid", (otp_id,)
    )
    return [r["result"] for r in rows]


# --- new_code


@pytest.mark.parametrize("length", [4, 6, 8])
def test_new_code_returns_exactly_length_ascii_digits_when_drawn(length: int) -> None:
    codes = [new_code(length) for _ in range(500)]

    assert all(len(c) == length and c.isascii() and c.isdigit() for c in codes)


def test_new_code_keeps_leading_zeros_when_the_number_drawn_is_small() -> None:
    codes = [new_code(4) for _ in range(2000)]  # about 200 start with 0

    assert any(c.startswith("0") for c in codes)
    assert all(len(c) == 4 for c in codes)


def test_new_code_uses_the_whole_range_when_drawn_many_times() -> None:
    codes = {new_code(4) for _ in range(10_000)}

    # Uniform over 10,000 values: about 6,321 distinct expected, sigma about 30.
    assert len(codes) > 6000
    assert {c[0] for c in codes} == set("0123456789")


# --- render

RENDER_CODE = "012345"


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        (
            "uz",
            "relayhub: login uchun tasdiqlash kodi: 012345. 5 daqiqa amal qiladi."
            " Kodni hech kimga bermang.",
        ),
        ("ru", "relayhub: код 012345 для login. Действует 5 мин. Никому не сообщайте."),
        ("en", "relayhub: your login code is 012345. It expires in 5 min. Do not share it."),
    ],
)
def test_render_uses_the_locale_default_template_when_not_configured(
    locale: str, expected: str
) -> None:
    assert render(OtpConfig(), locale, "login", RENDER_CODE, 300) == expected


@pytest.mark.parametrize("locale", ["uz", "ru", "en"])
def test_render_uses_the_configured_template_of_its_locale_when_each_differs(locale: str) -> None:
    config = OtpConfig(
        app_name="Shop",
        template_uz="uz {app} {purpose} {code} {minutes}",
        template_ru="ru {app} {purpose} {code} {minutes}",
        template_en="en {app} {purpose} {code} {minutes}",
    )

    assert render(config, locale, "signup", RENDER_CODE, 120) == f"{locale} Shop signup 012345 2"


@pytest.mark.parametrize(
    ("ttl_s", "minutes"), [(30, 1), (60, 1), (61, 2), (119, 2), (120, 2), (300, 5), (900, 15)]
)
def test_render_rounds_minutes_up_when_the_ttl_is_not_whole_minutes(
    ttl_s: int, minutes: int
) -> None:
    config = OtpConfig(template_en="{code} {minutes}")

    assert render(config, "en", PURPOSE, RENDER_CODE, ttl_s) == f"012345 {minutes}"


def test_render_names_the_configured_app_when_app_name_is_set() -> None:
    text = render(OtpConfig(app_name="Bozor"), "en", PURPOSE, RENDER_CODE, 300)

    assert text.startswith("Bozor: ")


def test_render_appends_the_autofill_line_when_autofill_domain_is_set() -> None:
    config = OtpConfig(autofill_domain="shop.example.com", template_en="Code {code}")

    assert render(config, "en", PURPOSE, RENDER_CODE, 300) == (
        "Code 012345\n\n@shop.example.com #012345"
    )


@pytest.mark.parametrize("locale", ["uz", "ru", "en"])
def test_render_adds_no_autofill_line_when_autofill_domain_is_empty(locale: str) -> None:
    text = render(OtpConfig(), locale, PURPOSE, RENDER_CODE, 300)

    assert "@" not in text
    assert "\n" not in text
    assert text.count(RENDER_CODE) == 1


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


# --- Otps.create and seal


async def test_otps_create_texts_the_code_it_stores_when_rendering(
    otps: Otps, store: SqliteStore
) -> None:
    new = await send(otps, store)

    assert new.otp_id.startswith("otp_")
    assert len(new.code) == 6 and new.code.isdigit()
    assert new.code in new.text
    stored = await otp_row(store, new.otp_id)
    assert (stored["status"], stored["wrong_tries"], stored["to_number"]) == ("pending", 0, TO)
    assert stored["expires_at"] == rfc3339(START + timedelta(seconds=TTL_S))


def test_otps_seal_round_trips_a_text_without_keeping_it_readable(otps: Otps) -> None:
    sealed = otps.seal("relayhub: your login code is 123456")

    assert b"123456" not in sealed
    assert otps.unseal(sealed) == "relayhub: your login code is 123456"


async def test_otps_create_supersedes_the_pending_code_of_the_same_number_and_purpose(
    otps: Otps, store: SqliteStore
) -> None:
    first = await send(otps, store)
    other_purpose = await send(otps, store, purpose="reset")
    other_number = await send(otps, store, to=OTHER_TO)
    other_account = await send(otps, store, account=OTHER_ACCOUNT)

    second = await send(otps, store)

    statuses = {
        new.otp_id: (await otp_row(store, new.otp_id))["status"]
        for new in (first, other_purpose, other_number, other_account, second)
    }
    assert statuses == {
        first.otp_id: "superseded",
        other_purpose.otp_id: "pending",
        other_number.otp_id: "pending",
        other_account.otp_id: "pending",
        second.otp_id: "pending",
    }
    assert await otps.verify(ACCOUNT, first.otp_id, first.code) == Verification(
        "expired", 0, "superseded"
    )
    assert (await otps.verify(ACCOUNT, second.otp_id, second.code)).status == "verified"
    assert await otps.verify(ACCOUNT, other_purpose.otp_id, other_purpose.code) == Verification(
        "verified", MAX_TRIES
    )


async def test_otps_check_limits_names_the_sms_a_new_code_would_supersede(
    store: SqliteStore, clock: ManualClock, box: SecretBox
) -> None:
    otps = Otps(store, clock, OtpConfig(resend_cooldown_s=0), box, lambda _: None)
    assert await otps.check_limits(ACCOUNT, TO, PURPOSE) == []
    first = await send(otps, store)
    await send(otps, store, purpose="reset")
    first_message = (await otp_row(store, first.otp_id))["message_id"]

    assert await otps.check_limits(ACCOUNT, TO, PURPOSE) == [first_message]
    second = await send(otps, store)
    second_message = (await otp_row(store, second.otp_id))["message_id"]
    assert await otps.check_limits(ACCOUNT, TO, PURPOSE) == [second_message]
    clock.advance(2 * 3600)  # an hour-old code no longer counts, but is still superseded
    assert await otps.check_limits(ACCOUNT, TO, PURPOSE) == [second_message]


# --- Otps.verify


async def test_otps_verify_accepts_the_right_code_once_then_answers_expired_used(
    otps: Otps, store: SqliteStore
) -> None:
    new = await send(otps, store)

    first = await otps.verify(ACCOUNT, new.otp_id, new.code)
    again = await otps.verify(ACCOUNT, new.otp_id, new.code)

    assert first == Verification("verified", MAX_TRIES)
    assert again == Verification("expired", 0, "used")
    stored = await otp_row(store, new.otp_id)
    assert (stored["status"], stored["verified_at"]) == ("verified", rfc3339(START))


async def test_otps_verify_answers_timed_out_when_the_right_code_comes_at_expires_at(
    otps: Otps, store: SqliteStore, clock: ManualClock
) -> None:
    new = await send(otps, store)
    clock.advance(TTL_S)

    assert await otps.verify(ACCOUNT, new.otp_id, new.code) == Verification(
        "expired", 0, "timed_out"
    )
    assert (await otp_row(store, new.otp_id))["status"] == "pending"


async def test_otps_verify_accepts_the_right_code_just_before_expires_at(
    otps: Otps, store: SqliteStore, clock: ManualClock
) -> None:
    new = await send(otps, store)
    clock.advance(TTL_S - 0.001)

    assert (await otps.verify(ACCOUNT, new.otp_id, new.code)).status == "verified"


async def test_otps_verify_persists_wrong_tries_when_another_instance_reads_the_store(
    otps: Otps, store: SqliteStore, clock: ManualClock, box: SecretBox
) -> None:
    new = await send(otps, store)

    answers = [await otps.verify(ACCOUNT, new.otp_id, wrong(new.code)) for _ in range(2)]
    restarted = Otps(store, clock, OtpConfig(max_wrong_tries=MAX_TRIES), box, lambda _: None)
    third = await restarted.verify(ACCOUNT, new.otp_id, wrong(new.code))

    assert answers == [Verification("failed", 4), Verification("failed", 3)]
    assert third == Verification("failed", 2)
    assert (await otp_row(store, new.otp_id))["wrong_tries"] == 3
    assert await restarted.verify(ACCOUNT, new.otp_id, new.code) == Verification("verified", 2)


async def test_otps_verify_locks_the_otp_when_the_last_try_is_wrong(
    otps: Otps, store: SqliteStore
) -> None:
    new = await send(otps, store)

    answers = [await otps.verify(ACCOUNT, new.otp_id, wrong(new.code)) for _ in range(MAX_TRIES)]
    right_after = await otps.verify(ACCOUNT, new.otp_id, new.code)

    assert [a.status for a in answers] == ["failed"] * (MAX_TRIES - 1) + ["max_attempts"]
    assert [a.attempts_left for a in answers] == [4, 3, 2, 1, 0]
    assert right_after == Verification("max_attempts", 0)
    stored = await otp_row(store, new.otp_id)
    assert (stored["status"], stored["wrong_tries"]) == ("max_attempts", MAX_TRIES)


async def test_otps_verify_spends_the_last_try_once_when_two_wrong_guesses_race(
    otps: Otps, store: SqliteStore
) -> None:
    new = await send(otps, store)
    for _ in range(MAX_TRIES - 1):
        await otps.verify(ACCOUNT, new.otp_id, wrong(new.code))

    answers = await asyncio.gather(
        otps.verify(ACCOUNT, new.otp_id, wrong(new.code)),
        otps.verify(ACCOUNT, new.otp_id, wrong(new.code)),
    )

    assert list(answers) == [Verification("max_attempts", 0)] * 2
    # Only the first of the two found it pending and counted: wrong_tries stops at max.
    stored = await otp_row(store, new.otp_id)
    assert (stored["status"], stored["wrong_tries"]) == ("max_attempts", MAX_TRIES)
    assert await check_results(store, new.otp_id) == ["failed"] * (MAX_TRIES - 1) + [
        "max_attempts",
        "max_attempts",
    ]


async def test_otps_verify_serializes_two_wrong_guesses_when_they_race_for_the_last_two_tries(
    otps: Otps, store: SqliteStore
) -> None:
    new = await send(otps, store)
    for _ in range(MAX_TRIES - 2):
        await otps.verify(ACCOUNT, new.otp_id, wrong(new.code))

    answers = await asyncio.gather(
        otps.verify(ACCOUNT, new.otp_id, wrong(new.code)),
        otps.verify(ACCOUNT, new.otp_id, wrong(new.code)),
    )

    assert sorted(answers, key=lambda a: a.status) == [
        Verification("failed", 1),
        Verification("max_attempts", 0),
    ]
    stored = await otp_row(store, new.otp_id)
    assert (stored["status"], stored["wrong_tries"]) == ("max_attempts", MAX_TRIES)


async def test_otps_verify_never_counts_past_max_when_many_wrong_guesses_race(
    otps: Otps, store: SqliteStore
) -> None:
    new = await send(otps, store)

    answers = await asyncio.gather(
        *(otps.verify(ACCOUNT, new.otp_id, wrong(new.code)) for _ in range(3 * MAX_TRIES))
    )

    assert [a.status for a in answers].count("failed") == MAX_TRIES - 1
    assert await otps.verify(ACCOUNT, new.otp_id, new.code) == Verification("max_attempts", 0)
    assert (await otp_row(store, new.otp_id))["wrong_tries"] == MAX_TRIES


async def test_otps_verify_records_one_check_per_call_whatever_it_answers(
    otps: Otps, store: SqliteStore, clock: ManualClock
) -> None:
    used = await send(otps, store)
    late = await send(otps, store, to=OTHER_TO)
    await otps.verify(ACCOUNT, used.otp_id, wrong(used.code))
    await otps.verify(ACCOUNT, used.otp_id, used.code)
    await otps.verify(ACCOUNT, used.otp_id, used.code)
    await otps.verify(ACCOUNT, "otp_NOSUCH", "123456")
    await otps.verify(OTHER_ACCOUNT, late.otp_id, late.code)  # not its OTP: unknown
    clock.advance(TTL_S)
    await otps.verify(ACCOUNT, late.otp_id, late.code)

    rows = await store.fetchall("SELECT otp_id, account_id, at, result FROM otp_checks")
    checks = [(r["otp_id"], r["account_id"], r["result"]) for r in rows]
    assert checks == [
        (used.otp_id, ACCOUNT, "failed"),
        (used.otp_id, ACCOUNT, "verified"),
        (used.otp_id, ACCOUNT, "used"),
        ("otp_NOSUCH", ACCOUNT, "unknown"),
        (late.otp_id, OTHER_ACCOUNT, "unknown"),
        (late.otp_id, ACCOUNT, "timed_out"),
    ]
    assert rows[-1]["at"] == rfc3339(START + timedelta(seconds=TTL_S))


async def test_otps_verify_answers_unknown_without_spending_a_try_when_another_account_asks(
    otps: Otps, store: SqliteStore
) -> None:
    new = await send(otps, store)

    answer = await otps.verify(OTHER_ACCOUNT, new.otp_id, new.code)

    assert answer == Verification("unknown", 0)
    stored = await otp_row(store, new.otp_id)
    assert (stored["status"], stored["wrong_tries"]) == ("pending", 0)
    assert (await otps.verify(ACCOUNT, new.otp_id, new.code)).status == "verified"


async def test_otps_verify_stores_an_otp_verified_event_when_the_code_is_right(
    otps: Otps, store: SqliteStore, clock: ManualClock, announced: list[set[str]]
) -> None:
    new = await send(otps, store)
    message_id = (await otp_row(store, new.otp_id))["message_id"]
    clock.advance(42)

    await otps.verify(ACCOUNT, new.otp_id, new.code)

    rows = await store.fetchall("SELECT account_id, type, created_at, body FROM events")
    assert [(r["account_id"], r["type"]) for r in rows] == [(ACCOUNT, "otp.verified")]
    stamp = rfc3339(START + timedelta(seconds=42))
    assert json.loads(rows[0]["body"]) == {
        "type": "otp.verified",
        "timestamp": stamp,
        "data": {
            "otp_id": new.otp_id,
            "request_id": message_id,
            "to": TO,
            "purpose": PURPOSE,
            "verified_at": stamp,
        },
    }
    assert announced == [{ACCOUNT}]


async def test_otps_verify_stores_no_event_and_announces_nothing_when_not_verified(
    otps: Otps, store: SqliteStore, announced: list[set[str]]
) -> None:
    new = await send(otps, store)

    await otps.verify(ACCOUNT, new.otp_id, wrong(new.code))
    await otps.verify(ACCOUNT, "otp_NOSUCH", new.code)
    await otps.verify(ACCOUNT, new.otp_id, new.code)
    await otps.verify(ACCOUNT, new.otp_id, new.code)  # used: no second event

    rows = await store.fetchall("SELECT type FROM events")
    assert [r["type"] for r in rows] == ["otp.verified"]
    assert announced == [{ACCOUNT}]


async def test_otps_store_a_keyed_hash_that_differs_per_otp_when_codes_are_equal(
    otps: Otps,
    store: SqliteStore,
    clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(otp_module, "new_code", lambda length: "4" * length)
    first = await send(otps, store)
    second = await send(otps, store, to=OTHER_TO)
    first_hash = (await otp_row(store, first.otp_id))["code_hash"]
    second_hash = (await otp_row(store, second.otp_id))["code_hash"]

    assert first.code == second.code == "444444"
    assert first_hash != second_hash
    for otp_id, stored in ((first.otp_id, first_hash), (second.otp_id, second_hash)):
        assert len(stored) == 32
        assert b"444444" not in stored
        assert stored != hashlib.sha256(b"444444").digest()
        assert stored != hashlib.sha256(f"{otp_id}:444444".encode()).digest()
    # Keyed: a hub with another otp.key cannot verify the code.
    other_key = Otps(store, clock, OtpConfig(), SecretBox(Fernet.generate_key()), lambda _: None)
    assert (await other_key.verify(ACCOUNT, first.otp_id, "444444")).status == "failed"
    assert (await otps.verify(ACCOUNT, second.otp_id, "444444")).status == "verified"


# --- check_limits


async def test_otps_check_limits_raises_too_soon_within_the_cooldown(
    store: SqliteStore, clock: ManualClock, box: SecretBox
) -> None:
    otps = Otps(store, clock, OtpConfig(resend_cooldown_s=30), box, lambda _: None)
    await otps.check_limits(ACCOUNT, TO, PURPOSE)
    await send(otps, store)
    clock.advance(10)

    with pytest.raises(TooSoon) as caught:
        await otps.check_limits(ACCOUNT, TO, PURPOSE)

    assert caught.value.retry_after == 20
    clock.advance(19.5)
    with pytest.raises(TooSoon) as rounded:
        await otps.check_limits(ACCOUNT, TO, PURPOSE)
    assert rounded.value.retry_after == 1  # 0.5 s rounds up
    clock.advance(0.5)
    await otps.check_limits(ACCOUNT, TO, PURPOSE)


async def test_otps_check_limits_lets_other_numbers_purposes_and_accounts_through_a_cooldown(
    store: SqliteStore, clock: ManualClock, box: SecretBox
) -> None:
    otps = Otps(store, clock, OtpConfig(resend_cooldown_s=30), box, lambda _: None)
    await send(otps, store)
    clock.advance(1)

    await otps.check_limits(ACCOUNT, OTHER_TO, PURPOSE)
    await otps.check_limits(ACCOUNT, TO, "reset")
    await otps.check_limits(OTHER_ACCOUNT, TO, PURPOSE)
    with pytest.raises(TooSoon):
        await otps.check_limits(ACCOUNT, TO, PURPOSE)


async def test_otps_check_limits_raises_too_soon_when_max_per_hour_codes_were_sent(
    store: SqliteStore, clock: ManualClock, box: SecretBox
) -> None:
    config = OtpConfig(resend_cooldown_s=30, max_per_hour=3)
    otps = Otps(store, clock, config, box, lambda _: None)
    for _ in range(3):
        await otps.check_limits(ACCOUNT, TO, PURPOSE)
        await send(otps, store)
        clock.advance(60)  # sent at 0, 60, 120 s; now 180 s

    with pytest.raises(TooSoon) as caught:
        await otps.check_limits(ACCOUNT, TO, PURPOSE)

    assert caught.value.retry_after == 3600 - 180
    await otps.check_limits(ACCOUNT, OTHER_TO, PURPOSE)
    await otps.check_limits(ACCOUNT, TO, "reset")
    clock.advance(3600 - 180 - 1)
    with pytest.raises(TooSoon) as last_second:
        await otps.check_limits(ACCOUNT, TO, PURPOSE)
    assert last_second.value.retry_after == 1
    clock.advance(1)  # the first code is an hour old: it no longer counts
    await otps.check_limits(ACCOUNT, TO, PURPOSE)


async def test_otps_check_limits_counts_superseded_codes_toward_the_hourly_limit(
    store: SqliteStore, clock: ManualClock, box: SecretBox
) -> None:
    otps = Otps(store, clock, OtpConfig(resend_cooldown_s=0, max_per_hour=2), box, lambda _: None)
    await send(otps, store)
    await send(otps, store)  # supersedes the first

    with pytest.raises(TooSoon) as caught:
        await otps.check_limits(ACCOUNT, TO, PURPOSE)

    assert caught.value.retry_after == 3600


def test_a_resend_cooldown_longer_than_the_hourly_window_is_refused_by_the_config() -> None:
    # The limits look back one hour: a longer cooldown could not be kept.
    with pytest.raises(ConfigError, match="resend_cooldown_s"):
        load_config(overrides={"otp": {"resend_cooldown_s": 3601}})
