"""One browser harness for every browser test (tests/browser, tests/docs_page):
Debian's Chromium driven by Playwright, against a hub served in the test's loop.

A test package's conftest imports the ``browser`` and ``new_tab`` fixtures from
here and defines its own ``hub`` fixture. ``await new_tab(viewport=PHONE)`` opens
a fresh browser context and returns a ``Tab``: the page, what its console said
and what it raised uncaught; the page's CSP violations are kept in
``window.__cspViolations``. Test modules skip themselves when Chromium is
missing (``require_chromium``).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, ConsoleMessage, Error, Page, async_playwright, expect

from tests.e2e.conftest import RunningHub

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
DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 375, "height": 740}
# Playwright's auto-waiting assertions: long enough for a poll or two, no sleeps.
WAIT_MS = 10_000

# Records every CSP violation the page reports. Init scripts are injected by
# the browser itself, so the page's own CSP does not apply to this one.
CSP_PROBE = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  const where = `${e.sourceFile}:${e.lineNumber}`;
  window.__cspViolations.push(`${e.violatedDirective}: ${e.blockedURI || "inline"} (${where})`);
});
"""


def require_chromium(what: str = "the dashboard's browser tests") -> None:
    """Skip the calling test module without Chromium, unless a browser is required."""
    if CHROMIUM.exists():
        return
    reason = f"{CHROMIUM} not found: {what} need Debian's chromium package"
    if os.environ.get("RELAYHUB_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason} (RELAYHUB_REQUIRE_BROWSER=1)", pytrace=False)
    print(f"skipping browser tests: {reason}")
    pytest.skip(reason, allow_module_level=True)


@dataclass
class Tab:
    """One page in a context of its own, with what it logged since it opened."""

    page: Page
    console: list[tuple[str, str]] = field(default_factory=list)  # (type, text)
    uncaught: list[str] = field(default_factory=list)

    def console_of(self, *types: str) -> list[str]:
        """The console's messages of these types (``"error"``, ``"warning"``), as text."""
        return [text for kind, text in self.console if kind in types]


NewTab = Callable[..., Awaitable[Tab]]


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


@pytest.fixture
async def new_tab(browser: Browser, hub: RunningHub) -> AsyncIterator[NewTab]:
    """``await new_tab(viewport=PHONE, permissions=[…])`` → a Tab on a fresh context.

    It asks for ``hub`` so the hub starts first and stops last: the tabs (and
    their live streams) close before the hub stops.
    """
    contexts = []

    async def open_one(viewport: dict[str, int] = DESKTOP, **options: Any) -> Tab:
        context = await browser.new_context(viewport=viewport, **options)  # type: ignore[arg-type]
        contexts.append(context)
        await context.add_init_script(CSP_PROBE)
        page = await context.new_page()
        page.set_default_timeout(WAIT_MS)
        tab = Tab(page)

        def on_console(message: ConsoleMessage) -> None:
            tab.console.append((message.type, message.text))

        def on_page_error(error: Error) -> None:
            tab.uncaught.append(str(error))

        page.on("console", on_console)
        page.on("pageerror", on_page_error)
        return tab

    expect.set_options(timeout=WAIT_MS)
    try:
        yield open_one
    finally:
        for context in contexts:
            await context.close()
