"""Dashboard forms in a real browser against a real hub: what a failed submit shows
(the alert banner, the fields it names) is gone after the next successful one,
in every form (send, pair, tokens, webhooks); and the readiness view shows its
warnings.
"""

from __future__ import annotations

import re

from playwright.async_api import Locator, Page, expect

from tests.browser.conftest import OpenDashboard, require_chromium
from tests.e2e.conftest import RunningHub
from tests.e2e.receiver import serve_receiver

require_chromium()


def failed_loads(text: str) -> bool:
    """Chromium logs every 4xx answer to fetch(): expected where a test provokes one."""
    return text.startswith("Failed to load resource: the server responded with a status of 4")


async def expect_error_shown(page: Page, form: Locator, title: str, field: Locator) -> None:
    await expect(page.get_by_role("alert")).to_contain_text(title)
    await expect(field).to_have_attribute("aria-invalid", "true")
    await expect(form.locator(".field-error")).to_have_count(1)


async def expect_no_error(page: Page, form: Locator) -> None:
    await expect(page.locator("#alerts .alert")).to_have_count(0)
    await expect(form.locator(".field-error")).to_have_count(0)
    await expect(form.locator("[aria-invalid]")).to_have_count(0)
    # No input still points at an error note that is gone.
    dangling = await form.evaluate(
        """(form) => [...form.querySelectorAll("[aria-describedby]")]
             .flatMap((el) => el.getAttribute("aria-describedby").split(" "))
             .filter((id) => !document.getElementById(id))"""
    )
    assert dangling == []


async def test_a_failed_send_then_a_successful_one_leaves_no_error_visible(
    hub: RunningHub, open_dashboard: OpenDashboard
) -> None:
    await hub.relay("Relay F")
    dash = await open_dashboard()
    page = dash.page
    await dash.sign_in()
    await dash.go("Messages")
    form = page.get_by_role("form", name="Send a test SMS")
    to = form.get_by_label("To", exact=True)

    await to.fill("12")
    await form.get_by_label("Text").fill("never sent")
    await form.get_by_role("button", name="Send test SMS").click()
    await expect_error_shown(page, form, "The SMS was not queued", to)
    await expect(form.locator(".field-error")).to_contain_text(re.compile(r"\S"))

    await to.fill("+998901234567")
    await form.get_by_label("Text").fill("this one goes")
    await form.get_by_role("button", name="Send test SMS").click()
    await expect(page.get_by_role("status").filter(has_text="Queued req_")).to_be_visible()
    await expect_no_error(page, form)
    await dash.assert_clean(allow=failed_loads)


async def test_pair_tokens_and_webhooks_forms_clear_their_errors_on_success(
    hub: RunningHub, open_dashboard: OpenDashboard
) -> None:
    async with serve_receiver() as receiver:
        dash = await open_dashboard()
        page = dash.page
        await dash.sign_in()

        # Pair: a device name longer than the API takes (the input's own limit lifted).
        await dash.go("Pair a phone")
        form = page.get_by_role("form", name="New pairing code")
        name = form.get_by_label("Device name (optional)")
        await name.evaluate("(input) => input.removeAttribute('maxlength')")
        await name.fill("x" * 81)
        await form.get_by_role("button", name="Create pairing code").click()
        await expect_error_shown(page, form, "Could not create a pairing code", name)
        await name.fill("Shop Phone")
        await form.get_by_role("button", name="Create pairing code").click()
        await expect(page.locator(".pair-code")).to_have_text(re.compile(r"^\d{3}-\d{3}$"))
        await expect_no_error(page, form)

        # Tokens: no scope ticked.
        await dash.go("Tokens")
        form = page.get_by_role("form", name="Create a token")
        await form.get_by_label("Name").fill("shop backend")
        await form.get_by_role("button", name="Create token").click()
        scopes = form.get_by_role("group", name="Scopes")
        await expect(page.get_by_role("alert")).to_contain_text("The token was not created")
        await expect(scopes.locator(".field-error")).to_have_count(1)
        await form.get_by_label("Name").fill("shop backend")
        await form.get_by_label("sms.send", exact=True).check()
        await form.get_by_role("button", name="Create token").click()
        await expect(page.get_by_role("region", name="Token “shop backend”")).to_be_visible()
        await expect_no_error(page, form)

        # Webhooks: a URL that is not http(s).
        await dash.go("Webhooks")
        form = page.get_by_role("form", name="Add an endpoint")
        url = form.get_by_label("URL")
        await url.fill("ftp://127.0.0.1/hook")
        await form.get_by_role("button", name="Add endpoint").click()
        await expect_error_shown(page, form, "The endpoint was not added", url)
        await url.fill(receiver.url)
        await form.get_by_role("button", name="Add endpoint").click()
        await expect(page.get_by_role("region", name=re.compile("Signing secret"))).to_be_visible()
        await expect_no_error(page, form)
        await dash.assert_clean(allow=failed_loads)


async def test_an_error_from_elsewhere_outlives_a_forms_success(
    hub: RunningHub, open_dashboard: OpenDashboard
) -> None:
    """A form takes back only what it showed itself."""
    await hub.relay("Relay G")
    dash = await open_dashboard()
    page = dash.page
    await dash.sign_in()
    await dash.go("Messages")
    await page.evaluate(
        """async () => {
             const ui = await import("/dashboard/assets/ui.js");
             ui.showError(new Error("the live stream dropped"), "Not from the form");
           }"""
    )
    form = page.get_by_role("form", name="Send a test SMS")
    await form.get_by_label("To", exact=True).fill("+998901234567")
    await form.get_by_label("Text").fill("hello")
    await form.get_by_role("button", name="Send test SMS").click()
    await expect(page.get_by_role("status").filter(has_text="Queued req_")).to_be_visible()
    await expect(page.locator("#alerts .alert")).to_have_count(1)
    await expect(page.get_by_role("alert")).to_contain_text("Not from the form")


async def test_readiness_view_shows_what_holds_the_launch_back_and_its_warnings(
    hub: RunningHub, open_dashboard: OpenDashboard
) -> None:
    await hub.relay("Relay R")  # simulated; the hub is on loopback and allows private targets
    dash = await open_dashboard()
    page = dash.page
    await dash.sign_in()
    await dash.go("Readiness")

    overall = page.locator(".readiness-overall")
    await expect(overall).to_contain_text("Not ready yet")
    await expect(overall).to_contain_text("warnings below")
    real = page.locator('[data-check="real_phone"]')
    await expect(real.locator(".badge")).to_have_text("To do")
    await expect(real.locator(".check-detail")).to_contain_text("simulated by relay-sim")
    await expect(real.locator(".check-fix")).to_contain_text("real Android phone")
    for warned in ("https", "private_webhook_targets"):
        await expect(page.locator(f'[data-check="{warned}"] .badge')).to_have_text("Warning")
    await expect(page.locator('[data-check="https"]')).to_contain_text("Served over https")
    await dash.assert_clean()
