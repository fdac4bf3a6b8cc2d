"""Hostile bodies and frames against a real hub: each gets a precise 4xx problem or
the close code of PROTOCOL.md, nothing is written, and the hub stays healthy.

``test_api_errors.py`` covers the common malformed bodies on ``sms/send``, and
``test_relay_faults.py`` invalid JSON, a late oversized frame, a heartbeat as
first frame and an unknown frame type; this file adds what an attacker or a
badly broken client sends, on every endpoint that takes a JSON body.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from protocol import frames as f
from tests.e2e import raw_relay
from tests.e2e.conftest import ADMIN_TOKEN, RunningHub, delivered_ids, hub_config, serve_hub

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
JSON = {**AUTH, "Content-Type": "application/json"}
# A body each endpoint accepts, and the listing that shows what it wrote.
ENDPOINTS: dict[str, tuple[dict[str, Any], str]] = {
    "/api/v1/sms/send": ({"to": "+998901234567", "text": "Salom"}, "/api/v1/messages"),
    "/api/v1/otp/send": ({"to": "+998901234568", "purpose": "login"}, "/api/v1/messages"),
    "/api/v1/recipients": ({"phone": "+998901234569", "name": "Ali"}, "/api/v1/recipients"),
    "/api/v1/webhooks": ({"url": "http://127.0.0.1:9/hook"}, "/api/v1/webhooks"),
}
LISTINGS = sorted({listing for _, listing in ENDPOINTS.values()})


@pytest.fixture
async def hub(tmp_path: Path) -> AsyncIterator[RunningHub]:
    """A hub with a paired phone (so a good send is written) that accepts a local webhook URL."""
    config = hub_config(tmp_path / "data", webhooks={"allow_private_targets": True})
    async with serve_hub(config) as running:
        await running.pair("Phone")
        yield running


async def written(hub: RunningHub) -> dict[str, int]:
    """How many items each listing shows."""
    counts = {}
    for listing in LISTINGS:
        response = await hub.get(f"{listing}?limit=100")
        assert response.status_code == 200, response.text
        counts[listing] = len(response.json()["items"])
    return counts


def assert_refused(response: httpx.Response, status: int, code: str, field: str) -> dict[str, Any]:
    """A problem body: the status, its code, the field at fault, and a hint in ``detail``."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert (body["ok"], body["code"], body["status"]) == (False, code, status)
    assert body["errors"][0]["field"] == field, body
    assert body["detail"] and body["errors"][0]["message"]
    assert "Traceback" not in response.text
    return body


async def assert_nothing_written_then_good_bodies_are(
    hub: RunningHub, before: dict[str, int]
) -> None:
    """Nothing changed; and the same endpoints do write a good body, so the counts would show it."""
    assert await written(hub) == before
    for path, (good, _) in ENDPOINTS.items():
        response = await hub.post(path, good)
        assert response.status_code in (200, 201, 202), response.text
    after = await written(hub)
    assert after == {
        "/api/v1/messages": before["/api/v1/messages"] + 2,  # an SMS and an OTP
        "/api/v1/recipients": before["/api/v1/recipients"] + 1,
        "/api/v1/webhooks": before["/api/v1/webhooks"] + 1,
    }


def as_json(value: Any) -> bytes:
    return json.dumps(value).encode()


def over_limit(hub: RunningHub) -> bytes:
    limit = hub.config.server.max_body_bytes
    return b'{"text": "' + b"x" * limit + b'"}'


# --- bodies ------------------------------------------------------------------------


async def test_hub_answers_413_before_reading_when_declared_body_is_over_the_limit(
    hub: RunningHub,
) -> None:
    before = await written(hub)
    for path in ENDPOINTS:
        response = await hub.client.post(hub.base_url + path, content=over_limit(hub), headers=JSON)
        problem = assert_refused(response, 413, "payload_too_large", "body")
        assert str(hub.config.server.max_body_bytes) in problem["detail"]
    await assert_nothing_written_then_good_bodies_are(hub, before)


