"""A device token stops working the moment its device is revoked or disabled.

PROTOCOL.md: "A revoked device is closed with 4403"; a missing, unknown or
revoked token is refused at the handshake. Each close is awaited with a short
deadline (no sleeps): the socket must end at once, not at the next heartbeat.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed, InvalidStatus

from protocol import frames as f
from tests.e2e import raw_relay
from tests.e2e.conftest import ADMIN_TOKEN, RunningHub
from tests.e2e.test_api_errors import assert_problem

pytestmark = pytest.mark.both_backends  # a route or a state change (conftest.py)

CLOSE_REVOKED = 4403
PROMPTLY_S = 2.0  # far above a loopback round trip, far below a heartbeat (30 s)


async def ended(ws: ClientConnection) -> tuple[int | None, list[str | bytes]]:
    """Wait (at most PROMPTLY_S) for the hub to close ``ws``: its close code, and
    every frame that came before the close."""
    frames = []
    async with asyncio.timeout(PROMPTLY_S):
        try:
            while True:
                frames.append(await ws.recv())
        except ConnectionClosed:
            pass
    return ws.close_code, frames


async def refused_status(hub: RunningHub, token: str) -> int:
    with pytest.raises(InvalidStatus) as refused:
        await hub.open_socket(token)
    status: int = refused.value.response.status_code
    return status


async def device_call(
    hub: RunningHub, method: str, device_id: str, body: object = None, token: str = ADMIN_TOKEN
) -> httpx.Response:
    return await hub.client.request(
        method, f"{hub.base_url}/api/v1/devices/{device_id}", json=body,
        headers={"Authorization": f"Bearer {token}"},
    )  # fmt: skip


async def test_revoked_device_is_closed_with_4403_at_once_and_refused_on_every_retry(
    hub_server: RunningHub,
) -> None:
    device = await hub_server.pair("Lost phone")
    ws = await hub_server.open_socket(device.device_token)
    await raw_relay.hello(ws)

    assert (await device_call(hub_server, "DELETE", device.device_id)).status_code == 200

    assert await ended(ws) == (CLOSE_REVOKED, [])
    assert [await refused_status(hub_server, device.device_token) for _ in range(3)] == [403] * 3


async def test_disabled_device_is_closed_with_4403_and_refused_until_enabled(
    hub_server: RunningHub,
) -> None:
    device = await hub_server.pair("Spare phone")
    ws = await hub_server.open_socket(device.device_token)
    await raw_relay.hello(ws)

    await device_call(hub_server, "PATCH", device.device_id, {"disabled": True})

    assert await ended(ws) == (CLOSE_REVOKED, [])
    assert await refused_status(hub_server, device.device_token) == 403
    await device_call(hub_server, "PATCH", device.device_id, {"disabled": False})
    again = await hub_server.open_socket(device.device_token)
    assert (await raw_relay.hello(again)).device_id == device.device_id


async def test_device_revoked_between_handshake_and_hello_is_closed_without_a_welcome(
    hub_server: RunningHub,
) -> None:
    device = await hub_server.pair("Racing phone")
    ws = await hub_server.open_socket(device.device_token)  # accepted; no hello yet

    await device_call(hub_server, "DELETE", device.device_id)
    with pytest.raises(ConnectionClosed):  # the hub may close before or after it arrives
        await ws.send(f.encode(raw_relay.HELLO).decode())
        await ws.recv()

    assert await ended(ws) == (CLOSE_REVOKED, [])


async def test_device_token_opens_no_rest_endpoint_and_access_token_opens_no_socket(
    hub_server: RunningHub,
) -> None:
    device = await hub_server.pair("Phone")

    as_access_token = await hub_server.get("/api/v1/devices", token=device.device_token)

    assert_problem(as_access_token, 401, "unauthorized")
    assert await refused_status(hub_server, ADMIN_TOKEN) == 403


async def test_another_account_can_neither_revoke_nor_disable_a_device_nor_close_its_socket(
    hub_server: RunningHub,
) -> None:
    device = await hub_server.pair("A's phone")
    ws = await hub_server.open_socket(device.device_token)
    await raw_relay.hello(ws)
    b_token = (await hub_server.post("/api/v1/admin/accounts", {"name": "B"})).json()["token"]

    revoke = await device_call(hub_server, "DELETE", device.device_id, token=b_token)
    disable = await device_call(
        hub_server, "PATCH", device.device_id, {"disabled": True}, token=b_token
    )

    assert_problem(revoke, 404, "not_found")
    assert_problem(disable, 404, "not_found")
    request_id = await hub_server.send(text="still mine")
    async with asyncio.timeout(PROMPTLY_S):
        assert (await raw_relay.next_job(ws)).id == request_id  # the socket is still served
