"""/docs in Debian's Chromium (Playwright): no console error and no CSP
violation in either language, the example tabs, the copy buttons and the
language switch working, and readable on a phone. Screenshots land in
test-artifacts/docs/."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Page, expect

from hub.devdocs import page as docs
from tests.chromium import DESKTOP, PHONE, NewTab, Tab, require_chromium
from tests.e2e.conftest import RunningHub

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "docs"

require_chromium("the docs page's browser tests")


@dataclass
class DocsTab:
    tab: Tab

    @property
    def page(self) -> Page:
        return self.tab.page

    @property
    def errors(self) -> list[str]:
        """Console errors and warnings, then uncaught errors: the page must have none."""
        logged = [f"{kind}: {text}" for kind, text in self.tab.console if kind in CONSOLE_FAULTS]
        return logged + [f"uncaught: {error}" for error in self.tab.uncaught]

    async def assert_clean(self) -> None:
        assert await self.page.evaluate("window.__cspViolations") == []
        assert self.errors == []

    async def screenshot(self, name: str) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        await self.page.screenshot(
            path=str(ARTIFACTS / f"{name}.png"), full_page=True, animations="disabled"
        )


CONSOLE_FAULTS = ("error", "warning")  # the docs page is static: not even a warning
OpenDocs = Callable[..., Awaitable[DocsTab]]


@pytest.fixture
def open_docs(new_tab: NewTab, hub: RunningHub) -> OpenDocs:
    """``await open_docs("/docs/uz", viewport=PHONE)`` → a DocsTab on a fresh context."""

    async def open_one(path: str, viewport: dict[str, int] = DESKTOP, **options: Any) -> DocsTab:
        tab = DocsTab(await new_tab(viewport, **options))
        response = await tab.page.goto(hub.base_url + path)
        assert response is not None and response.status == 200
        return tab

    return open_one


@pytest.mark.parametrize(("lang", "path"), [("en", "/docs"), ("uz", "/docs/uz")])
async def test_docs_renders_in_chromium_with_no_console_error_or_csp_violation(
    open_docs: OpenDocs, hub: RunningHub, lang: str, path: str
) -> None:
    tab = await open_docs(path)
    page = tab.page

    await expect(page.locator("html")).to_have_attribute("lang", lang)
    await expect(page.get_by_role("heading", level=1)).to_be_visible()
    await expect(page.get_by_role("main")).to_be_visible()
    await expect(page.locator(".base-url").first).to_have_text(f"{hub.base_url}/api/v1")
    # The stylesheet and the script loaded under the CSP: styled, and buttons added.
    assert await page.locator(".topbar").evaluate("e => getComputedStyle(e).backgroundColor") == (
        "rgb(15, 27, 51)"
    )
    await expect(page.locator("button.copy").first).to_be_visible()
    await tab.screenshot(f"docs-{lang}")
    await tab.assert_clean()


async def test_docs_fits_a_phone_screen_in_uzbek(open_docs: OpenDocs) -> None:
    tab = await open_docs("/docs/uz", viewport=PHONE)
    page = tab.page

    await expect(page.get_by_role("heading", name="Tez boshlash", level=2)).to_be_visible()
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], "the page scrolls sideways on a phone"
    await tab.screenshot("docs-uz-phone")
    await tab.assert_clean()


async def test_docs_language_switch_keeps_the_section_being_read(open_docs: OpenDocs) -> None:
    tab = await open_docs("/docs#errors")
    page = tab.page

    uzbek = docs.text()["uz"]["lang_name"]
    await page.get_by_role("navigation", name="Language").get_by_role("link", name=uzbek).click()
    await expect(page).to_have_url(f"{page.url.split('/docs')[0]}/docs/uz#errors")
    await expect(page.locator("html")).to_have_attribute("lang", "uz")
    await page.get_by_role("navigation", name="Til").get_by_role("link", name="English").click()
    await expect(page).to_have_url(f"{page.url.split('/docs')[0]}/docs#errors")
    await tab.assert_clean()


async def test_docs_copy_button_puts_the_code_on_the_clipboard(open_docs: OpenDocs) -> None:
    clipboard = ["clipboard-read", "clipboard-write"]
    tab = await open_docs("/docs#op-list_devices", permissions=clipboard)
    page = tab.page
    card = page.get_by_role("article", name="GET /api/v1/devices")
    code = card.locator("pre.code").first

    await card.get_by_role("button", name="Copy").first.click()

    await expect(card.get_by_role("button", name="Copied")).to_be_visible()
    await expect(page.get_by_role("status")).to_have_text("Copied")
    assert await page.evaluate("navigator.clipboard.readText()") == await code.text_content()
    await tab.assert_clean()


async def test_docs_example_tabs_switch_every_card_to_the_chosen_language(
    open_docs: OpenDocs,
) -> None:
    examples = pytest.importorskip("hub.devdocs.examples")
    languages = len(examples.examples_for("send_sms"))
    tab = await open_docs("/docs#op-send_sms")
    page = tab.page
    card = page.get_by_role("article", name="POST /api/v1/sms/send")
    other = page.get_by_role("article", name="POST /api/v1/otp/send")
    tabs = card.get_by_role("tab")
    second = tabs.nth(1)

    await expect(tabs).to_have_count(languages)
    await expect(card.get_by_role("tabpanel")).to_have_count(1)  # the others are hidden
    await expect(tabs.nth(0)).to_have_attribute("aria-selected", "true")
    await second.click()

    name = await second.inner_text()
    await expect(second).to_have_attribute("aria-selected", "true")
    await expect(card.get_by_role("tabpanel")).to_have_attribute("data-label", name)
    await expect(other.get_by_role("tab", selected=True)).to_have_text(name)  # every card
    await second.press("ArrowRight")  # the keyboard moves to the next language
    third = await tabs.nth(2).inner_text()
    await expect(other.get_by_role("tab", selected=True)).to_have_text(third)
    await expect(tabs.nth(2)).to_be_focused()
    await page.reload()
    selected = page.get_by_role("article", name="POST /api/v1/sms/send").get_by_role(
        "tab", selected=True
    )
    await expect(selected).to_have_text(third)  # remembered
    await tab.assert_clean()


async def test_docs_card_shows_its_errors_and_fields_and_links_each_error_to_its_fix(
    open_docs: OpenDocs,
) -> None:
    tab = await open_docs("/docs#op-send_sms")
    page = tab.page
    card = page.get_by_role("article", name="POST /api/v1/sms/send")
    fields = card.get_by_role("table", name="Request body fields")
    answer = card.get_by_role("table", name="Response fields")

    await expect(fields.get_by_role("row", name="ttl_seconds")).to_be_visible()
    await expect(fields.get_by_role("row", name="sim_slot")).to_contain_text("from 0 to 7")
    await expect(answer).to_be_hidden()  # folded until asked for
    await card.locator("summary", has_text="Response fields").click()
    await expect(answer.get_by_role("row", name="request_id")).to_be_visible()
    errors = card.locator(".card-errors li")
    assert await errors.count() >= 12
    await expect(errors.filter(has_text="422")).to_have_count(3)

    await card.get_by_role("link", name="invalid_device").click()

    await expect(page).to_have_url(f"{page.url.split('#')[0]}#invalid_device")
    fix = page.locator("#invalid_device")
    await expect(fix).to_be_in_viewport()
    await expect(fix).to_contain_text("device_id")
    await tab.assert_clean()
