"""The token behind the dashboard link `relayhub serve` prints: fresh on each start,
expiring, without the admin scope, and the previous one revoked."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from hub.auth import ADMIN_SCOPE, TokenAuthority
from hub.clock import ManualClock
from hub.store.sqlite import SqliteStore


@pytest.fixture
async def auth(tmp_path: Path) -> AsyncIterator[TokenAuthority]:
    store = SqliteStore(tmp_path / "hub.db")
    await store.open()
    authority = TokenAuthority(store, ManualClock())
    await authority.bootstrap(None)
    yield authority
    await store.close()


async def test_each_start_makes_a_new_link_token_and_revokes_the_last(
    auth: TokenAuthority,
) -> None:
    first = await auth.dashboard_sign_in(timedelta(hours=12))
    second = await auth.dashboard_sign_in(timedelta(hours=12))

    assert await auth.authenticate(first) is None
    principal = await auth.authenticate(second)
    assert principal is not None
    assert not principal.allows(ADMIN_SCOPE)
    assert principal.allows("devices.manage")
    assert principal.expires_at is not None