async def test_hub_answers_413_when_chunked_body_without_length_grows_over_the_limit(
    hub: RunningHub,
) -> None:
    before = await written(hub)
    big = over_limit(hub)

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: Transfer-Encoding: chunked
        for start in range(0, len(big), 4096):
            yield big[start : start + 4096]

    for path in ENDPOINTS:
        response = await hub.client.post(hub.base_url + path, content=chunks(), headers=JSON)
        assert "content-length" not in response.request.headers
        assert_refused(response, 413, "payload_too_large", "body")
    await assert_nothing_written_then_good_bodies_are(hub, before)


async def test_hub_answers_413_when_deeply_nested_json_is_over_the_limit(hub: RunningHub) -> None:
    before = await written(hub)
    for path in ENDPOINTS:
        response = await hub.client.post(hub.base_url + path, content=b"[" * 100_000, headers=JSON)
        assert_refused(response, 413, "payload_too_large", "body")
    await assert_nothing_written_then_good_bodies_are(hub, before)


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"[" * 60_000, id="open_brackets"),
        pytest.param(b"[" * 30_000 + b"]" * 30_000, id="closed_brackets"),
        pytest.param(b'{"a":' * 10_000 + b"1" + b"}" * 10_000, id="objects"),
        pytest.param(
            b'{"to":"+998901234567","x":' + b"[" * 30_000 + b"]" * 30_000 + b"}",
            id="inside_an_object",
        ),
    ],
)
async def test_hub_answers_422_when_json_under_the_limit_nests_too_deeply(
    hub: RunningHub, raw: bytes
) -> None:
    # Regression: msgspec's RecursionError escaped parse_body, a 500 internal_error.
    assert len(raw) <= hub.config.server.max_body_bytes
    before = await written(hub)
    for path in ENDPOINTS:
        response = await hub.client.post(hub.base_url + path, content=raw, headers=JSON)
        problem = assert_refused(response, 422, "validation_error", "body")
        assert "nested too deeply" in problem["errors"][0]["message"]
    await assert_nothing_written_then_good_bodies_are(hub, before)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        pytest.param(b"\xff\xfe{\x00}", "not valid JSON", id="not_utf8"),
        pytest.param(b'{"to": "+99890\xc0\xaf1234567"}', "not valid JSON", id="overlong_utf8"),
        pytest.param(b'{"to": "\xed\xa0\x80"}', "not valid JSON", id="utf8_surrogate"),
        pytest.param(b'{"to": "+998901234567", "text": ', "not valid JSON", id="truncated"),
        pytest.param(b"{'to': '+998901234567'}", "not valid JSON", id="single_quotes"),
        pytest.param(b'{"to": NaN}', "not valid JSON", id="nan"),
        pytest.param(b'[{"to": "+998901234567"}]', "must be a JSON object", id="array"),
        pytest.param(b'"+998901234567"', "must be a JSON object", id="string"),
        pytest.param(b"null", "must be a JSON object", id="null"),
    ],
)
async def test_hub_answers_422_naming_the_body_when_it_is_not_a_json_object(
    hub: RunningHub, raw: bytes, message: str
) -> None:
    before = await written(hub)
    for path in ENDPOINTS:
        response = await hub.client.post(hub.base_url + path, content=raw, headers=JSON)
        problem = assert_refused(response, 422, "validation_error", "body")
        assert message in problem["errors"][0]["message"]
    await assert_nothing_written_then_good_bodies_are(hub, before)


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
     "application/jsonx", "text/json"],
)  # fmt: skip
async def test_hub_answers_415_when_body_is_declared_as_something_other_than_json(
    hub: RunningHub, content_type: str
) -> None:
    # Regression: the hub read any body as JSON, whatever it was declared to be,
    # though the OpenAPI document promised 415 unsupported_media_type.
    before = await written(hub)
    for path, (good, _) in ENDPOINTS.items():
        response = await hub.client.post(
            hub.base_url + path,
            content=as_json(good),
            headers={**AUTH, "Content-Type": content_type},
        )
        problem = assert_refused(response, 415, "unsupported_media_type", "content-type")
        assert "application/json" in problem["detail"]
    await assert_nothing_written_then_good_bodies_are(hub, before)


