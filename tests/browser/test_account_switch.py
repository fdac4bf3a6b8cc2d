"""A sign-in link never switches a signed-in dashboard to another account unasked.

Issue 16: opening ``/dashboard/#token=<B's token>`` in a tab signed in to A
silently replaced the session, and the victim then made a pairing code in the
attacker's account. Now a link for another account shows a confirmation
naming both accounts and keeps the current session unless the person
confirms; a link for the same account just signs in with it.
"""

from __future__ import annotations

from typing import Any

from playwright.async_api import Page, expect

from hub.accounts.tokens import SCOPES
from tests.browser.conftest import Dashboard, OpenDashboard, require_chromium
from tests.e2e.conftest import ADMIN_TOKEN, RunningHub

require_chromium()

HOME = "Default account"


async def other_account(hub: RunningHub, name: str = "Mallory Ltd") -> str:
    made = await hub.post("/api/v1/admin/accounts", {"name": name})
    assert made.status_code == 201, made.text
    token: str = made.json()["token"]
    return token


async def session_token(page: Page) -> Any:
    return await page.evaluate("sessionStorage.getItem('relayhub.token')")


async def signed_in(open_dashboard: OpenDashboard) -> Dashboard:
    dashboard = await open_dashboard()
    await dashboard.sign_in()
    await expect(dashboard.page.locator("#account-name")).to_have_text(HOME)
    return dashboard


async def test_a_link_for_another_account_asks_and_keeps_the_session_when_declined(
    hub: RunningHub, open_dashboard: OpenDashboard
) -> None:
    token_b = await other_account(hub)
    dashboard = await signed_in(open_dashboard)
    page = dashboard.page

    await page.goto(f"{dashboard.url}#token={token_b}")  # the same tab: a hash change
    dialog = page.get_by_role("dialog")
    await expect(dialog).to_be_visible()
    await expect(dialog).to_contain_text(HOME)
    await expect(dialog).to_contain_text("Mallory Ltd")
    assert "token=" not in page.url
    await dialog.get_by_role("button", name=f"Stay in {HOME}").click()

    await expect(dialog).to_be_hidden()
    await expect(page.locator("#account-name")).to_have_text(HOME)
    assert await session_token(page) == ADMIN_TOKEN
    # What the victim does next happens in their own account.
    await dashboard.go("Pair a phone")
    await page.get_by_role("button", name="Create pairing code").click()
    await expect(page.locator(".pair-code-box")).to_be_visible()
    codes = await hub.hub.store.fetchall(
        "SELECT a.name FROM pairing_codes p JOIN accounts a ON a.id = p.account_id"
    )
    assert [row["name"] for row in codes] == [HOME]
    await dashboard.assert_clean()


async def test_a_link_for_another_account_switches_only_once_confirmed(
    hub: RunningHub, open_dashboard: OpenDashboard
) -> None:
    token_b = await other_account(hub)
    dashboard = await signed_in(open_dashboard)
    page = dashboard.page

    # A full load this time (another query string): the session comes from sessionStorage.
    await page.goto(f"{dashboard.url}?from=mail#token={token_b}")
    dialog = page.get_by_role("dialog")
    await expect(dialog).to_contain_text("Mallory Ltd")
    assert await session_token(page) == ADMIN_TOKEN  # untouched while asking
    await dialog.get_by_role("button", name="Switch to Mallory Ltd").click()

    await expect(page.locator("#account-name")).to_have_text("Mallory Ltd")
    assert await session_token(page) == token_b
    await dashboard.assert_clean()


async def test_a_link_for_the_same_account_signs_in_without_asking(
    hub: RunningHub, open_dashboard: OpenDashboard
) -> None:
    made = await hub.post("/api/v1/tokens", {"name": "second", "scopes": list(SCOPES)})
    second = made.json()["token"]
    dashboard = await signed_in(open_dashboard)
    page = dashboard.page

    # The live stream restarts once the session holds the link's token.
    async with page.expect_request(
        lambda r: (
            r.url.endswith("/api/v1/events")
            and r.headers.get("authorization") == f"Bearer {second}"
        )
    ):
        await page.goto(f"{dashboard.url}#token={second}")

    assert await session_token(page) == second
    await expect(page.locator("#account-name")).to_have_text(HOME)
    await expect(page.get_by_role("dialog")).to_have_count(0)
    await dashboard.assert_clean()


async def test_a_link_with_a_dead_token_leaves_the_session_as_it_was(
    hub: RunningHub, open_dashboard: OpenDashboard
) -> None:
    dashboard = await signed_in(open_dashboard)
    page = dashboard.page

    await page.goto(f"{dashboard.url}#token=rh_revoked_or_never_issued_0000000000")

    alert = page.locator("#alerts .alert-error")
    await expect(alert).to_contain_text("The sign-in link did not work; you are still signed in")
    await expect(page.locator("#account-name")).to_have_text(HOME)
    await expect(page.get_by_role("navigation", name="Dashboard")).to_be_visible()
    assert await session_token(page) == ADMIN_TOKEN
    await dashboard.assert_clean(allow=lambda e: "401" in e)
