"""Bad requests over the real server: every refusal in the hub's own words, nothing stored.

Each row is one bad request; its answer must be a 422 ``validation_error``
naming exactly the fields at fault, each message must say how to fix it (the
allowed values, the limits, an example), and the database must be as it was.
The 401/403 table checks that a refused token is told which case it is and
how to get one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from hub.clock import ManualClock, rfc3339
from tests.e2e.conftest import ADMIN_TOKEN, RunningHub, hub_config, serve_hub
from tests.e2e.test_api_errors import assert_problem

API = "/api/v1"
GOOD_TO = "+998901234567"
GET_A_TOKEN = "relayhub token create"
LOOPBACK_HOOK = "http://127.0.0.1:9/hook"  # refused by default: an internal address

# Everything a refused write could have touched; tokens without last_used_at,
# which an accepted token's use updates.
_TABLES = (
    "messages", "otps", "otp_checks", "recipients", "recipient_lists", "list_members",
    "webhook_endpoints", "devices", "batches", "idempotency_keys", "events",
)  # fmt: skip


@dataclass(frozen=True)
class Bad:
    """One bad request and what its refusal must say, per field."""

    method: str
    path: str  # may name {device_id}, {list_id}, {recipient_id}
    body: Any
    says: dict[str, tuple[str, ...]]  # field → substrings its message must hold
    raw: bytes | None = field(default=None)


CASES = {
    # POST /v1/sms/send
    "sms_empty_text": Bad("POST", "/sms/send", {"to": GOOD_TO, "text": ""},
                          {"text": ("must not be empty", "at least 1 character")}),
    "sms_blank_text": Bad("POST", "/sms/send", {"to": GOOD_TO, "text": "   "},
                          {"text": ("is blank", "write the words to send")}),
    "sms_nul_in_text": Bad("POST", "/sms/send", {"to": GOOD_TO, "text": "hi\x00there"},
                           {"text": ("U+0000", "position 2", "only newline, tab")}),
    "sms_too_long": Bad("POST", "/sms/send", {"to": GOOD_TO, "text": "a" * 2000},
                        {"text": ("2000 characters", "14 SMS parts in GSM-7", "153 per part",
                                  "at most 10 parts ([sms] max_parts)",
                                  "at most 1530 GSM-7 characters")}),
    "sms_other_api_field_names": Bad(
        "POST", "/sms/send", {"phone": GOOD_TO, "message": "hi"},
        {"to": ("is required", "you sent `phone`"), "text": ("is required", "you sent `message`"),
         "phone": ("did you mean `to`?",), "message": ("did you mean `text`?",)}),
    "sms_national_number_with_a_trunk_zero": Bad(
        "POST", "/sms/send", {"to": "0901234567", "text": "hi"},
        {"to": ("in UZ", "the region assumed", "no leading 0", "write +998901234567")}),
    "sms_national_number_one_digit_short": Bad(
        "POST", "/sms/send", {"to": "90123456", "text": "hi"},
        {"to": ("in UZ, the region assumed", "E.164", "+998912345678", "91 234 56 78")}),
    "sms_number_as_a_number": Bad("POST", "/sms/send", {"to": 998901234567, "text": "hi"},
                                  {"to": ("must be a string", "got a number")}),
    "sms_sim_slot_out_of_range": Bad("POST", "/sms/send", {"to": GOOD_TO, "text": "hi",
                                                           "sim_slot": 9},
                                     {"sim_slot": ("a whole number from 0 to 7", "got 9")}),
    "sms_body_not_json": Bad("POST", "/sms/send", None, {"body": ("not valid JSON",
                                                                  "check its quotes")},
                             raw=b'{"to": "+998901234567", "text": "hi",}'),
    # POST /v1/otp/send and /v1/otp/verify
    "otp_unknown_locale": Bad("POST", "/otp/send",
                              {"to": GOOD_TO, "purpose": "login", "locale": "fr"},
                              {"locale": ('"en", "ru", "uz"', 'got the string "fr"')}),
    "otp_locale_in_capitals": Bad("POST", "/otp/send",
                                  {"to": GOOD_TO, "purpose": "login", "locale": "RU"},
                                  {"locale": ('did you mean "ru"?',)}),
    "otp_length_out_of_range": Bad("POST", "/otp/send",
                                   {"to": GOOD_TO, "purpose": "login", "length": 12},
                                   {"length": ("a whole number from 4 to 8", "got 12")}),
    "otp_missing_purpose": Bad("POST", "/otp/send", {"to": GOOD_TO},
                               {"purpose": ("is required", "e.g. \"login\"")}),
    "otp_code_as_a_number": Bad("POST", "/otp/verify", {"otp_id": "otp_1", "code": 482913},
                                {"code": ("a string of 4 to 8 digits", 'e.g. "482913"',
                                          "got a number")}),
    "otp_code_with_letters": Bad("POST", "/otp/verify", {"otp_id": "otp_1", "code": "48a9"},
                                 {"code": ("a string of 4 to 8 digits",)}),
    # /v1/recipient-lists
    "list_empty_name": Bad("POST", "/recipient-lists", {"name": ""},
                           {"name": ("must not be empty",)}),
    "list_ids_as_a_string": Bad("POST", "/recipient-lists",
                                {"name": "VIP", "recipient_ids": "rcp_1"},
                                {"recipient_ids": ("must be a list", "got the string")}),
    "list_rename_with_title": Bad("PATCH", "/recipient-lists/{list_id}", {"title": "VIP"},
                                  {"name": ("is required", "you sent `title`"),
                                   "title": ("did you mean `name`?", "the fields are: name")}),
    "list_queue_blank_text": Bad("POST", "/recipient-lists/queue",
                                 {"list_id": "{list_id}", "text": "\n \t"},
                                 {"text": ("is blank",)}),
    # /v1/recipients
    "recipient_invalid_phone": Bad("POST", "/recipients", {"phone": "12"},
                                   {"phone": ("UZ", "+998912345678")}),
    "recipient_empty_tag": Bad("POST", "/recipients", {"phone": GOOD_TO, "tags": ["vip", ""]},
                               {"tags[1]": ("must not be empty",)}),
    "recipient_bad_metadata_key": Bad(
        "POST", "/recipients", {"phone": GOOD_TO, "metadata": {"1st": "x"}},
        {"metadata.1st": ("letters, digits and _", 'e.g. "city"')}),
    "recipient_patch_phone_number": Bad("PATCH", "/recipients/{recipient_id}", {"phone": 5},
                                        {"phone": ("must be a string", "got a number (5)")}),
    # /v1/webhooks
    "webhook_unknown_event_and_internal_url": Bad(
        "POST", "/webhooks", {"url": LOOPBACK_HOOK, "events": ["message.sentt"]},
        {"events": ("message.sentt", "choose from", "message.sent"),
         "url": ("internal address", "allow_private_targets = true")}),
    "webhook_url_as_a_number": Bad("POST", "/webhooks", {"url": 42},
                                   {"url": ("must be a string", "got a number")}),
    "webhook_enabled_as_text": Bad("POST", "/webhooks",
                                   {"url": LOOPBACK_HOOK, "enabled": "yes"},
                                   {"enabled": ("true or false", 'got the string "yes"')}),
    # /v1/tokens
    "token_scopes_as_a_string": Bad("POST", "/tokens", {"name": "ci", "scopes": "sms.send"},
                                    {"scopes": ("must be a list", "each item a string")}),
    "token_expiry_not_a_time": Bad("POST", "/tokens",
                                   {"name": "ci", "scopes": ["sms.send"], "expires_at": "soon"},
                                   {"expires_at": ("RFC 3339", "2027-01-01T09:30:00Z")}),
    "token_unknown_scope": Bad("POST", "/tokens", {"name": "ci", "scopes": ["sms.sned"]},
                               {"scopes": ("sms.sned", "choose from", "sms.send")}),
    # /v1/devices
    "device_disabled_as_text": Bad("PATCH", "/devices/{device_id}", {"disabled": "yes"},
                                   {"disabled": ("true or false",)}),
    "device_nickname": Bad("PATCH", "/devices/{device_id}", {"nickname": "Kassa"},
                           {"nickname": ("did you mean `name`?",)}),
    # /v1/messages
    "status_without_request_id": Bad("GET", "/messages/status", None,
                                     {"request_id": ("is required", "?request_id=req_")}),
    "messages_unknown_status": Bad("GET", "/messages?status=done", None,
                                   {"status": ("queued", "delivered", "got 'done'")}),
    "messages_limit_not_a_number": Bad("GET", "/messages?limit=lots", None,
                                       {"limit": ("a whole number from 1 to 500",)}),
}  # fmt: skip


async def _snapshot(hub: RunningHub) -> dict[str, list[tuple[Any, ...]]]:
    store = hub.hub.store
    await store.barrier()
    tables = {t: [tuple(r) for r in await store.fetchall(f"SELECT * FROM {t}")] for t in _TABLES}
    tables["tokens"] = [
        tuple(r) for r in await store.fetchall("SELECT id, name, scopes, revoked_at FROM tokens")
    ]
    return tables


async def _seed(hub: RunningHub) -> dict[str, str]:
    """One of each thing a bad request may point at: a device, a recipient, a list."""
    device = await hub.pair("Kassa 1")
    recipient = await hub.post(f"{API}/recipients", {"phone": GOOD_TO, "name": "Aziz"})
    assert recipient.status_code == 201, recipient.text
    made = await hub.post(f"{API}/recipient-lists",
                          {"name": "VIP", "recipient_ids": [recipient.json()["id"]]})  # fmt: skip
    assert made.status_code == 201, made.text
    return {"device_id": device.device_id, "recipient_id": recipient.json()["id"],
            "list_id": made.json()["id"]}  # fmt: skip


def _filled(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format(**ids) if "{" in value else value
    if isinstance(value, dict):
        return {k: _filled(v, ids) for k, v in value.items()}
    return value


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
async def test_bad_request_is_refused_in_the_hubs_words_and_stores_nothing(
    hub_server: RunningHub, case: Bad
) -> None:
    ids = await _seed(hub_server)
    before = await _snapshot(hub_server)
    url = hub_server.base_url + API + _filled(case.path, ids)
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    if case.raw is not None:
        headers["Content-Type"] = "application/json"
        response = await hub_server.client.request(case.method, url, content=case.raw,
                                                   headers=headers)  # fmt: skip
    elif case.body is None:
        response = await hub_server.client.request(case.method, url, headers=headers)
    else:
        response = await hub_server.client.request(
            case.method, url, json=_filled(case.body, ids), headers=headers
        )

    problem = assert_problem(response, 422, "validation_error")
    messages = {e["field"]: e["message"] for e in problem["errors"]}
    assert sorted(messages) == sorted(case.says), problem["errors"]
    for name, parts in case.says.items():
        for part in parts:
            assert part in messages[name], (name, messages[name])
        assert f"{name}: {messages[name]}" in problem["detail"]  # the detail names them all
    assert "Expected `" not in response.text  # no library wording left
    assert await _snapshot(hub_server) == before


@pytest.mark.parametrize(
    ("header", "says"),
    [
        (None, "no Authorization header"),
        ("Basic dXNlcjpwYXNz", "not a Bearer token (it uses 'Basic')"),
        (ADMIN_TOKEN, "bare token: put 'Bearer ' before it"),
        ("Bearer", "no token follows"),
        ("Bearer rh_this_token_was_never_made_0000000000", "unknown or revoked"),
        ("Bearer rhd_a_relay_device_token_000000000000000", "relay device's token"),
    ],
    ids=["no_header", "basic", "bare_token", "empty_bearer", "unknown", "device_token"],
)
async def test_unauthorized_says_which_case_and_how_to_get_a_token(
    hub_server: RunningHub, header: str | None, says: str
) -> None:
    headers = {"Authorization": header} if header is not None else {}

    response = await hub_server.client.get(f"{hub_server.base_url}{API}/messages",
                                           headers=headers)  # fmt: skip

    problem = assert_problem(response, 401, "unauthorized")
    assert says in problem["detail"]
    assert GET_A_TOKEN in problem["detail"] and "Tokens" in problem["detail"]
    assert "rh_this_token" not in problem["detail"] and "dXNlcjpwYXNz" not in problem["detail"]


async def test_unauthorized_says_expired_with_the_time_when_a_token_has_expired(
    tmp_path: Path,
) -> None:
    clock = ManualClock()
    async with serve_hub(hub_config(tmp_path), clock) as running:
        expires = clock.now() + timedelta(hours=1)
        made = await running.post(f"{API}/tokens", {"name": "ci", "scopes": ["messages.read"],
                                                    "expires_at": rfc3339(expires)})  # fmt: skip
        token = made.json()["token"]
        clock.advance(3601)

        problem = assert_problem(await running.get(f"{API}/messages", token), 401, "unauthorized")

    assert f"expired at {rfc3339(expires)}" in problem["detail"]
    assert GET_A_TOKEN in problem["detail"]


async def test_forbidden_names_the_scope_needed_and_how_to_get_it(hub_server: RunningHub) -> None:
    made = await hub_server.post(f"{API}/tokens", {"name": "reader", "scopes": ["messages.read"]})
    token = made.json()["token"]
    before = await _snapshot(hub_server)

    response = await hub_server.post(f"{API}/sms/send", {"to": GOOD_TO, "text": "hi"}, token)

    problem = assert_problem(response, 403, "forbidden")
    assert problem["missing_scope"] == "sms.send"
    assert "lacks the 'sms.send' scope" in problem["detail"]
    assert "relayhub token create NAME --scope sms.send" in problem["detail"]
    assert await _snapshot(hub_server) == before
