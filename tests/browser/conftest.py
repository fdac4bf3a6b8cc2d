"""Browser harness for the dashboard: a real hub served in the test's event loop
(tests/e2e's ``serve_hub``) and Chromium from the shared ``tests/chromium.py``.

Each test gets ``hub`` (a ``RunningHub`` with a one-second offline grace and
local webhook targets allowed) and ``open_dashboard(viewport=…)``, which opens a
fresh browser context and returns a ``Dashboard``: the page, what the console
and the page's CSP reported, and helpers to sign in, navigate and take
screenshots. Test modules skip themselves when Chromium is missing
(``require_chromium``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Page, Response, expect

from relay_sim import __version__
from relay_sim.pairing import PairedDevice
from relay_sim.phone import MODEL
from tests.chromium import (  # browser and new_tab: fixtures, shared with tests/docs_page
    DESKTOP,
    PHONE,
    NewTab,
    Tab,
    browser,
    new_tab,
    require_chromium,
)
from tests.e2e.conftest import ADMIN_TOKEN, RunningHub, hub_config, serve_hub

__all__ = ["PHONE", "browser", "new_tab", "require_chromium"]

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "dashboard"


@dataclass
class Dashboard:
    """One browser tab on the hub's dashboard, with what it logged."""

    tab: Tab
    hub: RunningHub

    @property
    def page(self) -> Page:
        return self.tab.page

    @property
    def console_errors(self) -> list[str]:
        return self.tab.console_of("error")

    @property
    def page_errors(self) -> list[str]:
        return self.tab.uncaught

    @property
    def url(self) -> str:
        return f"{self.hub.base_url}/dashboard/"

    async def sign_in(self, token: str = ADMIN_TOKEN) -> Response:
        """Open the sign-in link `make run` prints; wait until the first view shows."""
        response = await self.page.goto(f"{self.url}#token={token}")
        assert response is not None
        await expect(self.page.get_by_role("navigation", name="Dashboard")).to_be_visible()
        return response

    async def go(self, link: str) -> None:
        """Follow a navigation link and wait for its view's heading."""
        # The navigation's own link: a view may hold links of the same name
        # (the empty device list offers "Pair a phone" too).
        nav_link = self.page.get_by_role("navigation", name="Dashboard").get_by_role(
            "link", name=link, exact=True
        )
        await nav_link.click()
        await expect(nav_link).to_have_attribute("aria-current", "page")

    async def screenshot(self, name: str) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        # Without the transient toast, which would cover whatever is under it
        # (a class change: an injected style would break the page's CSP).
        await self.page.evaluate(
            "document.getElementById('announcer').classList.remove('is-visible')"
        )
        await self.page.screenshot(
            path=str(ARTIFACTS / f"{name}.png"), full_page=True, animations="disabled"
        )

    async def csp_violations(self) -> list[str]:
        violations: list[str] = await self.page.evaluate("window.__cspViolations || []")
        return violations

    async def assert_clean(self, allow: Callable[[str], bool] = lambda _: False) -> None:
        """No CSP violation, no uncaught error, no console error (but those ``allow`` accepts)."""
        assert await self.csp_violations() == []
        assert self.page_errors == []
        assert [e for e in self.console_errors if not allow(e)] == []


@pytest.fixture
async def hub(tmp_path: Path) -> AsyncIterator[RunningHub]:
    config = hub_config(
        tmp_path / "data",
        relay={"offline_grace_s": 1},
        webhooks={"allow_private_targets": True},
    )
    async with serve_hub(config) as running:
        yield running


OpenDashboard = Callable[..., Awaitable[Dashboard]]


@pytest.fixture
def open_dashboard(new_tab: NewTab, hub: RunningHub) -> OpenDashboard:
    """``await open_dashboard(viewport=PHONE)`` → a Dashboard in a fresh context."""

    async def open_one(viewport: dict[str, int] = DESKTOP, **options: Any) -> Dashboard:
        return Dashboard(await new_tab(viewport, **options), hub)

    return open_one


async def exchange_pairing_code(hub: RunningHub, code: str, name: str) -> PairedDevice:
    """What the Android app does with a code typed from the panel."""
    response = await hub.client.post(
        f"{hub.base_url}/api/v1/relay/app/pair",
        json={
            "pairing_code": code,
            "device_name": name,
            "model": MODEL,
            "app_version": __version__,
        },
    )
    assert response.status_code == 201, response.text
    body = response.json()
    return PairedDevice(body["device_id"], body["device_token"], body["ws_url"], name)
