"""/docs and /docs/uz as a client gets them from a running hub: the strict CSP,
every operation of the OpenAPI document and every error code, the hub's real
base URL, and a language switch that links both ways."""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

import msgspec
import pytest

from hub.api.errors import ERRORS
from hub.api.schemas import MessageStatus, OtpSent, OtpVerification, Problem, SmsQueued
from hub.devdocs import page as docs
from hub.events.outbox import EVENT_TYPES
from tests.docs_page.conftest import CSP, ROUTED, Page, parse
from tests.e2e.conftest import RunningHub, hub_config, serve_hub

PAGES = {"en": "/docs", "uz": "/docs/uz"}


async def fetch(hub: RunningHub, path: str) -> tuple[str, Page]:
    response = await hub.client.get(hub.base_url + path)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["content-security-policy"] == CSP
    return response.text, parse(response.text)


async def spec_of(hub: RunningHub) -> dict[str, Any]:
    response = await hub.get("/api/v1/openapi.json", token=None)
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


@pytest.mark.parametrize("lang", ["en", "uz"])
async def test_docs_answers_html_with_the_pages_csp_and_its_language(
    hub: RunningHub, lang: str
) -> None:
    source, page = await fetch(hub, PAGES[lang])

    assert page.all("html")[0].attrs["lang"] == lang
    assert len(page.all("h1")) == 1
    for landmark in ("header", "main", "footer"):
        assert len(page.all(landmark)) == 1, landmark
    assert page.all("meta", name="viewport")
    # Nothing inline: the CSP would block it (and the browser test would see it).
    assert all("src" in s.attrs for s in page.all("script"))
    assert not page.all("style")
    assert not re.search(r"\sstyle=|\son[a-z]+=", source)


@pytest.mark.parametrize("lang", ["en", "uz"])
async def test_docs_has_a_card_for_every_operation_of_the_openapi_document(
    hub: RunningHub, lang: str
) -> None:
    spec = await spec_of(hub)
    _, page = await fetch(hub, PAGES[lang])

    operations = docs.operations(spec)
    assert len(operations) >= 40
    for method, path, operation in operations:
        card = page.by_id(f"op-{operation['operationId']}")
        assert card.tag == "article"
        title = page.by_id(f"op-{operation['operationId']}-title").text
        assert title.split() == [method.upper(), path]
        scope = re.match(r"Scope: `([^`]+)`", operation.get("description", ""))
        assert scope is None or scope.group(1) in card.text
        for ref in re.findall(r'"#/components/schemas/(\w+)"', str(operation)):
            if ref != "Problem":
                assert ref in card.text, (path, ref)
        for parameter in operation["parameters"]:
            assert parameter.get("name", "Idempotency-Key") in card.text
    assert len(page.all("article")) == len(operations)


@pytest.mark.parametrize("lang", ["en", "uz"])
async def test_docs_lists_every_error_code_with_its_fix(hub: RunningHub, lang: str) -> None:
    _, page = await fetch(hub, PAGES[lang])

    for code, (status, _) in ERRORS.items():
        entry = page.by_id(code)  # the anchor a problem body's `type` points at
        fix = html.unescape(docs.text()[lang]["errors"]["fixes"][code])
        assert code in entry.text and str(status) in entry.text
        assert re.sub(r"`", "", fix) in " ".join(entry.text.split())


async def test_docs_shows_the_base_url_of_the_request_when_no_public_url_is_set(
    hub: RunningHub,
) -> None:
    source, page = await fetch(hub, "/docs")

    base_urls = {e.text for e in page.all("code", class_="base-url")}
    assert base_urls == {f"{hub.base_url}/api/v1"}
    assert f"curl -s {hub.base_url}/api/v1/sms/send" in html.unescape(source)


async def test_docs_and_postman_show_the_public_url_when_one_is_set(tmp_path: Path) -> None:
    config = hub_config(tmp_path / "data", server={"public_url": "https://sms.example.uz/"})
    async with serve_hub(config) as hub:
        source, page = await fetch(hub, "/docs/uz")
        collection = (await hub.get("/api/v1/postman.json", token=None)).json()

    assert {e.text for e in page.all("code", class_="base-url")} == {
        "https://sms.example.uz/api/v1"
    }
    assert hub.base_url not in source
    variables = {v["key"]: v["value"] for v in collection["variable"]}
    assert variables["baseUrl"] == "https://sms.example.uz/api/v1"


async def test_docs_language_switch_links_each_page_to_the_other(hub: RunningHub) -> None:
    for lang, other in (("en", "uz"), ("uz", "en")):
        _, page = await fetch(hub, PAGES[lang])
        nav = page.all("nav", aria_label=docs.text()[lang]["language_nav"])
        assert len(nav) == 1
        links = {a.attrs["hreflang"]: a for a in page.all("a") if "data-lang-link" in a.attrs}

        assert links[other].attrs["href"] == PAGES[other]
        assert links[other].attrs["lang"] == other
        assert links[lang].attrs["aria-current"] == "page"
        assert "aria-current" not in links[other].attrs
        alternates = page.all("link", rel="alternate")
        assert {e.attrs["hreflang"]: e.attrs["href"] for e in alternates} == PAGES


