"""Tests for ``hub/otp.py``: ``Otps.verify`` on a real store with an injected clock:
right and wrong codes, expiry, the try limit under races, checks and events.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from datetime import timedelta

from cryptography.fernet import Fernet

from hub.clock import ManualClock, rfc3339
from hub.config import OtpConfig
from hub.otp import Otps, Verification
from hub.secret_box import SecretBox
from hub.store.sqlite import SqliteStore
from tests.hub.otp.otp_rig import (
    ACCOUNT,
    MAX_TRIES,
    OTHER_ACCOUNT,
    OTHER_TO,
    PURPOSE,
    START,
    TO,
    TTL_S,
    check_results,
    otp_row,
    send,
    wrong,
)

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
    store: SqliteStore, clock: ManualClock, box: SecretBox
) -> None:
    config = OtpConfig(max_wrong_tries=MAX_TRIES)
    otps = Otps(store, clock, config, box, lambda _: None, make_code=lambda length: "4" * length)
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
