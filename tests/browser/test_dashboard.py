"""The dashboard in a real browser: sign-in, pairing, live device state, messages,
queue health, webhooks, tokens and readiness against a real hub and real relays.

Every wait is one of Playwright's auto-waiting assertions; screenshots of each
view land in test-artifacts/dashboard/.
"""

from __future__ import annotations

import re

from playwright.async_api import expect

from tests.browser.conftest import (
    PHONE,
    OpenDashboard,
    exchange_pairing_code,
    require_chromium,
)
from tests.e2e.conftest import ADMIN_TOKEN, RunningHub
from tests.e2e.receiver import serve_receiver

require_chromium()

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
    " connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self';"
    " frame-ancestors 'none'"
)


def failed_loads(text: str) -> bool:
    """Chromium logs every 4xx answer to fetch(): expected where a test provokes one."""
    return text.startswith("Failed to load resource: the server responded with a status of 4")


async def test_dashboard_pairs_a_relay_from_the_pair_view_and_shows_it_online(
    hub: RunningHub, open_dashboard: OpenDashboard
) -> None:
    dash = await open_dashboard()
    page = dash.page
    response = await dash.sign_in()

    assert response.headers["content-security-policy"] == CSP
    assert "token=" not in page.url  # out of the address bar at once
    assert await page.evaluate("sessionStorage.getItem('relayhub.token')") == ADMIN_TOKEN
    await expect(page.locator("#live-state")).to_have_attribute("data-state", "open")
    await expect(page.get_by_role("heading", name="Devices", level=1)).to_be_visible()
    await expect(page.get_by_text("No phone is paired yet.")).to_be_visible()
    await dash.screenshot("devices-empty")

    await dash.go("Pair a phone")
    await page.get_by_label("Device name (optional)").fill("Shop Phone")
    await page.get_by_role("button", name="Create pairing code").click()
    code_box = page.get_by_role("region", name="Pairing code")
    await expect(code_box.locator(".pair-code")).to_have_text(re.compile(r"^\d{3}-\d{3}$"))
    await expect(code_box.get_by_role("img", name=re.compile("QR code"))).to_be_visible()
    await expect(code_box.get_by_role("timer")).to_have_text(re.compile(r"^\d+:\d\d$"))
    await expect(page.get_by_text("Waiting for the phone to pair…")).to_be_visible()
    await dash.screenshot("pair")

    code = (await code_box.locator(".pair-code").text_content() or "").strip()
    device = await exchange_pairing_code(hub, code, "Shop Phone")
    await hub.relay("Shop Phone", device=device)

    paired = page.get_by_role("list", name="Paired with this code").get_by_role("listitem")
    await expect(paired).to_have_count(1)
    await expect(paired.locator(".new-device-name")).to_have_text("Shop Phone")
    await expect(paired.locator(".new-device-status")).to_have_text("Online")
    await expect(code_box.locator(".pair-state")).to_have_text("This code has been used.")
    await dash.screenshot("pair-done")

    await dash.go("Devices")
    card = page.get_by_role("article", name="Shop Phone")
    await expect(card.locator(".device-status")).to_have_text("Online")
    await expect(card.locator('[data-field="network"]')).not_to_have_text("—")
    await expect(card.locator('[data-field="battery"]')).to_have_text(re.compile(r"^\d+ %"))
    await expect(card.locator('[data-field="sims"]')).to_contain_text("SIM 1")
    await dash.screenshot("devices")
    await dash.assert_clean()


