"""The data folder is private to the hub's user: the folder 0700, every file in it
0600 (the SQLite database and its WAL and shared-memory files, the lock, the sign-in
link, the keys), however permissive the umask it was started with; a folder left
readable by an older version is made private at the next start, which says so.

A real ``relayhub serve`` process, started with the common umask 022 (under which
the database files used to come out 0644 in a 0755 folder, readable by every
local user: message texts, pairing-code hashes).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import ADMIN_TOKEN
from tests.e2e.hub_process import HubProcess, free_port
from tests.pg_cluster import postgres_backend

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
# What a start makes, at least, besides the database's files.
HUB_FILES = {"relayhub.lock", "dashboard-link.txt", "webhook.key", "otp.key"}


def database_files() -> set[str]:
    """The database's files that stay after a kill: in the data folder on SQLite only
    (a hub on PostgreSQL keeps its rows on the server)."""
    return set() if postgres_backend() else {"relayhub.db", "relayhub.db-wal"}


def expected_files() -> set[str]:
    """Every file a running hub has made; SQLite's shared-memory file exists while it runs."""
    database = database_files()
    return HUB_FILES | database | ({"relayhub.db-shm"} if database else set())


@pytest.fixture(autouse=True)
def usual_umask() -> Iterator[None]:
    """The hub inherits the umask most shells give: 022 (group and others may read)."""
    before = os.umask(0o022)
    yield
    os.umask(before)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def modes(data: Path) -> dict[str, str]:
    return {p.name: oct(mode(p)) for p in sorted(data.iterdir())}


async def write_something(hub: HubProcess) -> None:
    """A pairing code and a webhook endpoint: rows in the database, through the WAL."""
    async with httpx.AsyncClient(base_url=hub.base_url, headers=ADMIN, timeout=10) as client:
        made = await client.post("/api/v1/relay/pairing-codes", json={})
        assert made.status_code == 201, made.text
        hook = await client.post("/api/v1/webhooks", json={"url": "https://127.0.0.1:9/h"})
        assert hook.status_code in (201, 422), hook.text  # either way, a read and a write


async def test_a_new_data_folder_and_every_file_in_it_are_private_while_the_hub_runs(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    hub = HubProcess(data, free_port(), ADMIN_TOKEN)
    await hub.start()
    try:
        await write_something(hub)
        files = {p.name for p in data.iterdir()}
        assert files >= expected_files()  # the WAL and shared memory are there to be checked
        assert mode(data) == 0o700
        assert modes(data) == {name: "0o600" for name in sorted(files)}
    finally:
        await hub.stop()
    assert mode(data) == 0o700
    assert set(modes(data).values()) == {"0o600"}


async def test_a_folder_an_older_version_left_readable_is_made_private_at_start(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    first = HubProcess(data, free_port(), ADMIN_TOKEN)
    await first.start()
    await write_something(first)
    await first.kill()  # the WAL and shared-memory files stay, as after a crash
    # As an older version left it: everything readable by every local user.
    data.chmod(0o755)
    for path in data.iterdir():
        path.chmod(0o644)
    left = {p.name for p in data.iterdir()}
    assert {*database_files(), "webhook.key"} <= left

    again = HubProcess(data, free_port(), ADMIN_TOKEN)
    await again.start()
    try:
        await write_something(again)
        assert mode(data) == 0o700
        assert set(modes(data).values()) == {"0o600"}
    finally:
        await again.stop()
    log = "".join(again.log)
    assert f"{data}/ was readable by other local users (0o755); now 0o700" in log
    for name in (*sorted(database_files()), "webhook.key", "otp.key"):
        assert f"{data / name} was readable by other local users (0o644); now 0o600" in log
