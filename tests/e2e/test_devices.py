"""Managing paired devices: rename, disable, revoke; a revoked socket closes with 4403."""

from __future__ import annotations

import httpx
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.e2e import raw_relay
from tests.e2e.conftest import ADMIN_TOKEN, RunningHub
from tests.e2e.test_api_errors import assert_problem

pytestmark = pytest.mark.both_backends  # a route or a state change (conftest.py)


async def device_call(
    hub: RunningHub, method: str, device_id: str, body: object = None
) -> httpx.Response:
    return await hub.client.request(
        method,
        f"{hub.base_url}/api/v1/devices/{device_id}",
        json=body,
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
    )


async def test_revoked_device_is_closed_with_4403_and_cannot_return(hub_server: RunningHub) -> None:
    device = await hub_server.pair("Lost phone")
    ws = await hub_server.open_socket(device.device_token)
    await raw_relay.hello(ws)

    revoked = await device_call(hub_server, "DELETE", device.device_id)

    assert revoked.status_code == 200
    with pytest.raises(ConnectionClosed):
        await ws.recv()
    assert ws.close_code == 4403
    with pytest.raises(InvalidStatus) as refused:
        await hub_server.open_socket(device.device_token)
    assert refused.value.response.status_code == 403
    assert (await hub_server.get("/api/v1/devices")).json()["items"] == []
    assert_problem(await device_call(hub_server, "DELETE", device.device_id), 404, "not_found")


async def test_disabled_device_is_closed_and_refused_until_enabled(hub_server: RunningHub) -> None:
    device = await hub_server.pair("Spare phone")
    ws = await hub_server.open_socket(device.device_token)
    await raw_relay.hello(ws)

    disabled = await device_call(hub_server, "PATCH", device.device_id, {"disabled": True})

    assert disabled.json()["disabled"] is True
    with pytest.raises(ConnectionClosed):
        await ws.recv()
    assert ws.close_code == 4403
    body = {"to": "+998901234567", "text": "hi", "device_id": device.device_id}
    assert_problem(await hub_server.post("/api/v1/sms/send", body), 422, "invalid_device")

    await device_call(hub_server, "PATCH", device.device_id, {"disabled": False})
    again = await hub_server.open_socket(device.device_token)
    assert (await raw_relay.hello(again)).device_id == device.device_id


async def test_renamed_device_shows_its_new_name_in_message_status(hub_server: RunningHub) -> None:
    relay = await hub_server.relay("Old name")
    renamed = await device_call(hub_server, "PATCH", relay.device_id, {"name": "Front desk"})
    assert renamed.json()["name"] == "Front desk"

    request_id = await hub_server.send(text="hello")

    await relay.wait_until(lambda: request_id in [j.id for j in relay.jobs_received])
    assert (await hub_server.status(request_id))["device_name"] == "Front desk"
    one = await device_call(hub_server, "GET", relay.device_id)
    assert one.json()["online"] is True