async def test_dashboard_sends_a_message_and_follows_it_to_delivered(
    hub: RunningHub, open_dashboard: OpenDashboard
) -> None:
    await hub.relay("Relay A")
    dash = await open_dashboard()
    page = dash.page
    await dash.sign_in()

    await dash.go("Messages")
    await page.get_by_label("To", exact=True).first.fill("+998901234567")
    await page.get_by_label("Text").fill("Salom from the dashboard")
    await page.get_by_role("button", name="Send test SMS").click()
    await expect(page.get_by_role("status").filter(has_text="Queued req_")).to_be_visible()
    first = page.locator(".messages-table tbody tr").first
    await expect(first.locator(".message-status")).to_have_text("Delivered")
    await expect(first.locator('[data-field="device"]')).to_have_text("Relay A")
    request_id = (await first.get_by_role("link").text_content() or "").strip()
    assert request_id.startswith("req_")
    assert (await hub.status(request_id))["status"] == "delivered"

    # A message sent by another client shows up and is followed live too.
    other = await hub.send("+998907654321", "From the API")
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=other))
    await expect(row.locator(".message-status")).to_have_text("Delivered")
    await dash.screenshot("messages")

    await page.get_by_label("Status").select_option("delivered")
    await page.get_by_role("button", name="Apply filters").click()
    await expect(page.locator(".messages-table tbody tr")).to_have_count(2)
    await page.get_by_label("Status").select_option("failed")
    await page.get_by_role("button", name="Apply filters").click()
    await expect(page.get_by_text("No message matches these filters.")).to_be_visible()
    await page.get_by_role("button", name="Clear").click()
    await expect(page.locator(".messages-table tbody tr")).to_have_count(2)

    await page.get_by_role("link", name=request_id).click()
    await expect(page.get_by_role("heading", name="Message", level=1)).to_be_visible()
    history = page.get_by_role("region", name="History").get_by_role("listitem")
    await expect(history.locator(".badge")).to_have_text(
        ["Queued", "Dispatched", "Accepted", "Sent", "Delivered"]
    )
    summary = page.get_by_role("region", name="Summary")
    await expect(summary).to_contain_text("Relay A")
    await expect(summary).to_contain_text("+998901234567")
    await dash.screenshot("message-detail")

    await dash.go("Queue health")
    await expect(page.locator('[data-stat="queued"]')).to_have_text("0")
    await expect(page.get_by_role("img", name=re.compile("Messages per minute"))).to_be_visible()
    await expect(page.locator(".chart .bar-sent")).not_to_have_count(0)
    histogram = page.get_by_role("img", name=re.compile("Time from POST to sent"))
    await expect(histogram).to_be_visible()
    await expect(histogram.locator("desc")).to_contain_text("2 messages sent")
    await dash.screenshot("queue")

    await dash.go("Readiness")
    check = page.locator('[data-check="message_delivered"]')
    await expect(check.locator(".badge")).to_have_text("Passed")
    await expect(page.locator('[data-check="device_online"] .badge')).to_have_text("Passed")
    await dash.screenshot("readiness")
    await dash.assert_clean()


async def test_dashboard_shows_a_relay_going_offline_on_a_phone_sized_screen(
    hub: RunningHub, open_dashboard: OpenDashboard
) -> None:
    relay = await hub.relay("Pocket Relay")
    dash = await open_dashboard(viewport=PHONE, device_scale_factor=2, is_mobile=True)
    page = dash.page
    await dash.sign_in()

    card = page.get_by_role("article", name="Pocket Relay")
    await expect(card.locator(".device-status")).to_have_text("Online")
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page scrolls sideways: {width}px wide"
    await dash.screenshot("devices-phone-online")

    await relay.stop()
    await expect(card.locator(".device-status")).to_have_text("Offline")
    await expect(card.locator('[data-field="heartbeat"]')).to_contain_text("ago")
    await dash.screenshot("devices-phone-offline")

    # Every view fits the phone's width: nothing scrolls sideways.
    views = {
        "Pair a phone": "pair",
        "Queue health": "queue",
        "Messages": "messages",
        "Webhooks": "webhooks",
        "Tokens": "tokens",
        "Readiness": "readiness",
    }
    for link, name in views.items():
        await dash.go(link)
        await expect(page.locator(f'#view[data-view="{name}"] h1')).to_be_visible()
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"{link} scrolls sideways: {width}px wide"
        await dash.screenshot(f"{name}-phone")
    await dash.assert_clean()


async def test_dashboard_creates_a_token_shows_it_once_and_revokes_it(
    hub: RunningHub, open_dashboard: OpenDashboard
) -> None:
    dash = await open_dashboard()
    page = dash.page
    await dash.sign_in()
    await dash.go("Tokens")

    await page.get_by_label("Name").fill("shop backend")
    await page.get_by_label("sms.send", exact=True).check()
    await page.get_by_label("messages.read", exact=True).check()
    await page.get_by_role("button", name="Create token").click()

    shown = page.get_by_role("region", name="Token “shop backend”")
    await expect(shown.locator("code")).to_have_text(re.compile(r"^rh_"))
    await expect(shown.get_by_role("button", name="Copy")).to_be_visible()
    secret = (await shown.locator("code").text_content() or "").strip()
    row = page.get_by_role("row").filter(has_text="shop backend")
    await expect(row.locator(".chip")).to_have_text(["messages.read", "sms.send"])
    await dash.screenshot("tokens")
    assert (await hub.get("/api/v1/messages", token=secret)).status_code == 200
    assert (await hub.get("/api/v1/devices", token=secret)).status_code == 403

    # Shown once: gone after leaving the view, and never in the list.
    await dash.go("Devices")
    await dash.go("Tokens")
    await expect(row).to_be_visible()
    assert secret not in await page.content()

    await row.get_by_role("button", name="Revoke shop backend").click()
    dialog = page.get_by_role("dialog", name="Revoke “shop backend”?")
    await expect(dialog).to_be_visible()
    await dialog.get_by_role("button", name="Revoke token").click()
    await expect(row).to_have_count(0)
    await expect(page.get_by_role("status").filter(has_text="revoked")).to_be_attached()
    assert (await hub.get("/api/v1/messages", token=secret)).status_code == 401
    await dash.assert_clean()


