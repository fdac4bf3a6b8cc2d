"""Schemathesis against the live OpenAPI document: every operation, no server error,
and every answer matches its documented status, content type and schema.

Before the run the test creates one of each resource (a recipient, a list, a
batch, a webhook and a delivery, a token, an account, a device, a message) and
hands their ids to Schemathesis as dictionaries for the path and query
parameters, so most calls reach the code behind the 404. The live event stream
never ends by itself: Schemathesis reads it for a short request timeout and
stops.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from hub.accounts.tokens import SCOPES
from tests.e2e.conftest import ADMIN_TOKEN, RunningHub, delivered_ids, hub_config, serve_hub

pytestmark = pytest.mark.both_backends  # a route or a state change (conftest.py)

ST = Path(sys.executable).with_name("st")
CHECKS = (
    "not_a_server_error,status_code_conformance,content_type_conformance,"
    "response_schema_conformance"
)
EVENTS = "/api/v1/events"


async def created_id(hub: RunningHub, path: str, body: dict[str, Any], key: str = "id") -> str:
    response = await hub.post(path, body)
    assert response.status_code in (200, 201, 202), response.text
    value: str = response.json()[key]
    return value


async def pairing_code(hub: RunningHub) -> str:
    response = await hub.post("/api/v1/relay/pairing-codes", {"device_name": "Schema"})
    assert response.status_code == 201, response.text
    code: str = response.json()["pairing_code"]
    return code


async def resource_ids(hub: RunningHub) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Values for the parameters that name a resource: those every operation may
    use, and those only DELETE operations get, so a delete early in the run does
    not leave the other operations with a 404."""
    relay = await hub.relay("A")  # sends can reach a phone, so their paths run whole
    webhook_url = "http://127.0.0.1:9/hook"  # nothing listens: deliveries fail and retry
    shared: dict[str, list[str]] = {}
    deletable: dict[str, list[str]] = {}
    for n, ids in enumerate((shared, deletable)):
        recipient = await created_id(
            hub, "/api/v1/recipients", {"phone": f"+99890111000{n}", "name": "Schema"}
        )
        list_id = await created_id(
            hub, "/api/v1/recipient-lists", {"name": "schema", "recipient_ids": [recipient]}
        )
        ids["path.recipient_id"] = [recipient]
        ids["path.list_id"] = [list_id]
        ids["path.webhook_id"] = [await created_id(hub, "/api/v1/webhooks", {"url": webhook_url})]
        # The one Schemathesis may disable or delete: relay A keeps working.
        ids["path.device_id"] = [(await hub.pair("Schema")).device_id]
    batch = await created_id(
        hub, "/api/v1/recipient-lists/queue", {"list_id": list_id, "text": "hi"}, "batch_id"
    )
    # A token and an account made for the run: revoking or disabling them
    # leaves the admin token that every call uses.
    token = await created_id(hub, "/api/v1/tokens", {"name": "schema", "scopes": list(SCOPES)})
    account = await created_id(hub, "/api/v1/admin/accounts", {"name": "Schema"}, "account_id")
    otp = await created_id(
        hub, "/api/v1/otp/send", {"to": "+998901110009", "purpose": "login"}, "otp_id"
    )
    message = await hub.send(text="schemathesis")
    await relay.wait_until(lambda: message in delivered_ids(relay))
    await hub.hub.store.write(lambda conn: None)  # the events' deliveries are stored by now
    deliveries = (await hub.get("/api/v1/webhooks/deliveries?limit=5")).json()["items"]
    assert deliveries, "the message's events made no webhook delivery"
    shared |= {
        "query.device_id": [relay.device_id],
        "query.endpoint_id": shared["path.webhook_id"],
        "path.delivery_id": [d["id"] for d in deliveries],
        "path.batch_id": [batch],
        "path.token_id": [token],
        "path.account_id": [account],
        "query.request_id": [message],
        # Bodies that pass the hub's own checks (a phone number, a list, a code).
        "body.to": ["+998901234567", "+998 90 123 45 67"],
        "body.phone": ["+998901110005", "901110006"],
        "body.url": [webhook_url],
        "body.list_id": shared["path.list_id"],
        "body.recipient_ids[*]": shared["path.recipient_id"],
        "body.scopes[*]": list(SCOPES),
        "body.otp_id": [otp],
        "body.pairing_code": [await pairing_code(hub) for _ in range(3)],
    }
    return shared, deletable


def _bindings(ids: dict[str, list[str]], names: list[str]) -> list[str]:
    lines = []
    for parameter in ids:
        name = f"ids{len(names)}"
        names.append(name)
        lines.append(f'"{parameter}" = {{ dictionary = "{name}", probability = 0.8 }}')
    return lines


def config_file(path: Path, shared: dict[str, list[str]], deletable: dict[str, list[str]]) -> Path:
    """schemathesis.toml: real ids most of the time, and a short read of the event stream."""
    names: list[str] = []
    parameters = ["[parameters]", *_bindings(shared, names)]
    deletes = [
        "[[operations]]",
        'include-method = "DELETE"',
        "[operations.parameters]",
        *_bindings(deletable, names),
    ]
    events = [
        "[[operations]]",
        f'include-path = "{EVENTS}"',
        "request-timeout = 0.3",
        "max-stream-events = 1",
    ]
    values = [*shared.values(), *deletable.values()]
    dictionaries = [
        f"[dictionaries.{name}]\nvalues = {json.dumps(v)}"
        for name, v in zip(names, values, strict=True)
    ]
    sections = ["\n".join(parameters), *dictionaries, "\n".join(deletes), "\n".join(events)]
    path.write_text("\n\n".join(sections) + "\n")
    return path


async def test_schemathesis_finds_no_server_error_and_no_answer_off_the_document(
    tmp_path: Path,
) -> None:
    config = hub_config(tmp_path / "data", webhooks={"allow_private_targets": True})
    async with serve_hub(config) as hub:
        shared, deletable = await resource_ids(hub)
        toml = config_file(tmp_path / "schemathesis.toml", shared, deletable)
        document = (await hub.get("/api/v1/openapi.json")).json()
        process = await asyncio.create_subprocess_exec(
            str(ST), "--config-file", str(toml), "run", f"{hub.base_url}/api/v1/openapi.json",
            "--checks", CHECKS, "--max-examples", "8", "--seed", "20261127",
            "--phases", "examples,coverage,fuzzing",
            "-H", f"Authorization: Bearer {ADMIN_TOKEN}",  # every scope, admin too
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        output, _ = await process.communicate()
    report = output.decode(errors="replace")
    summary = report[report.rfind("SUMMARY") :]
    failures = report.find("FAILURES")  # what failed, how to reproduce it
    assert process.returncode == 0, report[failures:][:8000] if failures >= 0 else report[-3000:]
    operations = sum(
        method in ("get", "post", "put", "patch", "delete")
        for item in document["paths"].values()
        for method in item
    )
    assert re.search(rf"Selected: {operations}/{operations}\b", summary), summary
    assert re.search(rf"Tested: {operations}\b", summary), summary
    cases = re.search(r"(\d+) generated, (\d+) passed", summary)
    assert cases is not None and cases[1] == cases[2], summary
    print(f"schemathesis: {operations} operations, {cases[1]} test cases")  # for -s runs
