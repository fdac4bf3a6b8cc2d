"""The webhooks view's attempts log names what each delivery carried: the event's
type and id, and for a message's event the message, linked to its page."""

from __future__ import annotations

from playwright.async_api import expect

from tests.browser.conftest import OpenDashboard, require_chromium
from tests.e2e.conftest import RunningHub, delivered_ids
from tests.e2e.receiver import serve_receiver
from tests.e2e.webhook_log import add_endpoint, settled

require_chromium()


async def test_attempts_log_says_which_message_and_event_each_delivery_was_for(
    hub: RunningHub, open_dashboard: OpenDashboard
) -> None:
    async with serve_receiver() as receiver:
        await add_endpoint(hub, receiver.url, events=["message.delivered", "device.online"])
        relay = await hub.relay("Relay L")
        request_id = await hub.send(text="which one?")
        await relay.wait_until(lambda: request_id in delivered_ids(relay))
        log = await settled(hub, lambda d: d["status"] == "succeeded", count=2)
        event_ids = {d["event_type"]: d["event_id"] for d in log}

        dash = await open_dashboard()
        page = dash.page
        await dash.sign_in()
        await dash.go("Webhooks")
        rows = page.get_by_role("region", name="Attempts log").get_by_role("row")
        delivered = rows.filter(has_text="message.delivered").locator('[data-field="event"]')
        online = rows.filter(has_text="device.online").locator('[data-field="event"]')

        await expect(delivered.get_by_role("link", name=request_id)).to_have_attribute(
            "href", f"#message/{request_id}"
        )
        await expect(delivered.locator('[data-field="event-id"]')).to_have_text(
            event_ids["message.delivered"]
        )
        await expect(online.locator('[data-field="event-id"]')).to_have_text(
            event_ids["device.online"]
        )
        await expect(online.locator('[data-field="request"]')).to_have_count(0)
        await expect(online).not_to_contain_text("null")

        await delivered.get_by_role("link", name=request_id).click()
        await expect(page.get_by_role("heading", name="Message", level=1)).to_be_visible()
        await dash.assert_clean()
