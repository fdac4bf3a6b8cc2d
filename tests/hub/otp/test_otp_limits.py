"""Tests for ``hub/otp.py``: the resend limits (cooldown, codes per hour) of ``check_limits``."""

from __future__ import annotations

import pytest

from hub.clock import ManualClock
from hub.config import ConfigError, OtpConfig, load_config
from hub.errors import TooSoon
from hub.otp import Otps
from hub.secret_box import SecretBox
from hub.store.sqlite import SqliteStore
from tests.hub.otp.otp_rig import ACCOUNT, OTHER_ACCOUNT, OTHER_TO, PURPOSE, TO, send

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
