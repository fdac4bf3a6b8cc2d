"""What the unit tests under tests/hub share: an open SQLite store in the test's
folder (``store``). A module that needs rows in it first, or another backend,
defines its own ``store`` (which may ask for this one by the same name)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from hub.store.sqlite import SqliteStore


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    s = SqliteStore(tmp_path / "hub.db")
    await s.open()
    yield s
    await s.close()
