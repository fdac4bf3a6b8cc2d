"""Fixtures of the OTP tests: a real store with two accounts, a manual clock, ``Otps``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from hub.clock import ManualClock
from hub.config import OtpConfig
from hub.otp import Otps
from hub.secret_box import SecretBox
from hub.store.sqlite import SqliteStore
from tests.hub.otp.otp_rig import ACCOUNT, ADD_ACCOUNT, MAX_TRIES, OTHER_ACCOUNT, START


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