async def test_docs_errors_redirects_to_the_page_so_problem_types_resolve(
    hub: RunningHub,
) -> None:
    problem = await hub.post("/api/v1/sms/send", {"to": "12"})
    response = await hub.client.get(hub.base_url + "/docs/errors")

    assert problem.json()["type"] == "/docs/errors#validation_error"
    assert response.status_code == 308
    assert response.headers["location"] == "/docs"


async def test_docs_assets_are_served_under_the_same_csp(hub: RunningHub) -> None:
    for name, media in (("docs.css", "text/css"), ("docs.js", "text/javascript")):
        response = await hub.client.get(f"{hub.base_url}/docs/assets/{name}")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith(media)
        assert response.headers["content-security-policy"] == CSP
    missing = await hub.client.get(f"{hub.base_url}/docs/assets/text.toml")
    assert missing.status_code == 404


def test_docs_text_has_the_same_keys_in_every_language() -> None:
    def keys(table: dict[str, Any], prefix: str = "") -> set[str]:
        out: set[str] = set()
        for key, value in table.items():
            if key in ("summaries", "phrases") and not prefix:
                continue  # English takes these from the OpenAPI document
            out |= keys(value, f"{prefix}{key}.") if isinstance(value, dict) else {prefix + key}
        return out

    text = docs.text()
    assert keys(text["en"]) == keys(text["uz"])
    assert len(text["en"]["faq"]) == len(text["uz"]["faq"]) >= 5
    for lang in docs.LANGUAGES:
        assert set(text[lang]["errors"]["fixes"]) == set(ERRORS), lang
        assert set(text[lang]["webhooks"]["events"]) == set(EVENT_TYPES), lang


def test_docs_uzbek_page_translates_every_summary_and_parameter() -> None:
    spec = docs.document(ROUTED, "http://hub.test")
    uz = docs.text()["uz"]
    operations = docs.operations(spec)

    assert {op["operationId"] for _, _, op in operations} <= set(uz["summaries"])
    described = {p["description"] for _, _, op in operations for p in op["parameters"]
                 if p.get("description")}  # fmt: skip
    assert described <= set(uz["phrases"])


def test_docs_sample_answers_decode_strictly_into_their_schema_types() -> None:
    samples = docs.SAMPLES
    msgspec.convert(samples["sms_queued"], SmsQueued)
    msgspec.convert(samples["otp_sent"], OtpSent)
    msgspec.convert(samples["otp_verified"], OtpVerification)
    msgspec.convert(samples["message_status"], MessageStatus)
    problem = msgspec.convert(samples["problem"], Problem)
    assert (problem.status, problem.title) == ERRORS[problem.code]


def test_docs_cards_fall_back_to_curl_when_the_examples_module_has_none(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(docs, "examples", lambda operation_id, origin: {})
    docs.render.cache_clear()
    try:
        page = parse(docs.render(ROUTED, "en", "https://sms.example.uz"))
    finally:
        docs.render.cache_clear()

    for card in page.all("article"):
        prefix = card.attrs["id"].replace("op-", "ex-", 1) + "-"
        figures = [e for e in page.all("div", class_="example") if e.attrs["id"].startswith(prefix)]
        assert [f.attrs["data-lang"] for f in figures] == ["curl"], card.attrs["id"]
        assert "curl" in figures[0].text and "https://sms.example.uz/api/v1/" in figures[0].text


def test_docs_cards_show_every_language_of_the_examples_module_when_it_is_there() -> None:
    examples = pytest.importorskip("hub.devdocs.examples")
    docs.render.cache_clear()
    page = parse(docs.render(ROUTED, "en", "https://sms.example.uz"))
    ids = [op["operationId"] for _, _, op in docs.operations(docs.document(ROUTED, "x"))]

    covered = 0
    for operation_id in [*ids, "verify_webhook"]:
        try:
            expected = examples.examples_for(operation_id)
        except KeyError:
            continue  # a card it has no examples for: cURL only (the test above)
        shown = [e for e in page.all("div", class_="example")
                 if e.attrs["id"].startswith(f"ex-{operation_id}-")]  # fmt: skip
        assert len(shown) == len(expected) >= 13, operation_id
        # Its examples default to a local hub; the page points them at this one.
        assert all("127.0.0.1:8080" not in e.text for e in shown)
        if operation_id != "verify_webhook":  # the signature check calls no URL
            assert any("https://sms.example.uz" in e.text for e in shown), operation_id
        covered += 1
    assert covered >= 2
