"""Tests for ``relay_sim/pairing.py``, against an in-memory HTTP transport."""

from __future__ import annotations

import json

import httpx
import pytest

from relay_sim import __version__
from relay_sim.pairing import PairedDevice, PairingError, pair_device

HUB = "http://hub.test:8080"


def hub_that_pairs(seen: list[httpx.Request]) -> httpx.MockTransport:
    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/api/v1/relay/pairing-codes":
            return httpx.Response(201, json={"ok": True, "pairing_code": "483-921"})
        return httpx.Response(
            201,
            json={
                "ok": True,
                "device_id": "dev_1",
                "device_token": "dtok_secret",
                "ws_url": "ws://hub.test:8080/api/v1/relay/ws",
            },
        )

    return httpx.MockTransport(answer)


async def test_pair_device_exchanges_a_pairing_code_for_a_device_token() -> None:
    seen: list[httpx.Request] = []
    async with httpx.AsyncClient(transport=hub_that_pairs(seen)) as client:
        device = await pair_device(client, HUB + "/", "tok_admin", "Sim relay 1")

    assert device == PairedDevice(
        "dev_1", "dtok_secret", "ws://hub.test:8080/api/v1/relay/ws", "Sim relay 1"
    )
    ask, pair = seen
    assert ask.url == f"{HUB}/api/v1/relay/pairing-codes"
    assert ask.headers["Authorization"] == "Bearer tok_admin"
    assert json.loads(ask.content) == {"device_name": "Sim relay 1"}
    assert pair.url == f"{HUB}/api/v1/relay/app/pair"
    assert "Authorization" not in pair.headers
    assert json.loads(pair.content) == {
        "pairing_code": "483-921",
        "device_name": "Sim relay 1",
        "model": "relay-sim",
        "app_version": __version__,
    }


async def test_pair_device_raises_the_hubs_problem() -> None:
    problem = {"ok": False, "code": "forbidden", "status": 403, "detail": "needs devices.manage"}
    transport = httpx.MockTransport(lambda request: httpx.Response(403, json=problem))

    async with httpx.AsyncClient(transport=transport) as client:
        with pytest.raises(PairingError) as caught:
            await pair_device(client, HUB, "tok_weak", "Sim relay 1")

    assert (caught.value.status, caught.value.code) == (403, "forbidden")
    assert caught.value.detail == "needs devices.manage"


async def test_pair_device_reports_a_body_that_is_not_a_problem() -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(502, text="Bad Gateway"))

    async with httpx.AsyncClient(transport=transport) as client:
        with pytest.raises(PairingError, match="Bad Gateway") as caught:
            await pair_device(client, HUB, "tok_admin", "Sim relay 1")

    assert caught.value.status == 502


async def test_pair_device_refuses_a_success_without_the_fields_it_needs() -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(201, json={"ok": True}))

    async with httpx.AsyncClient(transport=transport) as client:
        with pytest.raises(PairingError, match="pairing_code") as caught:
            await pair_device(client, HUB, "tok_admin", "Sim relay 1")

    assert caught.value.code == "bad_response"