@pytest.mark.parametrize(
    "content_type",
    [None, "application/json; charset=utf-8", "APPLICATION/JSON", "application/merge-patch+json"],
)
async def test_hub_reads_body_as_json_when_it_is_declared_json_or_not_declared(
    hub: RunningHub, content_type: str | None
) -> None:
    headers = dict(AUTH) if content_type is None else {**AUTH, "Content-Type": content_type}
    good, _ = ENDPOINTS["/api/v1/recipients"]
    response = await hub.client.post(
        hub.base_url + "/api/v1/recipients", content=as_json(good), headers=headers
    )
    assert response.status_code == 201, response.text


async def test_hub_answers_415_when_a_pairing_code_body_is_declared_as_a_form(
    hub: RunningHub,
) -> None:
    response = await hub.client.post(
        hub.base_url + "/api/v1/relay/pairing-codes",
        content=b"device_name=Kassa",
        headers={**AUTH, "Content-Type": "application/x-www-form-urlencoded"},
    )

    assert_refused(response, 415, "unsupported_media_type", "content-type")


async def test_hub_answers_415_when_a_csv_import_is_declared_as_json(hub: RunningHub) -> None:
    before = await written(hub)
    csv = b"phone,name\n+998901234570,Vali\n"

    refused = await hub.client.post(
        hub.base_url + "/api/v1/recipients/import", content=csv, headers=JSON
    )
    unchanged = await written(hub)
    taken = await hub.client.post(
        hub.base_url + "/api/v1/recipients/import",
        content=csv,
        headers={**AUTH, "Content-Type": "text/csv; charset=utf-8"},
    )

    problem = assert_refused(refused, 415, "unsupported_media_type", "content-type")
    assert "text/csv" in problem["detail"]
    assert unchanged == before
    assert taken.status_code == 200, taken.text


# --- relay frames ------------------------------------------------------------------


async def closed_with(ws: ClientConnection) -> tuple[int | None, str | None]:
    """Read until the hub closes the socket; its close code and reason."""
    with pytest.raises(ConnectionClosed):
        while True:
            await ws.recv()
    return ws.close_code, ws.close_reason


async def assert_hub_still_serves(hub: RunningHub, healthy: Any) -> None:
    """Another relay still gets and delivers a message, and the health check answers."""
    request_id = await hub.send(text="after the hostile socket")
    await healthy.wait_until(lambda: request_id in delivered_ids(healthy))
    health = await hub.get("/api/v1/health")
    assert health.status_code == 200
    assert health.json()["status"] == "ok"


def padded_heartbeat(size: int) -> str:
    """A valid heartbeat of exactly ``size`` bytes (an unknown field pads it)."""
    head = '{"type":"heartbeat","battery":50,"charging":true,"signal":3,"network":"lte","queue":0'
    frame = head + ',"pad":"' + "x" * (size - len(head) - len(',"pad":""}')) + '"}'
    assert len(frame.encode()) == size
    return frame


async def test_hub_keeps_socket_open_when_frame_is_exactly_max_frame_bytes(
    hub_server: RunningHub,
) -> None:
    device = await hub_server.pair("Edge")
    ws = await hub_server.open_socket(device.device_token)
    await raw_relay.hello(ws)

    await ws.send(padded_heartbeat(hub_server.config.relay.max_frame_bytes))

    request_id = await hub_server.send(text="after a frame at the limit")
    assert (await raw_relay.next_job(ws)).id == request_id


