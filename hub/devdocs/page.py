"""``/docs`` (English) and ``/docs/uz`` (Uzbek): the developer page, and
``GET /v1/postman.json``: the Postman collection.

The page is rendered from the hub's own tables, so it cannot drift from the hub
it runs on: the OpenAPI document (one card per operation, ``page_cards``),
``ERRORS`` (one entry per error code) and ``EVENT_TYPES``. Its words are in
``web/docs/text.toml`` (one table per language, the same keys in each; made
HTML by ``page_text``), its sample answers in ``web/docs/samples.json`` and its
markup in Jinja templates under ``web/docs/templates/`` with autoescape on:
whatever is not ``Markup`` is escaped by the engine, never by hand. Its CSS and
JavaScript (example tabs, copy buttons) are static files under ``/docs/assets``,
because the page's Content-Security-Policy allows no inline script or style.
Without JavaScript every example is simply shown in turn.

Code examples in 13 languages come from ``hub.devdocs.examples`` where it has
them; every other card gets a cURL command. Request bodies come from
``hub.devdocs.bodies``, the one table of them.
"""

from __future__ import annotations

import functools
import json
import re
import tomllib
from pathlib import Path
from typing import Any, Final

import jinja2
import msgspec
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.staticfiles import StaticFiles

from hub import __version__
from hub.api.errors import ERRORS
from hub.api.origin import origin_for
from hub.devdocs import examples as code_examples
from hub.devdocs import page_cards, postman
from hub.devdocs.bodies import EXAMPLE_BODIES
from hub.devdocs.openapi import build
from hub.devdocs.page_cards import curl, operations
from hub.devdocs.page_text import API_PATH, PageText
from hub.events.outbox import EVENT_TYPES

ROOT: Final = Path(__file__).resolve().parents[1] / "web" / "docs"
LANGUAGES: Final = ("en", "uz")
PAGE_PATHS: Final = {"en": "/docs", "uz": "/docs/uz"}
SECTIONS: Final = (
    "quick-start", "basics", "health", "responses", "reference", "webhooks", "errors", "faq",
    "tools",
)  # fmt: skip
SAMPLES: Final[dict[str, dict[str, Any]]] = json.loads((ROOT / "samples.json").read_bytes())

assets = StaticFiles(directory=ROOT / "assets")


# --- routes -----------------------------------------------------------------


async def page_en(request: Request) -> Response:
    return _page(request, "en")


async def page_uz(request: Request) -> Response:
    return _page(request, "uz")


async def errors(request: Request) -> Response:
    """Where a problem body's ``type`` points (``/docs/errors#code``): the browser
    keeps the fragment through the redirect and lands on that code's entry."""
    return RedirectResponse(_root(request) + PAGE_PATHS["en"], status_code=308)


async def postman_json(request: Request) -> Response:
    return Response(
        postman_collection(request.app, origin_for(request)),
        media_type="application/json",
        headers={"Content-Disposition": 'inline; filename="relayhub.postman_collection.json"'},
    )


def _page(request: Request, lang: str) -> Response:
    body = render(request.app, lang, origin_for(request), _root(request))
    return HTMLResponse(body, headers={"Cache-Control": "no-cache", "Content-Language": lang})


def _root(request: Request) -> str:
    return str(request.scope.get("root_path", "")).rstrip("/")


# --- sources ----------------------------------------------------------------


@functools.cache
def text() -> dict[str, dict[str, Any]]:
    """The page's words: language → nested tables of strings."""
    with (ROOT / "text.toml").open("rb") as file:
        return tomllib.load(file)


def document(app: Starlette, origin: str) -> dict[str, Any]:
    """The OpenAPI document as ``app`` serves it at ``origin`` (``GET /api/v1/openapi.json``)."""
    return build(app.routes, origin)


@functools.lru_cache(maxsize=16)
def postman_collection(app: Starlette, origin: str) -> bytes:
    """The Postman collection as ``app`` serves it at ``origin``, encoded."""
    made = postman.collection(document(app, origin), origin + API_PATH, text()["en"]["tags"])
    return msgspec.json.encode(made)


_COVERED: Final = frozenset(op.id for op in code_examples.OPERATIONS)
_LANGUAGE_NAMES: Final = {lang.id: lang.name for lang in code_examples.LANGUAGES}


