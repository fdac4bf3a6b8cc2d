"""The dashboard sign-in link: written to a private file, kept across restarts
while it is live, replaced when it nears expiry, is revoked or is lost."""

from __future__ import annotations

import stat
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from hub.accounts.tokens import ADMIN_SCOPE, TokenAuthority
from hub.clock import ManualClock
from hub.serving import dashboard_link
from hub.store.sqlite import SqliteStore

ORIGIN = "http://127.0.0.1:8080"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def auth(tmp_path: Path, clock: ManualClock) -> AsyncIterator[TokenAuthority]:
    store = SqliteStore(tmp_path / "hub.db")
    await store.open()
    authority = TokenAuthority(store, clock)
    await authority.bootstrap(None)
    yield authority
    await store.close()


def secret_of(link: dashboard_link.SavedLink) -> str:
    return link.url.split("#token=", 1)[1]


async def test_link_is_written_0600_and_signs_in_without_admin_scope(
    auth: TokenAuthority, clock: ManualClock, tmp_path: Path
) -> None:
    path = tmp_path / dashboard_link.LINK_FILE
    link = await dashboard_link.ensure(auth, path, ORIGIN, clock.now())

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert dashboard_link.read(path) == link
    assert link.url.startswith(f"{ORIGIN}/dashboard/#token=rh_")
    principal = await auth.authenticate(secret_of(link))
    assert principal is not None
    assert principal.allows("devices.manage")
    assert not principal.allows(ADMIN_SCOPE)
    assert principal.expires_at == link.expires_at


async def test_link_is_kept_while_live_so_a_restart_signs_nobody_out(
    auth: TokenAuthority, clock: ManualClock, tmp_path: Path
) -> None:
    path = tmp_path / dashboard_link.LINK_FILE
    first = await dashboard_link.ensure(auth, path, ORIGIN, clock.now())
    clock.advance(10 * 3600)  # 2 h left: more than RENEW_WITHIN
    again = await dashboard_link.ensure(auth, path, ORIGIN, clock.now())

    assert again == first
    assert await auth.dashboard_link_ids() == {first.token_id}


async def test_link_near_expiry_is_replaced_and_the_old_one_works_until_it_expires(
    auth: TokenAuthority, clock: ManualClock, tmp_path: Path
) -> None:
    path = tmp_path / dashboard_link.LINK_FILE
    old = await dashboard_link.ensure(auth, path, ORIGIN, clock.now())
    clock.advance(11.5 * 3600)
    new = await dashboard_link.ensure(auth, path, ORIGIN, clock.now())

    assert new.token_id != old.token_id
    assert dashboard_link.read(path) == new
    assert await auth.authenticate(secret_of(old)) is not None
    clock.advance(3600)
    assert await auth.authenticate(secret_of(old)) is None
    assert await auth.authenticate(secret_of(new)) is not None


async def test_revoked_link_is_replaced(
    auth: TokenAuthority, clock: ManualClock, tmp_path: Path
) -> None:
    path = tmp_path / dashboard_link.LINK_FILE
    old = await dashboard_link.ensure(auth, path, ORIGIN, clock.now())
    principal = await auth.authenticate(secret_of(old))
    assert principal is not None
    assert await auth.revoke(principal.account_id, old.token_id)

    new = await dashboard_link.ensure(auth, path, ORIGIN, clock.now())

    assert new.token_id != old.token_id
    assert await auth.authenticate(secret_of(new)) is not None


async def test_deleted_file_gets_a_new_link(
    auth: TokenAuthority, clock: ManualClock, tmp_path: Path
) -> None:
    path = tmp_path / dashboard_link.LINK_FILE
    old = await dashboard_link.ensure(auth, path, ORIGIN, clock.now())
    path.unlink()

    new = await dashboard_link.ensure(auth, path, ORIGIN, clock.now())

    assert new.token_id != old.token_id
    assert dashboard_link.read(path) == new


async def test_moved_hub_keeps_its_token_under_the_new_origin(
    auth: TokenAuthority, clock: ManualClock, tmp_path: Path
) -> None:
    path = tmp_path / dashboard_link.LINK_FILE
    old = await dashboard_link.ensure(auth, path, ORIGIN, clock.now())
    moved = await dashboard_link.ensure(auth, path, "http://127.0.0.1:8081", clock.now())

    assert moved.token_id == old.token_id
    assert moved.url == f"http://127.0.0.1:8081/dashboard/#token={secret_of(old)}"
    assert dashboard_link.read(path) == moved
