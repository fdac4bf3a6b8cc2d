"""The hub's public origin has one source, ``hub.api.origin.public_origin``.

Pairing, the docs page, Postman and the OpenAPI document all print the same
origin, from a running hub; and no other API module works it out itself
(issue 17 found three ways, one keeping public_url's trailing slash). The start
banner and the dashboard link, which have no request, ask the same function.
"""

from __future__ import annotations

import ast
import urllib.parse
from pathlib import Path

import pytest

from hub.api.origin import listening_origin, public_origin
from hub.config import ServerConfig
from tests.e2e.conftest import RunningHub, hub_config, serve_hub

API = Path(__file__).resolve().parents[3] / "hub" / "api"
ORIGIN_PARTS = frozenset({"public_url", "base_url", "netloc"})


def origin_parts_read(source: str) -> list[str]:
    """Attributes of ``source`` that build an origin by hand."""
    return [
        f"line {node.lineno}: .{node.attr}"
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Attribute) and node.attr in ORIGIN_PARTS
    ]


@pytest.mark.parametrize("path", sorted(API.glob("*.py")), ids=lambda p: p.name)
def test_only_the_origin_module_builds_the_origin(path: Path) -> None:
    found = origin_parts_read(path.read_text())
    assert found if path.name == "origin.py" else not found, found


def test_public_origin_brackets_an_ipv6_host_and_prefers_public_url() -> None:
    # The start banner's origin: no request, so where the hub listens.
    assert public_origin(ServerConfig(host="::1"), listening_origin("::1", 8080)) == (
        "http://[::1]:8080"
    )
    public = ServerConfig(public_url="https://sms.example.com/")
    assert public_origin(public, listening_origin("::1", 8080)) == "https://sms.example.com"


def test_the_check_finds_an_origin_built_by_hand() -> None:
    assert origin_parts_read("o = hub.config.server.public_url or str(request.base_url)")


async def printed_origins(hub: RunningHub) -> dict[str, str]:
    """The origin each place that shows one gives, minus the path it appends."""
    created = (await hub.post("/api/v1/relay/pairing-codes", {})).json()
    hub_param = urllib.parse.parse_qs(urllib.parse.urlsplit(created["qr_payload"]).query)["hub"]
    paired = (
        await hub.post("/api/v1/relay/app/pair", {"pairing_code": created["pairing_code"]}, None)
    ).json()
    spec = (await hub.get("/api/v1/openapi.json", token=None)).json()
    postman = (await hub.get("/api/v1/postman.json", token=None)).json()
    base_url = {v["key"]: v["value"] for v in postman["variable"]}["baseUrl"]
    return {
        "qr": hub_param[0],
        "ws_url": paired["ws_url"].replace("ws", "http", 1).removesuffix("/api/v1/relay/ws"),
        "openapi": spec["servers"][0]["url"],
        "postman": base_url.removesuffix("/api/v1"),
    }


async def test_every_place_prints_public_url_without_its_trailing_slash(tmp_path: Path) -> None:
    config = hub_config(tmp_path / "data", server={"public_url": "https://sms.example.uz/"})
    async with serve_hub(config) as hub:
        origins = await printed_origins(hub)

    assert origins == dict.fromkeys(origins, "https://sms.example.uz")


async def test_without_public_url_every_place_prints_the_request_s_origin(tmp_path: Path) -> None:
    async with serve_hub(hub_config(tmp_path / "data")) as hub:
        origins = await printed_origins(hub)

    assert hub.base_url.startswith("http://127.0.0.1:")
    assert origins == dict.fromkeys(origins, hub.base_url)