async def test_dashboard_manages_a_webhook_endpoint_and_redelivers_from_the_log(
    hub: RunningHub, open_dashboard: OpenDashboard
) -> None:
    async with serve_receiver() as receiver:
        dash = await open_dashboard()
        page = dash.page
        await dash.sign_in()
        await dash.go("Webhooks")

        await page.get_by_label("URL").fill(receiver.url)
        for unwanted in ("message.received", "otp.verified", "device.online", "device.offline"):
            await page.get_by_label(unwanted, exact=True).uncheck()
        await page.get_by_role("button", name="Add endpoint").click()
        shown = page.get_by_role("region", name=re.compile("Signing secret"))
        await expect(shown.locator("code")).to_have_text(re.compile(r"^whsec_"))
        endpoint = page.get_by_role("row").filter(has_text=receiver.url).first
        await expect(endpoint.locator('[data-field="status"]')).to_have_text("Enabled")

        await hub.relay("Relay W")
        await hub.send()
        await receiver.wait_until(lambda: len(receiver.events("message.delivered")) == 1)
        log = page.get_by_role("region", name="Attempts log")
        delivered = log.get_by_role("row").filter(has_text="message.delivered")
        await expect(delivered.locator('[data-field="status"]')).to_have_text("Succeeded")
        await expect(delivered.locator('[data-field="last"]')).to_contain_text("HTTP 204")
        await dash.screenshot("webhooks")

        await delivered.get_by_role("button", name=re.compile("Redeliver")).click()
        await expect(log.get_by_role("row").filter(has_text="message.delivered")).to_have_count(2)
        await receiver.wait_until(lambda: len(receiver.events("message.delivered")) == 2)
        await expect(log.get_by_role("row").filter(has_text="redelivery")).to_contain_text(
            "Succeeded"
        )

        await endpoint.get_by_role("button", name=re.compile("^Disable")).click()
        await expect(endpoint.locator('[data-field="status"]')).to_have_text("Disabled")
        await endpoint.get_by_role("button", name=re.compile("^Delete")).click()
        await page.get_by_role("dialog").get_by_role("button", name="Delete endpoint").click()
        await expect(page.get_by_text("No endpoint yet.")).to_be_visible()
        await dash.assert_clean()


async def test_dashboard_signs_in_with_the_form_and_shows_api_errors_from_the_problem_body(
    hub: RunningHub, open_dashboard: OpenDashboard
) -> None:
    dash = await open_dashboard()
    page = dash.page
    await page.goto(dash.url)
    form = page.get_by_role("region", name="Sign in to relayhub")
    await expect(form).to_be_visible()
    await dash.screenshot("sign-in")

    await page.get_by_label("Access token").fill("rh_not_a_real_token_at_all")
    await page.get_by_role("button", name="Sign in").click()
    alert = page.get_by_role("alert")
    await expect(alert).to_contain_text("Sign-in failed")
    detail = (await hub.get("/api/v1/account", token="rh_not_a_real_token_at_all")).json()
    await expect(alert).to_contain_text(detail["detail"])

    await page.get_by_label("Access token").fill(ADMIN_TOKEN)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("navigation", name="Dashboard")).to_be_visible()
    await expect(page.locator("#alerts")).to_be_empty()  # a fresh start

    await hub.relay("Relay E")
    await dash.go("Messages")
    await page.get_by_label("To", exact=True).first.fill("12")
    await page.get_by_label("Text").fill("never sent")
    await page.get_by_role("button", name="Send test SMS").click()
    await expect(alert).to_contain_text("to: ")
    await expect(page.get_by_label("To", exact=True).first).to_have_attribute(
        "aria-invalid", "true"
    )
    await dash.screenshot("error")

    await page.get_by_role("button", name="Sign out").click()
    await expect(form).to_be_visible()
    assert await page.evaluate("sessionStorage.getItem('relayhub.token')") is None
    await dash.assert_clean(allow=failed_loads)


async def test_dashboard_signs_out_by_itself_when_its_token_is_revoked(
    hub: RunningHub, open_dashboard: OpenDashboard
) -> None:
    created = await hub.post("/api/v1/tokens", {"name": "panel", "scopes": ["devices.read"]})
    token = created.json()
    dash = await open_dashboard()
    page = dash.page
    await dash.sign_in(token["token"])
    await expect(page.get_by_role("heading", name="Devices", level=1)).to_be_visible()
    # Without messages.read there is no live stream; the page says so and polls.
    await expect(page.locator("#live-state")).to_have_attribute("data-state", "forbidden")
    await expect(page.locator("#live-text")).to_have_text("Live updates off")

    revoked = await hub.client.delete(
        f"{hub.base_url}/api/v1/tokens/{token['id']}",
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
    )
    assert revoked.status_code == 200
    await expect(page.get_by_role("region", name="Sign in to relayhub")).to_be_visible()
    await expect(page.get_by_role("alert")).to_contain_text("Sign in again")
    assert await page.evaluate("sessionStorage.getItem('relayhub.token')") is None
    await dash.assert_clean(allow=failed_loads)