def examples(operation_id: str, origin: str) -> dict[str, str]:
    """Language name → code from ``hub.devdocs.examples``; {} where it has none.

    Its examples default to a local hub's URL; here they get this hub's origin.
    """
    if operation_id not in _COVERED:
        return {}
    found = code_examples.examples_for(operation_id)
    local = code_examples.DEFAULT_URL
    return {_LANGUAGE_NAMES[key]: code.replace(local, origin) for key, code in found.items()}


# --- the page ---------------------------------------------------------------


def _slug(value: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", value.lower().replace("#", "sharp")).strip("-")


def _pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


_templates: Final = jinja2.Environment(
    loader=jinja2.FileSystemLoader(ROOT / "templates"),
    autoescape=True,  # every value is escaped unless it is Markup
    undefined=jinja2.StrictUndefined,  # a misspelt name fails the render, not the reader
    trim_blocks=True,
    lstrip_blocks=True,
)
_templates.filters.update(slug=_slug, pretty=_pretty)


@functools.lru_cache(maxsize=32)
def render(app: Starlette, lang: str, origin: str, root: str = "") -> str:
    """The whole page in ``lang`` for ``app`` served at ``origin`` (under ``root``)."""
    w = PageText(text()[lang], lang, origin, root)
    spec = document(app, origin)
    found = {op["operationId"]: (m, p) for m, p, op in operations(spec)}
    return _templates.get_template("page.html").render(
        t=w,
        lang=lang,
        languages=[(other, PAGE_PATHS[other], text()[other]["lang_name"]) for other in LANGUAGES],
        sections=SECTIONS,
        asset=f"{root}/docs/assets",
        version=__version__,
        steps=_quick_start(w.base),
        watch=curl("GET", f"{w.base}/messages/status?request_id=$REQUEST_ID"),
        health=[(k, *found[k]) for k in ("health", "readiness", "pair") if k in found],
        samples=SAMPLES,
        groups=page_cards.groups(w, spec, examples),
        events=[(event, w.inline(w.t["webhooks"]["events"][event])) for event in EVENT_TYPES],
        webhook_examples=examples("verify_webhook", origin),
        errors=[(code, status, title) for code, (status, title) in ERRORS.items()],
        api=API_PATH,
    )


# What the quick start's application token does in its four steps, and no more.
QUICK_START_SCOPES: Final = (
    "devices.manage", "devices.read", "sms.send", "otp.send", "otp.verify", "messages.read",
    "webhooks.manage",
)  # fmt: skip


def _quick_start(base: str) -> list[list[str]]:
    """The commands of the quick start's four steps, each with the answer it gets."""
    bodies = EXAMPLE_BODIES
    app_token = {**bodies["create_token"], "scopes": list(QUICK_START_SCOPES)}
    verify = {**bodies["verify_otp"], "otp_id": "otp_…"}  # from the answer before
    return [
        ["export RELAYHUB_TOKEN='rh_…'  # the admin token the hub printed\n"
         + curl("POST", f"{base}/tokens", body=app_token)
         + '\n# {"ok":true,"id":"tok_…","token":"rh_…","scopes":[…],…}'
         + "\nexport RELAYHUB_TOKEN='rh_…'  # your application's token, from the answer"],
        [curl("POST", f"{base}/relay/pairing-codes")
         + '\n# {"ok":true,"pairing_code":"483-921","qr_payload":"…","qr_svg":"<svg…>",…}',
         curl("GET", f"{base}/devices")
         + '\n# {"ok":true,"items":[{"id":"dev_…","name":"Shop phone","online":true,…}],…}'],
        [curl("POST", f"{base}/sms/send", body=bodies["send_sms"])
         + '\n# {"ok":true,"request_id":"req_…","status":"queued","queued_at":"…"}',
         curl("POST", f"{base}/otp/send", body=bodies["send_otp"])
         + '\n# {"ok":true,"otp_id":"otp_…","status":"sent","expires_in_seconds":300,…}\n'
         + curl("POST", f"{base}/otp/verify", body=verify)
         + '\n# {"ok":true,"otp_id":"otp_…","status":"verified","attempts_left":5}'],
        [curl("POST", f"{base}/webhooks", body=bodies["create_webhook"])
         + '\n# {"ok":true,"id":"whk_…","secret":"whsec_…",…}',
         curl("GET", f"{base}/webhooks/deliveries?limit=20")],
    ]  # fmt: skip
