"""Keys for secrets at rest: from the environment, or an owner-only file in the data folder."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from hub.secret_box import ENV_KEY, KEY_FILE, SecretBox


def test_secret_box_creates_its_key_file_readable_by_the_owner_only_when_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ENV_KEY, raising=False)

    box = SecretBox.for_data_dir(tmp_path / "data")

    key_file = tmp_path / "data" / KEY_FILE
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    sealed = box.seal("whsec_secret")
    assert b"whsec_secret" not in sealed
    assert SecretBox.for_data_dir(tmp_path / "data").open(sealed) == "whsec_secret"


def test_secret_box_takes_its_key_from_the_environment_and_writes_no_file_when_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = Fernet.generate_key()
    monkeypatch.setenv(ENV_KEY, key.decode())

    sealed = SecretBox.for_data_dir(tmp_path).seal("whsec_secret")

    assert list(tmp_path.iterdir()) == []
    assert Fernet(key).decrypt(sealed) == b"whsec_secret"
