"""Every endpoint card on /docs and /docs/uz says what /api/v1/openapi.json says:
its error codes with their statuses (each linking to its fix), its parameters
and its request and response fields with the same required-ness. Read from the
served HTML of a real hub, compared with the served document."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import pytest
from starlette.applications import Starlette

from hub.devdocs import page as docs
from tests.docs_page.conftest import ROUTED, Element, Page, parse
from tests.e2e.conftest import RunningHub

PAGES = {"en": "/docs", "uz": "/docs/uz"}


async def served(hub: RunningHub, lang: str) -> tuple[str, Page, dict[str, Any]]:
    page = await hub.client.get(hub.base_url + PAGES[lang])
    spec = await hub.get("/api/v1/openapi.json", token=None)
    assert page.status_code == spec.status_code == 200
    document: dict[str, Any] = spec.json()
    return page.text, parse(page.text), document


# --- what the document says (read here, independently of the page's builder) ---


def deref(spec: Mapping[str, Any], schema: Mapping[str, Any]) -> Mapping[str, Any]:
    while "$ref" in schema:
        node: Any = spec
        for part in schema["$ref"].removeprefix("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def documented_fields(spec: Mapping[str, Any], schema: Mapping[str, Any],
                      prefix: str = "") -> dict[str, bool]:  # fmt: skip
    """Field path → required, nested objects as ``a.b`` and arrays of objects as ``a[].b``."""
    schema = deref(spec, schema)
    required = set(schema.get("required", ()))
    found: dict[str, bool] = {}
    for name, prop in schema.get("properties", {}).items():
        found[prefix + name] = name in required
        for option in (deref(spec, o) for o in prop.get("anyOf", [prop])):
            if "properties" in option:
                found |= documented_fields(spec, option, f"{prefix}{name}.")
            items = deref(spec, option.get("items", {}))
            if option.get("type") == "array" and "properties" in items:
                found |= documented_fields(spec, items, f"{prefix}{name}[].")
    return found


def documented_errors(operation: Mapping[str, Any]) -> set[tuple[str, str]]:
    return {
        (status, code)
        for status, answer in operation["responses"].items()
        for media, content in answer.get("content", {}).items()
        if media == "application/problem+json"
        for code in content["schema"]["properties"]["code"]["enum"]
    }


def json_schema(content: Mapping[str, Any]) -> Mapping[str, Any]:
    schema: Mapping[str, Any] = content.get("application/json", {}).get("schema", {})
    return schema


# --- what the card shows ------------------------------------------------------


def shown_errors(page: Page, card: Element) -> set[tuple[str, str]]:
    shown = set()
    for item in page.all("li", inside=card):
        if item.parent is None or item.parent.attrs.get("class") != "card-errors":
            continue
        status = page.all("span", inside=item, class_="status")
        links = page.all("a", inside=item)
        assert len(status) == len(links) == 1, item.text
        code = links[0].text
        assert links[0].attrs["href"] == f"#{code}"  # to its entry in the error reference
        shown.add((status[0].text, code))
    return shown


def shown_fields(page: Page, card: Element, kind: str, lang: str) -> dict[str, bool]:
    """Field name → required, from the card's table of ``kind`` (its visible words)."""
    words = docs.text()[lang]["reference"]
    tables = page.all("table", inside=card, data_fields=kind)
    assert len(tables) <= 1
    shown: dict[str, bool] = {}
    for row in page.all("tr", inside=tables[0]) if tables else []:
        if row.parent is None or row.parent.tag != "tbody":
            continue
        (name,) = page.all("code", inside=row, class_="field-name")
        (need,) = page.all("span", inside=row, class_="field-required")
        assert need.text in (words["required"], words["optional"]), need.text
        assert name.text not in shown, f"{name.text} twice"
        shown[name.text] = need.text == words["required"]
    return shown


@pytest.mark.parametrize("lang", ["en", "uz"])
async def test_every_card_shows_what_the_openapi_document_says(hub: RunningHub, lang: str) -> None:
    _, page, spec = await served(hub, lang)
    operations = docs.operations(spec)
    errors_section = page.by_id("errors")

    cards = {e.attrs["id"] for e in page.all("article", class_="card endpoint")}
    assert cards == {f"op-{op['operationId']}" for _, _, op in operations}
    for _, _, operation in operations:
        card = page.by_id(f"op-{operation['operationId']}")
        where = operation["operationId"]

        errors = shown_errors(page, card)
        assert errors == documented_errors(operation), where
        for _, code in errors:
            assert page.by_id(code).within(errors_section), code

        parameters = {(p := deref(spec, ref))["name"]: p.get("required", False)
                      for ref in operation["parameters"]}  # fmt: skip
        assert shown_fields(page, card, "parameters", lang) == parameters, where

        body = json_schema(operation.get("requestBody", {}).get("content", {}))
        assert shown_fields(page, card, "request", lang) == documented_fields(spec, body), where

        success = next(s for s in operation["responses"] if s.startswith("2"))
        answer = json_schema(operation["responses"][success].get("content", {}))
        expected = documented_fields(spec, answer) if "$ref" in answer else {}
        assert shown_fields(page, card, "response", lang) == expected, where


