"""The dashboard says why messages wait: a note while messages are queued with no
phone online, the reason on each waiting row and on its detail page, gone once a
phone connects; the detail shows an SMS's text but never an OTP's code."""

from __future__ import annotations

import re

from playwright.async_api import expect

from tests.browser.conftest import OpenDashboard, require_chromium
from tests.e2e.conftest import RunningHub, delivered_ids

require_chromium()


async def test_dashboard_says_messages_wait_for_a_phone_until_one_connects(
    hub: RunningHub, open_dashboard: OpenDashboard
) -> None:
    device = await hub.pair("Phone A")  # paired, app closed
    sms = await hub.send(text="Your parcel is ready")
    otp = await hub.post("/api/v1/otp/send", {"to": "+998901234567", "purpose": "login"})
    assert otp.status_code == 200 and otp.json()["status"] == "queued", otp.text
    otp_request = otp.json()["request_id"]
    dash = await open_dashboard()
    page = dash.page
    await dash.sign_in()

    await dash.go("Messages")
    note = page.get_by_role("note").filter(has_text="wait for a phone")
    await expect(note).to_contain_text("2 queued messages wait for a phone to come online")
    await expect(note).to_contain_text("No phone of this account is online")
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=sms))
    await expect(row.locator(".waiting-reason")).to_have_text("Waiting: no phone online")
    await dash.screenshot("messages-waiting")

    await page.get_by_role("link", name=sms).click()
    await expect(page.get_by_role("note")).to_contain_text("Waiting: no phone online")
    summary = page.get_by_role("region", name="Summary")
    await expect(summary).to_contain_text("Your parcel is ready")
    await page.get_by_role("link", name="← All messages").click()

    relay = await hub.relay("Phone A", device=device)
    await relay.wait_until(lambda: {sms, otp_request} <= delivered_ids(relay))
    await expect(row.locator(".message-status")).to_contain_text("Delivered")
    await expect(row.locator(".waiting-reason")).to_have_text("")
    await expect(note).to_be_hidden()

    await page.get_by_role("link", name=otp_request).click()
    summary = page.get_by_role("region", name="Summary")
    await expect(summary).to_contain_text("verification code (hidden)")
    await expect(page.get_by_role("note")).to_have_count(0)  # not waiting any more
    text = next(j.text for j in relay.jobs_received if j.id == otp_request)
    (code,) = set(re.findall(r"\b\d{6}\b", text))
    assert code not in (await summary.text_content() or "")
    await dash.assert_clean()
