"""NUL and other control characters are refused wherever client text reaches storage.

Issue 16 found ``GET /recipients?q=%00abc`` answered 503 ``storage_unavailable``
(SQLite's full-text parser stopped at the NUL): a bad input must be the
client's 422, naming the field. Every text field of every request, every query
parameter and every path id is held to one rule (``hub.text.rules``): no C0
control character and no DEL; newline, tab and carriage return only where a
text may span lines (an SMS text, a metadata value).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.e2e.conftest import ADMIN_TOKEN, RunningHub, hub_config, serve_hub
from tests.e2e.test_api_errors import assert_problem


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    path: str  # {recipient} {list} {device} {webhook} {account} are filled in
    field: str  # the field the refusal must name
    body: dict[str, Any] | None = None


NUL = "\x00"
# One per field where a client's text is stored or searched.
CASES = [
    Case("recipient name", "POST", "/recipients", "name",
         {"phone": "+998901234001", "name": f"Ali{NUL}"}),
    Case("recipient phone", "POST", "/recipients", "phone", {"phone": f"+99890{NUL}1234002"}),
    Case("recipient tag", "POST", "/recipients", "tags[1]",
         {"phone": "+998901234003", "tags": ["vip", f"a{NUL}b"]}),
    Case("recipient metadata value", "POST", "/recipients", "metadata.city",
         {"phone": "+998901234004", "metadata": {"city": f"Tash{NUL}kent"}}),
    Case("recipient rename", "PATCH", "/recipients/{recipient}", "name", {"name": f"x{NUL}"}),
    Case("recipient search", "GET", f"/recipients?q={quote(NUL)}abc", "q"),
    Case("recipient tag filter", "GET", f"/recipients?tag=v{quote(NUL)}", "tag"),
    Case("recipient cursor", "GET", f"/recipients?cursor={quote(NUL)}", "cursor"),
    Case("recipient id in the path", "GET", f"/recipients/rcp{quote(NUL)}", "recipient_id"),
    Case("list name", "POST", "/recipient-lists", "name", {"name": f"Team{NUL}"}),
    Case("list rename", "PATCH", "/recipient-lists/{list}", "name", {"name": "\x1bTeam"}),
    Case("list member id", "POST", "/recipient-lists/{list}/members", "recipient_ids[0]",
         {"recipient_ids": [f"rcp{NUL}"]}),
    Case("list send text", "POST", "/recipient-lists/queue", "text",
         {"list_id": "{list}", "text": f"Hi{NUL}"}),
    Case("token name", "POST", "/tokens", "name", {"name": f"ci{NUL}", "scopes": ["sms.send"]}),
    Case("device name", "PATCH", "/devices/{device}", "name", {"name": f"Phone{NUL}"}),
    Case("pairing code device name", "POST", "/relay/pairing-codes", "device_name",
         {"device_name": "Phone\x07"}),
    Case("phone model when pairing", "POST", "/relay/app/pair", "model",
         {"pairing_code": "123456", "model": f"Pixel{NUL}"}),
    Case("account name", "POST", "/admin/accounts", "name", {"name": f"Acme{NUL}"}),
    Case("webhook description", "POST", "/webhooks", "description",
         {"url": "http://127.0.0.1:9/hook", "description": f"ops{NUL}"}),
    Case("webhook description change", "PATCH", "/webhooks/{webhook}", "description",
         {"description": "line one\nline two"}),
    Case("sms text", "POST", "/sms/send", "text", {"to": "+998901234567", "text": f"a{NUL}b"}),
    Case("otp purpose", "POST", "/otp/send", "purpose",
         {"to": "+998901234567", "purpose": f"log{NUL}in"}),
    Case("message filter", "GET", f"/messages?to={quote(NUL)}", "to"),
    Case("message status id", "GET", f"/messages/status?request_id=req{quote(NUL)}",
         "request_id"),
    Case("event types filter", "GET", f"/events?types=message.sent{quote(NUL)}", "types"),
]  # fmt: skip


@dataclass
class Made:
    hub: RunningHub
    ids: dict[str, str]


@pytest.fixture
async def made(tmp_path: Path) -> AsyncIterator[Made]:
    config = hub_config(tmp_path, webhooks={"allow_private_targets": True})
    async with serve_hub(config) as hub:
        await hub.relay("phone")
        recipient = await hub.post("/api/v1/recipients", {"phone": "+998901230000"})
        listed = await hub.post("/api/v1/recipient-lists", {"name": "Team"})
        webhook = await hub.post("/api/v1/webhooks", {"url": "http://127.0.0.1:9/hook"})
        devices = (await hub.get("/api/v1/devices")).json()["items"]
        ids = {
            "recipient": recipient.json()["id"],
            "list": listed.json()["id"],
            "webhook": webhook.json()["id"],
            "device": devices[0]["id"],
        }
        yield Made(hub, ids)


def _filled(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format(**ids) if value.startswith("{") else value
    if isinstance(value, dict):
        return {k: _filled(v, ids) for k, v in value.items()}
    return value


async def _call(made: Made, case: Case) -> httpx.Response:
    hub = made.hub
    url = hub.base_url + "/api/v1" + case.path.format(**made.ids)
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    body = _filled(case.body, made.ids) if case.body is not None else None
    return await hub.client.request(case.method, url, json=body, headers=headers)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
async def test_a_control_character_is_a_422_naming_the_field(made: Made, case: Case) -> None:
    response = await _call(made, case)

    problem = assert_problem(response, 422, "validation_error")
    named = {e["field"]: e["message"] for e in problem["errors"]}
    assert case.field in named, problem
    assert "control character" in named[case.field]
    assert "remove it" in named[case.field]


async def test_newlines_and_tabs_stay_allowed_where_a_text_spans_lines(made: Made) -> None:
    hub = made.hub
    recipient = await hub.post(
        "/api/v1/recipients",
        {"phone": "+998901239999", "metadata": {"address": "Street 1\r\n\tFlat 2"}},
    )
    sent = await hub.post("/api/v1/sms/send", {"to": "+998901234567", "text": "Hi\n\tthere"})

    assert recipient.status_code == 201, recipient.text
    assert recipient.json()["metadata"]["address"] == "Street 1\r\n\tFlat 2"
    assert sent.status_code == 202, sent.text


async def test_a_control_character_in_a_csv_cell_rejects_that_line_only(made: Made) -> None:
    hub = made.hub
    csv = (
        "phone,name,tags,note\n"
        "+998901231001,Ali,vip,fine\n"
        f"+998901231002,Va{NUL}li,,\n"
        f"+998901231003,Bobur,a\x1bb,\n"
        '+998901231004,Olim,,"two\nlines"\n'
    )
    response = await hub.client.post(
        hub.base_url + "/api/v1/recipients/import",
        content=csv.encode(),
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}", "Content-Type": "text/csv"},
    )
    found = await hub.get("/api/v1/recipients?q=998901231")

    assert response.status_code == 200, response.text
    answer = response.json()
    assert (answer["created"], answer["rejected"]) == (2, 2)
    reasons = {e["line"]: e["reason"] for e in answer["errors"]}
    assert reasons[3].startswith("name: has a control character (U+0000)")
    assert reasons[4].startswith("tags: has a control character (U+001B)")
    phones = sorted(r["phone"] for r in found.json()["items"])
    assert phones == ["+998901231001", "+998901231004"]
