"""A Postman collection (v2.1) made from the OpenAPI document.

``collection(document)`` turns the document that ``hub.devdocs.openapi.build``
returns into one folder per tag, plus a "Main flows" folder whose requests run
in order and test themselves: health, send an SMS (its ``request_id`` is saved
to a collection variable), ask for its status, send an OTP (``otp_id`` saved)
and verify it. Every URL starts with ``{{baseUrl}}`` and every request that
needs a token authenticates with the ``{{token}}`` variable, so importing the
file and setting ``token`` is all a developer has to do.

Request bodies come from ``hub.devdocs.bodies``, the table /docs and the
examples read too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import urlsplit

from hub.devdocs.bodies import EXAMPLE_CSV, example_body

SCHEMA: Final = "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"
MAIN_FLOWS: Final = "Main flows"
FLOW: Final = ("health", "send_sms", "message_status", "send_otp", "verify_otp")

# Fields that take a collection variable in Postman, so the flows chain.
_VARIABLE_FIELDS: Final = {"verify_otp": {"otp_id": "{{otp_id}}"}}
# Query and path values read from the collection's variables (the last send's id).
_QUERY_VALUES: Final = {
    ("message_status", "request_id"): "{{request_id}}",
    ("cancel_message", "request_id"): "{{request_id}}",
}


def collection(
    document: dict[str, Any], base_url: str, folder_names: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The Postman collection of an OpenAPI document from ``hub.devdocs.openapi.build``.

    ``base_url`` becomes ``{{baseUrl}}`` (e.g. ``https://sms.example.uz/api/v1``:
    request paths are written relative to it); ``folder_names`` maps a tag to its
    folder's name (default: the tag itself).
    """
    names = folder_names or {}
    base_url = base_url.rstrip("/")
    base_path = urlsplit(base_url).path
    operations: dict[str, tuple[str, str, dict[str, Any]]] = {}
    folders: dict[str, list[dict[str, Any]]] = {}
    for path, item in document["paths"].items():
        for method, operation in item.items():
            relative = path.removeprefix(base_path) if path.startswith(base_path + "/") else path
            operations[operation["operationId"]] = (method, relative, operation)
            folders.setdefault(operation["tags"][0], []).append(
                _item(document, method, relative, operation)
            )
    flow = [_item(document, *operations[op]) for op in FLOW if op in operations]
    return {
        "info": {
            "name": document["info"]["title"],
            "description": (
                f"{document['info']['description']}\n\nGenerated from the hub's OpenAPI document"
                " (GET /api/v1/openapi.json). Set the `token` variable to an access token"
                f' (`rh_…`), then run the "{MAIN_FLOWS}" folder: it sends an SMS and an OTP'
                " through a paired, online phone and checks the answers."
            ),
            "version": document["info"]["version"],
            "schema": SCHEMA,
        },
        "auth": _bearer(),
        "variable": [
            _variable(
                "baseUrl", base_url, "the hub's API root, e.g. https://sms.example.uz/api/v1"
            ),
            _variable("token", "", "an access token (rh_…) with the scopes the requests need"),
            _variable("request_id", "", "set by Send SMS; read by Message status and Cancel"),
            _variable("otp_id", "", "set by Send OTP; read by Verify OTP"),
        ],
        "item": [
            {
                "name": MAIN_FLOWS,
                "description": "Run in order against a hub with a paired, online phone.",
                "item": flow,
            },
            *({"name": names.get(tag, tag), "item": items} for tag, items in folders.items()),
        ],
    }


def _variable(key: str, value: str, description: str) -> dict[str, str]:
    return {"key": key, "value": value, "type": "string", "description": description}


def _bearer() -> dict[str, Any]:
    return {"type": "bearer", "bearer": [{"key": "token", "value": "{{token}}", "type": "string"}]}


