"""Files of the data folder are created private, and ``tighten`` closes only the hub's own."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.secret_box import SecretBox
from hub.serving import private_files
from hub.store.sqlite import SqliteStore


@pytest.fixture(autouse=True)
def usual_umask() -> Iterator[None]:
    before = os.umask(0o022)
    yield
    os.umask(before)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


async def test_the_store_creates_its_folder_database_wal_and_shm_private(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "data" / "relayhub.db")
    await store.open()
    try:
        await store.execute("INSERT INTO accounts (id, name, created_at) VALUES ('a', 'A', 'x')")
        made = {p.name: mode(p) for p in (tmp_path / "data").iterdir()}
    finally:
        await store.close()

    assert mode(tmp_path / "data") == 0o700
    assert made == {"relayhub.db": 0o600, "relayhub.db-wal": 0o600, "relayhub.db-shm": 0o600}


def test_a_key_file_and_its_new_folder_are_private(tmp_path: Path) -> None:
    SecretBox.for_data_dir(tmp_path / "data", "otp.key", "RELAYHUB_TEST_NO_SUCH_KEY")

    assert (mode(tmp_path / "data"), mode(tmp_path / "data" / "otp.key")) == (0o700, 0o600)


def test_tighten_closes_the_folder_and_the_hubs_files_and_leaves_the_rest(tmp_path: Path) -> None:
    (tmp_path / "relayhub.db").write_text("")
    (tmp_path / "relayhub.db").chmod(0o664)
    (tmp_path / "notes.txt").write_text("not the hub's")
    (tmp_path / "notes.txt").chmod(0o644)
    elsewhere = tmp_path.parent / f"{tmp_path.name}-elsewhere"
    elsewhere.write_text("")
    elsewhere.chmod(0o644)
    (tmp_path / "otp.key").symlink_to(elsewhere)
    tmp_path.chmod(0o751)

    changed = private_files.tighten(tmp_path)

    assert changed == [
        f"{tmp_path}/ was readable by other local users (0o751); now 0o700",
        f"{tmp_path / 'relayhub.db'} was readable by other local users (0o664); now 0o600",
    ]
    assert (mode(tmp_path), mode(tmp_path / "relayhub.db")) == (0o700, 0o600)
    assert (mode(tmp_path / "notes.txt"), mode(elsewhere)) == (0o644, 0o644)
    assert private_files.tighten(tmp_path) == []  # nothing left to change
