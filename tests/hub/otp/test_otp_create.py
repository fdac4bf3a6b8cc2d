"""Tests for ``hub/otp.py``: ``Otps.create`` stores, seals and supersedes codes."""

from __future__ import annotations

from datetime import timedelta

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
    otp_row,
    send,
)

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