def _item(
    document: dict[str, Any], method: str, path: str, operation: dict[str, Any]
) -> dict[str, Any]:
    op_id = operation["operationId"]
    request: dict[str, Any] = {
        "method": method.upper(),
        "header": [],
        "url": _url(op_id, path, operation),
        "description": operation.get("description", operation["summary"]),
    }
    if operation.get("security") == []:
        request["auth"] = {"type": "noauth"}
    content = operation.get("requestBody", {}).get("content", {})
    if "application/json" in content:
        body = {**(example_body(op_id) or {}), **_VARIABLE_FIELDS.get(op_id, {})}
        request["header"].append({"key": "Content-Type", "value": "application/json"})
        request["body"] = {
            "mode": "raw",
            "raw": json.dumps(body, indent=2, ensure_ascii=False),
            "options": {"raw": {"language": "json"}},
        }
    elif "text/csv" in content:
        request["header"].append({"key": "Content-Type", "value": "text/csv"})
        request["body"] = {"mode": "raw", "raw": EXAMPLE_CSV}
    if any(p.get("$ref", "").endswith("/IdempotencyKey") for p in operation["parameters"]):
        request["header"].append({
            "key": "Idempotency-Key",
            "value": "{{$guid}}",
            "description": "a retry with the same key gets the first answer, not a second SMS",
            "disabled": True,
        })  # fmt: skip
    item: dict[str, Any] = {"name": operation["summary"], "request": request, "response": []}
    tests = _tests(document, op_id)
    if tests:
        item["event"] = [{"listen": "test", "script": {"type": "text/javascript", "exec": tests}}]
    return item


def _url(op_id: str, path: str, operation: dict[str, Any]) -> dict[str, Any]:
    postman_path = re.sub(r"\{([A-Za-z_]+)\}", r":\1", path)
    query = [
        {
            "key": p["name"],
            "value": _QUERY_VALUES.get((op_id, p["name"]), ""),
            "description": p.get("description", ""),
            **({} if p["required"] else {"disabled": True}),
        }
        for p in operation["parameters"]
        if p.get("in") == "query"
    ]
    enabled = "&".join(f"{q['key']}={q['value']}" for q in query if not q.get("disabled"))
    url: dict[str, Any] = {
        "raw": "{{baseUrl}}" + postman_path + (f"?{enabled}" if enabled else ""),
        "host": ["{{baseUrl}}"],
        "path": [segment for segment in postman_path.split("/") if segment],
    }
    if query:
        url["query"] = query
    variables = [p["name"] for p in operation["parameters"] if p.get("in") == "path"]
    if variables:
        url["variable"] = [
            {"key": name, "value": _QUERY_VALUES.get((op_id, name), ""), "description": "an id"}
            for name in variables
        ]
    return url


def _enum(document: dict[str, Any], schema: str, field: str) -> list[str]:
    values: list[str] = document["components"]["schemas"][schema]["properties"][field]["enum"]
    return values


def _tests(document: dict[str, Any], op_id: str) -> list[str]:
    """pm.test scripts of the main flows (empty for every other operation)."""
    if op_id == "health":
        return _test("Health answers 200 with status ok", 200, [
            'pm.expect(body.status).to.eql("ok");',
        ])  # fmt: skip
    if op_id == "send_sms":
        return _test("Send SMS answers 202 with a request_id", 202, [
            'pm.expect(body.status).to.eql("queued");',
            "pm.expect(body.request_id).to.match(/^req_/);",
            'pm.collectionVariables.set("request_id", body.request_id);',
        ])  # fmt: skip
    if op_id == "message_status":
        statuses = json.dumps(_enum(document, "MessageStatus", "status"))
        return _test("Message status answers 200 with a known status", 200, [
            'pm.expect(body.request_id).to.eql(pm.collectionVariables.get("request_id"));',
            f"pm.expect({statuses}).to.include(body.status);",
        ])  # fmt: skip
    if op_id == "send_otp":
        return _test("Send OTP answers 200 with an otp_id", 200, [
            'pm.expect(body.status).to.eql("sent");',
            "pm.expect(body.otp_id).to.match(/^otp_/);",
            'pm.collectionVariables.set("otp_id", body.otp_id);',
        ])  # fmt: skip
    if op_id == "verify_otp":
        statuses = json.dumps(_enum(document, "OtpVerification", "status"))
        return _test("Verify OTP answers 200 with a known status", 200, [
            'pm.expect(body.otp_id).to.eql(pm.collectionVariables.get("otp_id"));',
            f"pm.expect({statuses}).to.include(body.status);",
        ])  # fmt: skip
    return []


def _test(name: str, status: int, checks: list[str]) -> list[str]:
    return [
        f"pm.test({json.dumps(name)}, function () {{",
        f"    pm.response.to.have.status({status});",
        "    const body = pm.response.json();",
        "    pm.expect(body.ok).to.eql(true);",
        *(f"    {line}" for line in checks),
        "});",
    ]
