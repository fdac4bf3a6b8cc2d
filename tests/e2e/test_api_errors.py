"""Every failure of the REST API is a precise problem body that changes nothing."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from hub.clock import ManualClock
from tests.e2e.conftest import ADMIN_TOKEN, RunningHub, hub_config, serve_hub

SEND = "/api/v1/sms/send"


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["ok"] is False
    assert body["code"] == code
    assert body["status"] == status
    assert body["type"].endswith(f"#{code}")
    assert body["title"] and body["detail"]
    assert body["request_id"] == response.headers["x-request-id"]
    assert "Traceback" not in response.text
    return body


async def message_count(hub_server: RunningHub) -> int:
    row = await hub_server.hub.store.fetchone("SELECT COUNT(*) AS n FROM messages")
    assert row is not None
    return int(row["n"])


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer rh_no_such_token_000000000"}],
)
async def test_send_answers_401_when_token_is_missing_or_unknown(
    hub_server: RunningHub, headers: dict[str, str]
) -> None:
    response = await hub_server.client.post(
        hub_server.base_url + SEND, json={"to": "+998901234567", "text": "x"}, headers=headers
    )
    assert_problem(response, 401, "unauthorized")
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_send_lists_every_bad_field_at_once(hub_server: RunningHub) -> None:
    await hub_server.pair("Phone")
    body = {"to": "12", "text": 5, "sim_slot": "one", "ttl_seconds": 5}

    response = await hub_server.post(SEND, body)

    problem = assert_problem(response, 422, "validation_error")
    fields = {e["field"]: e["message"] for e in problem["errors"]}
    assert set(fields) == {"to", "text", "sim_slot", "ttl_seconds"}
    assert "phone number" in fields["to"]
    assert "str" in fields["text"]
    assert await message_count(hub_server) == 0


async def test_send_names_missing_fields(hub_server: RunningHub) -> None:
    problem = assert_problem(await hub_server.post(SEND, {}), 422, "validation_error")
    assert {e["field"] for e in problem["errors"]} == {"to", "text"}
    assert all(e["message"] == "is required (a string)" for e in problem["errors"])


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (b"", "a JSON object is required"),
        (b'{"to": "+998901234567", "text": "\xff\xfe"}', "not valid JSON"),
    ],
)
async def test_send_rejects_body_that_is_not_a_json_object(
    hub_server: RunningHub, raw: bytes, message: str
) -> None:
    response = await hub_server.client.post(
        hub_server.base_url + SEND,
        content=raw,
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}", "Content-Type": "application/json"},
    )
    problem = assert_problem(response, 422, "validation_error")
    assert problem["errors"][0]["field"] == "body"
    assert message in problem["errors"][0]["message"]


async def test_send_answers_413_when_body_is_over_the_limit(hub_server: RunningHub) -> None:
    limit = hub_server.config.server.max_body_bytes
    big = {"to": "+998901234567", "text": "x" * (limit + 10)}
    assert_problem(await hub_server.post(SEND, big), 413, "payload_too_large")


async def test_send_answers_413_when_streamed_body_grows_over_the_limit(
    hub_server: RunningHub,
) -> None:
    limit = hub_server.config.server.max_body_bytes

    async def chunks() -> Any:  # no Content-Length: the hub must count as it reads
        for _ in range(limit // 1000 + 2):
            yield b"x" * 1000

    response = await hub_server.client.post(
        hub_server.base_url + SEND,
        content=chunks(),
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
    )
    assert_problem(response, 413, "payload_too_large")


async def test_send_answers_invalid_device_when_no_device_is_paired(hub_server: RunningHub) -> None:
    response = await hub_server.post(SEND, {"to": "+998901234567", "text": "hi"})
    assert_problem(response, 422, "invalid_device")
    assert await message_count(hub_server) == 0


async def test_send_answers_invalid_device_when_device_is_unknown(hub_server: RunningHub) -> None:
    await hub_server.pair("Phone")
    body = {"to": "+998901234567", "text": "hi", "device_id": "dev_NOPE"}
    problem = assert_problem(await hub_server.post(SEND, body), 422, "invalid_device")
    assert problem["field"] == "device_id"


async def test_send_answers_invalid_device_when_sim_slot_is_missing(hub_server: RunningHub) -> None:
    relay = await hub_server.relay("One SIM")
    body = {"to": "+998901234567", "text": "hi", "device_id": relay.device_id, "sim_slot": 1}
    problem = assert_problem(await hub_server.post(SEND, body), 422, "invalid_device")
    assert problem["field"] == "sim_slot"


async def test_send_rejects_text_over_max_parts(hub_server: RunningHub) -> None:
    await hub_server.pair("Phone")
    body = {"to": "+998901234567", "text": "ж" * (67 * hub_server.config.sms.max_parts + 1)}
    problem = assert_problem(await hub_server.post(SEND, body), 422, "validation_error")
    assert problem["errors"][0]["field"] == "text"
    assert "in UCS-2" in problem["errors"][0]["message"]


async def test_status_answers_404_for_unknown_message(hub_server: RunningHub) -> None:
    response = await hub_server.get("/api/v1/messages/status?request_id=req_NOPE")
    assert_problem(response, 404, "not_found")


async def test_status_requires_request_id(hub_server: RunningHub) -> None:
    response = await hub_server.get("/api/v1/messages/status")
    problem = assert_problem(response, 422, "validation_error")
    assert [e["field"] for e in problem["errors"]] == ["request_id"]
    assert problem["errors"][0]["message"].startswith("is required")


async def test_messages_rejects_unknown_status_filter(hub_server: RunningHub) -> None:
    response = await hub_server.get("/api/v1/messages?status=lost")
    problem = assert_problem(response, 422, "validation_error")
    assert problem["errors"][0]["field"] == "status"


async def test_unknown_route_and_wrong_method_get_problem_bodies(hub_server: RunningHub) -> None:
    assert_problem(await hub_server.get("/api/v1/nothing-here"), 404, "not_found")
    response = await hub_server.client.delete(hub_server.base_url + "/api/v1/health")
    assert_problem(response, 405, "method_not_allowed")


async def test_pair_answers_401_for_unknown_code(hub_server: RunningHub) -> None:
    response = await hub_server.post("/api/v1/relay/app/pair", {"pairing_code": "000-000"}, None)
    assert_problem(response, 401, "unauthorized")


async def test_pairing_code_works_once(hub_server: RunningHub) -> None:
    created = (await hub_server.post("/api/v1/relay/pairing-codes", {})).json()
    assert created["qr_svg"].startswith("<svg")
    first = await hub_server.post(
        "/api/v1/relay/app/pair", {"pairing_code": created["pairing_code"]}, None
    )
    again = await hub_server.post(
        "/api/v1/relay/app/pair", {"pairing_code": created["pairing_code"]}, None
    )

    assert first.status_code == 201
    assert first.json()["ws_url"].endswith("/api/v1/relay/ws")
    assert_problem(again, 401, "unauthorized")


async def test_pair_accepts_the_qr_payload(hub_server: RunningHub) -> None:
    created = (await hub_server.post("/api/v1/relay/pairing-codes", {"device_name": "QR"})).json()
    response = await hub_server.post(
        "/api/v1/relay/app/pair", {"qr_payload": created["qr_payload"]}, None
    )
    assert response.status_code == 201
    devices = (await hub_server.get("/api/v1/devices")).json()["items"]
    assert [d["name"] for d in devices] == ["QR"]


async def test_every_response_carries_the_callers_request_id(hub_server: RunningHub) -> None:
    response = await hub_server.client.get(
        hub_server.base_url + "/api/v1/health", headers={"X-Request-Id": "client-id-1234"}
    )
    assert response.headers["x-request-id"] == "client-id-1234"
    assert response.json()["ok"] is True


async def test_pair_answers_429_when_one_address_guesses_too_often(tmp_path) -> None:  # type: ignore[no-untyped-def]
    clock = ManualClock()
    config = hub_config(tmp_path, pairing={"max_failures": 3, "failure_window_s": 60})
    async with serve_hub(config, clock) as running:
        created = (await running.post("/api/v1/relay/pairing-codes", {})).json()
        for guess in ("111-111", "222-222", "333-333"):
            wrong = await running.post("/api/v1/relay/app/pair", {"pairing_code": guess}, None)
            assert_problem(wrong, 401, "unauthorized")

        right = {"pairing_code": created["pairing_code"]}
        braked = await running.post("/api/v1/relay/app/pair", right, None)
        problem = assert_problem(braked, 429, "rate_limited")
        assert int(braked.headers["retry-after"]) == 60
        assert "retry in 60 s" in problem["detail"]

        clock.advance(61)
        assert (await running.post("/api/v1/relay/app/pair", right, None)).status_code == 201


async def test_send_answers_invalid_device_for_a_sim_slot_no_device_has(
    hub_server: RunningHub,
) -> None:
    await hub_server.relay("One SIM")
    body = {"to": "+998901234567", "text": "hi", "sim_slot": 2}
    problem = assert_problem(await hub_server.post(SEND, body), 422, "invalid_device")
    assert problem["field"] == "sim_slot"


async def test_pair_answers_401_for_a_malformed_qr_payload(hub_server: RunningHub) -> None:
    response = await hub_server.post(
        "/api/v1/relay/app/pair", {"qr_payload": "relayhub://[x"}, None
    )
    assert_problem(response, 401, "unauthorized")


async def test_guessing_tokens_gets_429_for_the_address(tmp_path) -> None:  # type: ignore[no-untyped-def]
    clock = ManualClock()
    config = hub_config(tmp_path, auth={"max_failures": 2, "failure_window_s": 60})
    async with serve_hub(config, clock) as running:
        for guess in ("rh_guess_000000000000001", "rh_guess_000000000000002"):
            assert_problem(await running.get("/api/v1/messages", guess), 401, "unauthorized")

        braked = await running.get("/api/v1/messages", "rh_guess_000000000000003")
        assert_problem(braked, 429, "rate_limited")
        assert braked.headers["retry-after"] == "60"
        assert braked.headers["ratelimit-policy"] == '"token-guess";q=2;w=60'
        assert braked.headers["ratelimit"] == '"token-guess";r=0;t=60'
        # A real token from the same address still works: only guesses are braked.
        assert (await running.get("/api/v1/messages")).status_code == 200

        clock.advance(61)
        again = await running.get("/api/v1/messages", "rh_guess_000000000000004")
        assert_problem(again, 401, "unauthorized")
