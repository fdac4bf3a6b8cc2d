"""The SSRF guard end to end: webhook URLs may not point into the hub's own network.

``tests/hub/webhooks/test_targets.py`` covers the address rules and
``test_webhook_endpoints.py`` the common internal URLs; here: the spellings
that hide an internal address, changing an endpoint's URL, a name with one
internal address among public ones, the check made again at delivery time
(DNS rebinding), and redirects, which are never followed.

Names are answered by a resolver the test controls (the event loop's
``getaddrinfo``, which the hub's lookups go through): the network's DNS, not a
part of the hub, is what is faked.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import ADMIN_TOKEN, RunningHub, hub_config, serve_hub
from tests.e2e.receiver import Call, serve_receiver
from tests.e2e.test_api_errors import assert_problem
from tests.e2e.webhook_log import add_endpoint, settled

HOOKS = "/api/v1/webhooks"
PUBLIC = "93.184.216.34"


@pytest.fixture
async def dns(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[dict[str, list[str]]]:
    """Names → addresses, answered instead of the real resolver (other names resolve
    as usual); change the dict to change the answers."""
    answers: dict[str, list[str]] = {}
    loop = asyncio.get_running_loop()
    real = loop.getaddrinfo

    async def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else host
        if name not in answers:
            return await real(host, port, *args, **kwargs)
        return [
            (socket.AF_INET6, socket.SOCK_STREAM, 6, "", (a, int(port or 0), 0, 0)) if ":" in a
            else (socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, int(port or 0)))
            for a in answers[name]
        ]  # fmt: skip

    monkeypatch.setattr(loop, "getaddrinfo", getaddrinfo)
    yield answers


def assert_refused_on_url(response: Any, address: str) -> None:
    problem = assert_problem(response, 422, "validation_error")
    (error,) = problem["errors"]
    assert error["field"] == "url"
    assert f"internal address ({address})" in error["message"]
    assert "allow_private_targets" in error["message"]  # and how to allow it, for development


@pytest.mark.parametrize(
    ("url", "address"),
    [
        ("http://[::1]:9000/hook", "::1"),
        ("http://[::ffff:127.0.0.1]/hook", "::ffff:127.0.0.1"),
        ("http://[fd00::1]/hook", "fd00::1"),
        ("http://0.0.0.0/hook", "0.0.0.0"),
        ("http://2130706433/hook", "127.0.0.1"),  # 127.0.0.1 as one decimal number
        ("http://0x7f000001/hook", "127.0.0.1"),  # … in hex
        ("http://127.1/hook", "127.0.0.1"),  # … shortened
        ("http://192.168.1.1/hook", "192.168.1.1"),
        ("http://100.64.0.1/hook", "100.64.0.1"),
        ("http://[64:ff9b::7f00:1]/hook", "64:ff9b::7f00:1"),  # NAT64 around 127.0.0.1
        ("http://[64:ff9b::a00:1]/hook", "64:ff9b::a00:1"),  # NAT64 around 10.0.0.1
        ("http://[::127.0.0.1]/hook", "::127.0.0.1"),  # IPv4-compatible 127.0.0.1
        ("https://hooks.nat64.test/hook", "64:ff9b::a00:1"),  # a name with a NAT64 answer
        ("https://hooks.loopback.test/hook", "127.0.0.1"),  # a name that resolves inside
    ],
)
async def test_endpoint_aimed_inside_however_spelled_is_refused_with_422_on_url(
    hub_server: RunningHub, dns: dict[str, list[str]], url: str, address: str
) -> None:
    dns["hooks.nat64.test"] = ["64:ff9b::a00:1"]
    dns["hooks.loopback.test"] = ["127.0.0.1"]

    assert_refused_on_url(await hub_server.post(HOOKS, {"url": url}), address)
    assert (await hub_server.get(HOOKS)).json()["items"] == []


async def test_name_with_one_internal_address_among_public_ones_is_refused(
    hub_server: RunningHub, dns: dict[str, list[str]]
) -> None:
    dns["hooks.mixed.test"] = [PUBLIC, "10.0.0.7"]

    response = await hub_server.post(HOOKS, {"url": "https://hooks.mixed.test/hook"})

    assert_refused_on_url(response, "10.0.0.7")


async def test_endpoint_url_changed_to_an_internal_one_is_refused_and_kept(
    hub_server: RunningHub,
) -> None:
    created = await add_endpoint(hub_server, f"https://{PUBLIC}/hook")
    path = f"{hub_server.base_url}{HOOKS}/{created['id']}"

    changed = await hub_server.client.patch(
        path, json={"url": "http://169.254.169.254/latest/meta-data"},
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
    )  # fmt: skip

    assert_refused_on_url(changed, "169.254.169.254")
    assert (await hub_server.get(f"{HOOKS}/{created['id']}")).json()["url"] == created["url"]


@pytest.mark.parametrize("allow_private", [False, True], ids=["guarded", "allowed"])
async def test_delivery_checks_the_name_again_and_refuses_it_once_it_resolves_inside(
    tmp_path: Path, dns: dict[str, list[str]], allow_private: bool
) -> None:
    config = hub_config(tmp_path, webhooks={"allow_private_targets": allow_private})
    async with serve_receiver() as receiver, serve_hub(config) as hub:
        port = receiver.url.rsplit(":", 1)[1].split("/")[0]
        dns["hooks.rebind.test"] = [PUBLIC]  # public when the endpoint is made…
        await add_endpoint(hub, f"http://hooks.rebind.test:{port}/hook", events=["device.online"])
        dns["hooks.rebind.test"] = ["127.0.0.1"]  # … inside when the event goes out

        await hub.relay("Phone")  # device.online
        (delivery,) = await settled(hub, lambda d: d["attempt_count"] >= 1)

    first = delivery["attempts"][0]
    if allow_private:  # the control: the name does lead to the receiver
        assert first["status_code"] == 204 and len(receiver.calls) == 1
        assert receiver.calls[0].headers["host"] == f"hooks.rebind.test:{port}"
    else:
        assert first["status_code"] is None
        assert first["error"].startswith("refused: hooks.rebind.test points to an internal")
        assert receiver.calls == []
        assert delivery["status"] == "pending"  # tried again later, checked again then


async def test_delivery_never_follows_a_redirect(tmp_path: Path) -> None:
    async with serve_receiver() as inside:

        async def redirect(call: Call) -> tuple[int, dict[str, str]]:
            return 307, {"location": inside.url}

        config = hub_config(tmp_path, webhooks={"allow_private_targets": True})
        async with serve_receiver(answer=redirect) as outside, serve_hub(config) as hub:
            await add_endpoint(hub, outside.url, events=["device.online"])
            await hub.relay("Phone")
            (delivery,) = await settled(hub, lambda d: d["attempt_count"] >= 1)

    assert delivery["attempts"][0]["status_code"] == 307  # recorded as a failed attempt
    assert delivery["status"] == "pending"
    assert len(outside.calls) == 1
    assert inside.calls == []