async def test_send_sms_card_shows_its_twelve_plus_codes_and_ttl_seconds(
    hub: RunningHub,
) -> None:
    """The report of issue 15: 'Errors: none' and no `ttl_seconds` anywhere."""
    _, page, spec = await served(hub, "en")
    card = page.by_id("op-send_sms")

    codes = {code for _, code in shown_errors(page, card)}
    assert len(codes) >= 12
    assert {"validation_error", "invalid_device", "idempotency_conflict"} <= codes
    fields = shown_fields(page, card, "request", "en")
    assert fields == {"to": True, "text": True, "device_id": False, "sim_slot": False,
                      "ttl_seconds": False}  # fmt: skip
    (slot,) = page.all("tr", inside=card, data_field="sim_slot")
    assert "from 0 to 7" in slot.text and "default null" in " ".join(slot.text.split())
    (ttl,) = page.all("tr", inside=card, data_field="ttl_seconds")
    note = spec["components"]["schemas"]["SendSmsRequest"]["properties"]["ttl_seconds"]
    assert note["description"].replace("`", "") in ttl.text
    # Nesting is shown too: a patch's sub-object and a history's items.
    assert "limits.max_queued" in shown_fields(page, page.by_id("op-update_account"),
                                                "request", "en")  # fmt: skip
    assert "history[].state" in shown_fields(page, page.by_id("op-message_status"),
                                              "response", "en")  # fmt: skip


@pytest.mark.parametrize("lang", ["en", "uz"])
async def test_every_request_field_says_what_it_is_for_in_the_pages_language(
    hub: RunningHub, lang: str
) -> None:
    _, page, spec = await served(hub, lang)
    phrases = docs.text()[lang]["phrases"]

    checked = 0
    for _, _, operation in docs.operations(spec):
        body = deref(spec, json_schema(operation.get("requestBody", {}).get("content", {})))
        card = page.by_id(f"op-{operation['operationId']}")
        tables = page.all("table", inside=card, data_fields="request")
        for name, schema in body.get("properties", {}).items():
            assert schema.get("description"), f"{operation['operationId']}.{name} undescribed"
            said = phrases.get(schema["description"], schema["description"])
            if lang == "uz":
                assert schema["description"] in phrases, schema["description"]
            (row,) = page.all("tr", inside=tables[0], data_field=name)
            assert said.replace("`", "") in " ".join(row.text.split())
            checked += 1
    assert checked >= 40


@pytest.mark.parametrize("lang", ["en", "uz"])
async def test_examples_use_relayhub_token_and_admin_token_only_names_the_start_variable(
    hub: RunningHub, lang: str
) -> None:
    source, page, _ = await served(hub, lang)
    text = " ".join(e.text for e in page.all("main"))

    # Every shell variable holding a token, in the quick start and on every card.
    variables = re.findall(r"\$\{?([A-Z_]*TOKEN)(?!_)", text)  # not $TOKEN_ID
    assert len(variables) > len(docs.operations(docs.document(ROUTED, "x")))
    assert set(variables) == {"RELAYHUB_TOKEN"}
    # The admin token's variable is named once: how to choose it when starting the hub.
    assert re.findall(r"RELAYHUB_ADMIN_TOKEN\S?", text) == ["RELAYHUB_ADMIN_TOKEN="]
    assert "$RELAYHUB_ADMIN_TOKEN" not in source


@pytest.mark.parametrize("lang", ["en", "uz"])
async def test_request_basics_tell_the_http_request_id_from_the_message_id(
    hub: RunningHub, lang: str
) -> None:
    _, page, _ = await served(hub, lang)
    answer = await hub.get("/api/v1/devices")

    rows = [e.attrs["id"] for e in page.all("div", class_="basic")]
    assert rows.index("basics-request-id") == rows.index("basics-auth") + 1  # next to auth
    entry = page.by_id("basics-request-id").text
    assert answer.headers["x-request-id"].startswith("rq_")
    assert "X-Request-Id: rq_" in entry and "req_" in entry and "request_id" in entry


def test_text_from_the_document_is_escaped_never_markup(monkeypatch: pytest.MonkeyPatch) -> None:
    """A description, a default or an enum value with `<` shows as text: the CSP
    would block a script, but markup must not get that far."""
    hostile = '<img src="x"> </td><script>alert(1)</script>'
    real = docs.document

    def document(app: Starlette, origin: str) -> dict[str, Any]:
        spec = real(app, origin)
        props = spec["components"]["schemas"]["SendSmsRequest"]["properties"]
        props["text"]["description"] = hostile
        props["ttl_seconds"]["default"] = hostile
        props["to"]["enum"] = [hostile]
        props["to"]["pattern"] = hostile
        return spec

    monkeypatch.setattr(docs, "document", document)
    docs.render.cache_clear()
    try:
        page = parse(docs.render(ROUTED, "en", "https://sms.example.uz"))
    finally:
        docs.render.cache_clear()

    card = page.by_id("op-send_sms")
    assert not page.all("img", inside=card) and not page.all("script", inside=card)
    assert all(s.attrs.get("src", "").endswith("/docs.js") for s in page.all("script"))
    for name in ("text", "ttl_seconds", "to"):
        (row,) = page.all("tr", inside=card, data_field=name)
        assert "alert(1)" in row.text and "<script>" in row.text, name
