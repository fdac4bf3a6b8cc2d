"""Fixtures of the messaging tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from hub.config import load_config
from tests.hub.messaging.engine_rig import Env, engine_env


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    config = load_config(overrides={"server": {"data_dir": str(tmp_path)}})
    async with engine_env(tmp_path, config) as env:
        yield env
