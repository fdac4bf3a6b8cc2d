"""Revocations across nodes: a token revoked on node A is refused on node B in
the very next request; a device revoked on A loses its socket on B (4403) and
can connect to no node after."""

from __future__ import annotations

import pytest
from websockets.exceptions import InvalidStatus

from protocol.close_codes import CloseCode
from tests.cluster.conftest import Cluster
from tests.cluster.control_helpers import api, closed_with, session_held, socket_at
from tests.e2e import raw_relay


async def test_a_token_revoked_on_node_a_is_refused_on_node_b_in_the_very_next_request(
    cluster: Cluster,
) -> None:
    a = await cluster.start_node()
    b = await cluster.start_node()
    made = await api(
        cluster, "POST", a, "/tokens", json={"name": "ci", "scopes": ["messages.read"]}
    )
    assert made.status_code == 201, made.text
    secret, token_id = made.json()["token"], made.json()["id"]
    # B knows the token (and would have it cached on one node) before the revoke.
    assert (await api(cluster, "GET", b, "/messages", secret)).status_code == 200

    revoked = await api(cluster, "DELETE", a, f"/tokens/{token_id}")
    assert revoked.status_code == 200, revoked.text

    refused = await api(cluster, "GET", b, "/messages", secret)
    assert refused.status_code == 401
    assert refused.json()["code"] == "unauthorized"


async def test_a_device_revoked_on_node_a_is_closed_with_4403_on_node_b_and_refused_anywhere(
    cluster: Cluster,
) -> None:
    a = await cluster.start_node()
    b = await cluster.start_node()
    device = await cluster.pair(a, "stolen-phone")
    ws = await socket_at(b, device.device_token)
    await session_held(cluster, device.device_id, b)

    revoked = await api(cluster, "DELETE", a, f"/devices/{device.device_id}")
    assert revoked.status_code == 200, revoked.text

    assert await closed_with(ws) == CloseCode.REVOKED
    for node in (a, b):
        with pytest.raises(InvalidStatus) as refused:
            await raw_relay.open_socket(node.base_url, device.device_token)
        assert refused.value.response.status_code == 403


async def test_a_device_disabled_on_node_a_is_closed_with_4403_on_node_b(
    cluster: Cluster,
) -> None:
    a = await cluster.start_node()
    b = await cluster.start_node()
    device = await cluster.pair(a, "paused-phone")
    ws = await socket_at(b, device.device_token)
    await session_held(cluster, device.device_id, b)

    disabled = await api(
        cluster, "PATCH", a, f"/devices/{device.device_id}", json={"disabled": True}
    )
    assert disabled.status_code == 200, disabled.text

    assert await closed_with(ws) == CloseCode.REVOKED
    with pytest.raises(InvalidStatus) as refused:
        await raw_relay.open_socket(b.base_url, device.device_token)
    assert refused.value.response.status_code == 403