# What a broken or hostile relay sends on its socket, the frame's kind
# (text or binary), whether hello comes first, and the close code PROTOCOL.md
# and docs/protocol.md give.
HOSTILE_FRAMES = [
    pytest.param("oversized", True, 1009, id="oversized_after_hello"),
    pytest.param("oversized", False, 1009, id="oversized_before_hello"),
    pytest.param("binary", True, 1003, id="binary_after_hello"),
    pytest.param("binary", False, 1003, id="binary_before_hello"),
    pytest.param("not_utf8", True, 1007, id="not_utf8_after_hello"),
    pytest.param("not_utf8", False, 1007, id="not_utf8_before_hello"),
    # Regression: a RecursionError escaped the protocol, a 1011 and a traceback.
    pytest.param("deep", True, 1007, id="deeply_nested_after_hello"),
    pytest.param("deep", False, 1008, id="deeply_nested_before_hello"),
    pytest.param("garbage", False, 1008, id="binary_garbage_as_text_before_hello"),
    # Regression: the close reason quoted the bad type, up to 480 bytes; a close
    # frame holds 123, so the close frame could not be built.
    pytest.param("unicode_type", False, 1008, id="long_unicode_type_before_hello"),
    pytest.param("hub_frame", False, 1008, id="hub_frame_before_hello"),
]


def hostile_frame(kind: str, limit: int) -> tuple[str | bytes, bool]:
    """The frame, and whether it goes as a text frame."""
    match kind:
        case "oversized":
            return padded_heartbeat(limit + 1), True
        case "binary":
            return f.encode(raw_relay.HELLO), False  # a good hello, in a binary frame
        case "not_utf8":
            return b'{"type":"heartbeat","network":"\xff\xfe"}', True
        case "deep":
            return '{"type":"heartbeat","x":' + "[" * 30_000 + "]" * 30_000 + "}", True
        case "garbage":
            return bytes(range(1, 128)).decode() * 3, True
        case "unicode_type":
            return '{"type":"' + "\u0436" * 300 + '"}', True
        case "hub_frame":
            return f.encode(f.Receipt(seq=1)).decode(), True
    raise AssertionError(kind)


@pytest.mark.parametrize(("kind", "hello_first", "close_code"), HOSTILE_FRAMES)
async def test_hub_closes_only_the_hostile_socket_with_the_protocol_close_code(
    hub_server: RunningHub, kind: str, hello_first: bool, close_code: int
) -> None:
    healthy = await hub_server.relay("Healthy")
    device = await hub_server.pair("Hostile")
    ws = await hub_server.open_socket(device.device_token, max_size=None)
    if hello_first:
        await raw_relay.hello(ws)
    frame, as_text = hostile_frame(kind, hub_server.config.relay.max_frame_bytes)

    if isinstance(frame, bytes) and as_text:
        await ws.send(frame, text=True)  # websockets does not check bytes sent as text
    else:
        await ws.send(frame)

    code, reason = await closed_with(ws)
    assert code == close_code, reason
    assert reason is not None and len(reason.encode()) <= 123
    await assert_hub_still_serves(hub_server, healthy)


async def test_hub_answers_long_unicode_unknown_type_with_error_the_relay_can_decode(
    hub_server: RunningHub,
) -> None:
    # Regression: the error quoted the whole type; over 1024 characters it broke
    # the relay's own frame schema, and a relay following it closed with 1007.
    device = await hub_server.pair("Future app")
    ws = await hub_server.open_socket(device.device_token)
    await raw_relay.hello(ws)

    await ws.send('{"type":"' + "\u0436" * 2000 + '"}')
    error = await raw_relay.next_frame(ws)  # decodes under the relay's schema

    assert isinstance(error, f.Error) and error.code == "unknown_type"
    request_id = await hub_server.send(text="after the long unknown type")
    assert (await raw_relay.next_job(ws)).id == request_id
