"""The attempts log says what each delivery carried: the event (type and id, the
``webhook-id`` the receiver saw) and, for a message's event, the message's
request_id, so an operator can tell which message an attempt was for."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.conftest import delivered_ids, hub_config, serve_hub
from tests.e2e.receiver import serve_receiver
from tests.e2e.webhook_log import add_endpoint, settled

pytestmark = pytest.mark.both_backends  # a route or a state change (conftest.py)


async def test_each_delivery_names_its_event_and_the_message_it_is_about(tmp_path: Path) -> None:
    config = hub_config(tmp_path / "data", webhooks={"allow_private_targets": True})
    async with serve_receiver() as receiver, serve_hub(config) as hub:
        await add_endpoint(hub, receiver.url, events=["message.delivered", "device.online"])
        relay = await hub.relay("Phone")
        request_id = await hub.send(text="which one?")
        await relay.wait_until(lambda: request_id in delivered_ids(relay))
        log = await settled(hub, lambda d: d["status"] == "succeeded", count=2)
        (delivered,) = [d for d in log if d["event_type"] == "message.delivered"]
        (online,) = [d for d in log if d["event_type"] == "device.online"]
        one = (await hub.get(f"/api/v1/webhooks/deliveries/{delivered['id']}")).json()
        again = await hub.post(f"/api/v1/webhooks/deliveries/{delivered['id']}/redeliver", {})

    assert delivered["request_id"] == request_id
    sent = next(c for c in receiver.calls if c.event["type"] == "message.delivered")
    assert delivered["event_id"] == sent.webhook_id
    assert sent.event["data"]["request_id"] == request_id
    assert online["request_id"] is None  # a device's event concerns no message
    assert online["event_id"].startswith("evt_")
    assert one["request_id"] == request_id
    assert again.status_code == 202
    assert again.json()["request_id"] == request_id
