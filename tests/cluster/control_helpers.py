"""What the control-message tests share: waiting on a relay session in the
database, raw relay sockets at a node, and NOTIFYs sent by hand."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from hub.cluster.control import Control, encode
from hub.cluster.node import channel_of
from tests.cluster.conftest import Cluster, stored
from tests.e2e import raw_relay
from tests.e2e.conftest import ADMIN_TOKEN
from tests.e2e.hub_process import HubProcess

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


async def session_held(cluster: Cluster, device_id: str, node: HubProcess) -> int:
    """Wait until the device's session row names ``node`` (its hello committed);
    its epoch. The row is the event: a node writes it after the welcome."""
    node_id = cluster.node_id(node)

    def held() -> list[tuple[Any, ...]]:
        sql = "SELECT node_id, epoch FROM relay_sessions WHERE device_id = %s AND node_id = %s"
        return cluster.query(sql, device_id, node_id)

    await stored(lambda: bool(held()), f"a session of {device_id} on {node_id}")
    return int(held()[0][1])


async def socket_at(node: HubProcess, device_token: str) -> ClientConnection:
    """A raw relay socket at ``node`` that said hello and was welcomed."""
    ws = await raw_relay.open_socket(node.base_url, device_token)
    await raw_relay.hello(ws)
    return ws


async def closed_with(ws: ClientConnection) -> int | None:
    """Read until the hub closes the socket (10 s at most); the close code."""
    async with asyncio.timeout(10):
        try:
            while True:
                await ws.recv()
        except ConnectionClosed:
            return ws.close_code


def tell(cluster: Cluster, node: HubProcess, *messages: Control) -> None:
    """NOTIFY ``node`` of ``messages`` in one transaction (delivered in this order)."""
    channel = channel_of(cluster.node_id(node))
    with_params: list[Any] = []
    selects = []
    for message in messages:
        selects.append("pg_notify(%s, %s)")
        with_params += [channel, encode(message)]
    cluster.query("SELECT " + ", ".join(selects), *with_params)


async def api(
    cluster: Cluster, method: str, node: HubProcess, path: str, token: str = ADMIN_TOKEN, **kw: Any
) -> httpx.Response:
    return await cluster.client.request(
        method,
        node.base_url + "/api/v1" + path,
        headers={"Authorization": f"Bearer {token}"},
        **kw,
    )
