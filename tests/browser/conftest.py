"""Browser harness: a real hub served in the test's event loop (tests/e2e's
``serve_hub``), driven through Debian's Chromium with Playwright.

Each test gets ``hub`` (a ``RunningHub`` with a one-second offline grace and
local webhook targets allowed) and ``open_dashboard(viewport=…)``, which opens a
fresh browser context and returns a ``Dashboard``: the page, what the console
and the page's CSP reported, and helpers to sign in, navigate and take
screenshots. Test modules skip themselves when Chromium is missing
(``require_chromium``).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import (
    Browser,
    ConsoleMessage,
    Error,
    Page,
    Response,
    async_playwright,
    expect,
)

from relay_sim import __version__
from relay_sim.pairing import PairedDevice
from relay_sim.phone import MODEL
from tests.e2e.conftest import ADMIN_TOKEN, RunningHub, hub_config, serve_hub

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "dashboard"
DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 375, "height": 740}
# Playwright's auto-waiting assertions: long enough for a poll or two, no sleeps.
WAIT_MS = 10_000

# Records every CSP violation the page reports. Init scripts are injected by
# the browser itself, so the page's own CSP does not apply to this one.
_CSP_PROBE = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  const where = `${e.sourceFile}:${e.lineNumber}`;
  window.__cspViolations.push(`${e.violatedDirective}: ${e.blockedURI || "inline"} (${where})`);
});
"""


def require_chromium() -> None:
    """Skip the calling test module without Chromium, unless a browser is required."""
    if CHROMIUM.exists():
        return
    reason = f"{CHROMIUM} not found: the dashboard's browser tests need Debian's chromium package"
    if os.environ.get("RELAYHUB_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason} (RELAYHUB_REQUIRE_BROWSER=1)", pytrace=False)
    print(f"skipping browser tests: {reason}")
    pytest.skip(reason, allow_module_level=True)


@dataclass
class Dashboard:
    """One browser tab on the hub's dashboard, with what it logged."""

    page: Page
    hub: RunningHub
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

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


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            await chromium.close()


OpenDashboard = Callable[..., Awaitable[Dashboard]]


@pytest.fixture
async def open_dashboard(browser: Browser, hub: RunningHub) -> AsyncIterator[OpenDashboard]:
    """``await open_dashboard(viewport=PHONE)`` → a Dashboard in a fresh context."""
    contexts = []

    async def open_one(viewport: dict[str, int] = DESKTOP, **options: Any) -> Dashboard:
        context = await browser.new_context(viewport=viewport, **options)  # type: ignore[arg-type]
        contexts.append(context)
        await context.add_init_script(_CSP_PROBE)
        page = await context.new_page()
        page.set_default_timeout(WAIT_MS)
        dashboard = Dashboard(page, hub)

        def on_console(message: ConsoleMessage) -> None:
            if message.type == "error":
                dashboard.console_errors.append(message.text)

        def on_page_error(error: Error) -> None:
            dashboard.page_errors.append(str(error))

        page.on("console", on_console)
        page.on("pageerror", on_page_error)
        return dashboard

    expect.set_options(timeout=WAIT_MS)
    try:
        yield open_one
    finally:
        # Close the tabs (and their live streams) before the hub stops.
        for context in contexts:
            await context.close()


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
