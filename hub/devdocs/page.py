"""``/docs`` (English) and ``/docs/uz`` (Uzbek): the developer page, and
``GET /v1/postman.json``: the Postman collection.

The page is rendered here from the hub's own tables, so it cannot drift from
the hub it runs on: the OpenAPI document (one card per operation, with the
error codes, parameters and body fields it documents; ``hub.devdocs.fields``
flattens the schemas), ``ERRORS`` (one entry per error code) and ``EVENT_TYPES``. Its words are in
``web/docs/text.toml`` (one table per language, the same keys in each) and its
sample answers in ``web/docs/samples.json``; its CSS and JavaScript (example
tabs, copy buttons) are static files under ``/docs/assets``, because the page's
Content-Security-Policy allows no inline script or style. Without JavaScript
every example is simply shown in turn.

Code examples in 13 languages come from ``hub.devdocs.examples`` where it has
them; every other card gets a cURL command made here. Request bodies come from
``hub.devdocs.bodies``, the one table of them.
"""

from __future__ import annotations

import functools
import html
import json
import logging
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import msgspec
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.staticfiles import StaticFiles

from hub import __version__
from hub.api.errors import ERRORS
from hub.api.origin import public_origin
from hub.devdocs import examples as code_examples
from hub.devdocs import postman
from hub.devdocs.bodies import EXAMPLE_BODIES, example_body
from hub.devdocs.fields import Field, Limit, describe, fields, resolve
from hub.devdocs.openapi import build
from hub.events import EVENT_TYPES

log = logging.getLogger(__name__)

ROOT: Final = Path(__file__).resolve().parents[1] / "web" / "docs"
LANGUAGES: Final = ("en", "uz")
PAGE_PATHS: Final = {"en": "/docs", "uz": "/docs/uz"}
API_PATH: Final = "/api/v1"
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
        _collection(request.app, public_origin(request)),
        media_type="application/json",
        headers={"Content-Disposition": 'inline; filename="relayhub.postman_collection.json"'},
    )


def _page(request: Request, lang: str) -> Response:
    body = render(request.app, lang, public_origin(request), _root(request))
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
def _collection(app: Starlette, origin: str) -> bytes:
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


# --- text to HTML -----------------------------------------------------------

_INLINE: Final = re.compile(r"`([^`]+)`|\[([^\]]+)\]\(([^)\s]+)\)")
_PLACEHOLDER: Final = re.compile(r"\{(base_url|origin)\}")
_e = html.escape


def _slug(value: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", value.lower().replace("#", "sharp")).strip("-")


class _Writer:
    """The strings of one language as safe HTML: `code` and [links](/x) become
    tags, {base_url} and {origin} this hub's address; everything is escaped."""

    def __init__(self, lang: str, origin: str, root: str) -> None:
        self.lang = lang
        self.t = text()[lang]
        self.root = root
        self.origin = origin
        self.base = origin + API_PATH
        self.values = {"origin": _e(origin), "base_url": _e(self.base)}

    def __call__(self, dotted: str) -> str:
        """The string at ``dotted`` (``"quick.step1_title"``) as HTML."""
        node: Any = self.t
        for part in dotted.split("."):
            node = node[part]
        return self.inline(str(node))

    def inline(self, raw: str) -> str:
        out, last = [], 0
        for match in _INLINE.finditer(raw):
            out.append(self._plain(raw[last : match.start()]))
            code, label, href = match.groups()
            if code is not None:
                out.append(f"<code>{self._plain(code)}</code>")
            else:
                out.append(f'<a href="{_e(self.href(href))}">{self._plain(label)}</a>')
            last = match.end()
        out.append(self._plain(raw[last:]))
        return "".join(out)

    def code_only(self, raw: str) -> str:
        """Text from the OpenAPI document: `code` spans, never links."""
        parts = raw.split("`")
        if len(parts) % 2 == 0:  # an unpaired backtick: show it as it is
            return _e(raw, quote=False)
        return "".join(
            f"<code>{_e(part, quote=False)}</code>" if i % 2 else _e(part, quote=False)
            for i, part in enumerate(parts)
        )

    def phrase(self, english: str) -> str:
        """A description of the OpenAPI document in this page's language, as HTML."""
        return self.code_only(self.t["phrases"].get(english, english))

    def href(self, href: str) -> str:
        return self.root + href if href.startswith("/") else href

    def _plain(self, raw: str) -> str:
        return _PLACEHOLDER.sub(lambda m: self.values[m.group(1)], _e(raw, quote=False))


def _code(source: str, label: str = "") -> str:
    named = f' data-label="{_e(label)}"' if label else ""
    return f'<pre class="code" tabindex="0"{named}><code>{_e(source)}</code></pre>'


def _json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


def curl(
    method: str, url: str, token: str | None = "RELAYHUB_TOKEN", body: Any = None,
    media: str = "application/json",
) -> str:  # fmt: skip
    """A cURL command, one option per line; ``body`` as compact JSON."""
    sends = body is not None or media == "text/csv"
    verb = "" if method == "GET" or (method == "POST" and sends) else f" -X {method}"
    quoted = f'"{url}"' if re.search(r"[?&$]", url) else url
    lines = [f"curl {'-N' if url.endswith('/events') else '-s'}{verb} {quoted}"]
    if token:
        lines.append(f'-H "Authorization: Bearer ${token}"')
    if media == "text/csv":
        lines.append("-H 'Content-Type: text/csv' --data-binary @recipients.csv")
    elif body is not None:
        lines.append("-H 'Content-Type: application/json'")
        lines.append(f"-d '{json.dumps(body, ensure_ascii=False)}'")
    return " \\\n  ".join(lines)


def _url(w: _Writer, path: str, operation: dict[str, Any]) -> str:
    """``path`` on this hub, ids as shell variables, required query parameters filled."""
    url = w.origin + re.sub(r"\{([a-z_]+)\}", lambda m: "$" + m.group(1).upper(), path)
    required = [p["name"] for p in operation["parameters"] if p.get("required")
                and p.get("in") == "query"]  # fmt: skip
    return url + "".join(f"{'&' if i else '?'}{n}=${n.upper()}" for i, n in enumerate(required))


# --- the page ---------------------------------------------------------------


@functools.lru_cache(maxsize=32)
def render(app: Starlette, lang: str, origin: str, root: str = "") -> str:
    """The whole page in ``lang`` for ``app`` served at ``origin`` (under ``root``)."""
    w = _Writer(lang, origin, root)
    spec = document(app, origin)
    bodies = {
        "quick-start": _quick_start(w),
        "basics": _basics(w),
        "health": _health(w, spec),
        "responses": _responses(w),
        "reference": _reference(w, spec),
        "webhooks": _webhooks(w),
        "errors": _errors(w),
        "faq": _faq(w),
        "tools": _tools(w),
    }
    main = "".join(
        f'<section id="{key}" class="section" aria-labelledby="{key}-title">'
        f'<h2 id="{key}-title">{w("toc." + key)}</h2>{bodies[key]}</section>'
        for key in SECTIONS
    )
    return _layout(w, main)


def _layout(w: _Writer, main: str) -> str:
    t, lang, asset = w.t, w.lang, f"{w.root}/docs/assets"
    current = {lang: ' aria-current="page"'}
    switch = "".join(
        f'<li><a href="{w.root}{PAGE_PATHS[other]}" hreflang="{other}" lang="{other}"'
        f" data-lang-link{current.get(other, '')}>{_e(text()[other]['lang_name'])}</a></li>"
        for other in LANGUAGES
    )
    alternates = "".join(
        f'<link rel="alternate" hreflang="{other}" href="{w.root}{PAGE_PATHS[other]}">'
        for other in LANGUAGES
    )
    toc = "".join(f'<li><a href="#{key}">{w("toc." + key)}</a></li>' for key in SECTIONS)
    data = " ".join(
        f'data-{name.replace("_", "-")}="{_e(t[name])}"'
        for name in ("copy", "copied", "copy_failed", "example_picker")
    )
    return f"""<!doctype html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<meta name="description" content="{_e(t["description"])}">
<title>{_e(t["page_title"])}</title>
<link rel="icon" href="{asset}/icon.svg" type="image/svg+xml">
<link rel="stylesheet" href="{asset}/docs.css">
{alternates}
<script type="module" src="{asset}/docs.js"></script>
</head>
<body {data}>
<a class="skip-link" href="#main">{w("skip")}</a>
<header class="topbar">
<div class="topbar-inner">
<p class="brand"><img src="{asset}/icon.svg" alt="" width="24" height="24"><span>relayhub</span>
<span class="brand-sub">docs</span></p>
<nav class="lang-switch" aria-label="{_e(t["language_nav"])}"><ul>{switch}</ul></nav>
</div>
</header>
<div class="layout">
<nav class="toc" aria-label="{_e(t["toc_nav"])}"><ul>{toc}</ul></nav>
<main id="main" class="main" tabindex="-1">
<div class="hero">
<h1>{w("h1")}</h1>
<p class="lead">{w("lead")}</p>
<p class="hero-base"><span>{w("basics.base_url")}</span>
<code class="base-url">{w.values["base_url"]}</code></p>
</div>
{main}
</main>
</div>
<footer class="footer"><p>{w("footer")}</p><p>relayhub {_e(__version__)}</p></footer>
<div id="docs-status" class="toast" role="status" aria-live="polite" aria-atomic="true"></div>
</body>
</html>
"""


# What the quick start's application token does in its four steps, and no more.
QUICK_START_SCOPES: Final = (
    "devices.manage", "devices.read", "sms.send", "otp.send", "otp.verify", "messages.read",
    "webhooks.manage",
)  # fmt: skip


def _quick_start(w: _Writer) -> str:
    base, bodies = w.base, EXAMPLE_BODIES
    app_token = {**bodies["create_token"], "scopes": list(QUICK_START_SCOPES)}
    verify = {**bodies["verify_otp"], "otp_id": "otp_…"}  # from the answer before
    steps = [
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
    status = curl("GET", f"{base}/messages/status?request_id=$REQUEST_ID")
    extra = {4: f"<p>{w('quick.step4_watch')}</p>{_code(status)}"}
    items = "".join(
        f'<li class="step" id="step-{n}"><h3><span class="step-n" aria-hidden="true">{n}</span>'
        f"{w(f'quick.step{n}_title')}</h3><p>{w(f'quick.step{n}_body')}</p>"
        f"{''.join(_code(c) for c in codes)}{extra.get(n, '')}</li>"
        for n, codes in enumerate(steps, 1)
    )
    return f'<p>{w("quick.intro")}</p><ol class="steps">{items}</ol>'


def _basics(w: _Writer) -> str:
    rows = [
        ("base_url", f'<code class="base-url">{_e(w.base)}</code>'),
        ("auth", "<code>Authorization: Bearer $RELAYHUB_TOKEN</code>"),
        ("request_id", "<code>X-Request-Id: rq_…</code>"),
        ("content_type", "<code>Content-Type: application/json</code>"),
        ("relay_mode", "<code>auto</code> · <code>manual</code> (<code>device_id</code>)"),
        ("idempotency", "<code>Idempotency-Key: &lt;your-unique-key&gt;</code>"),
        ("formats", "<code>+998901234567</code> · <code>2026-03-14T12:30:00Z</code>"),
    ]
    items = "".join(
        f'<div class="basic" id="basics-{key.replace("_", "-")}"><dt>{w("basics." + key)}</dt>'
        f'<dd><p class="basic-value">{value}</p><p>{w(f"basics.{key}_note")}</p></dd></div>'
        for key, value in rows
    )
    return f'<p>{w("basics.intro")}</p><dl class="basics">{items}</dl>'


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(method, path, operation) of every operation, in the document's order."""
    return [(m, p, op) for p, item in spec["paths"].items() for m, op in item.items()]


def _method(method: str) -> str:
    return f'<span class="method method-{method}">{method.upper()}</span>'


def _health(w: _Writer, spec: dict[str, Any]) -> str:
    found = {op["operationId"]: (m, p) for m, p, op in operations(spec)}
    items = "".join(
        f'<li><p class="endpoint-line">{_method(found[k][0])} <a href="#op-{k}">'
        f"<code>{_e(found[k][1])}</code></a></p><p>{w('health.' + k)}</p></li>"
        for k in ("health", "readiness", "pair")
        if k in found
    )
    sample = _figure(w("responses.health"), _json(SAMPLES["health"]))
    return f'<p>{w("health.intro")}</p><ul class="endpoint-list">{items}</ul>{sample}'


def _figure(caption: str, source: str) -> str:
    return f'<figure class="sample"><figcaption>{caption}</figcaption>{_code(source)}</figure>'


def _responses(w: _Writer) -> str:
    keys = ("sms_queued", "otp_sent", "otp_verified", "message_status", "problem")
    samples = "".join(_figure(w("responses." + k), _json(SAMPLES[k])) for k in keys)
    return f'<p>{w("responses.intro")}</p><div class="samples">{samples}</div>'


_SCOPE: Final = re.compile(r"^Scope: `([^`]+)`\.\s*")


def _schema_name(content: Mapping[str, Any]) -> str:
    for media, value in content.items():
        ref = value.get("schema", {}).get("$ref", "")
        name = ref.rsplit("/", 1)[-1] if ref else ""
        return f"<code>{_e(name)}</code> ({_e(media)})" if name else f"<code>{_e(media)}</code>"
    return ""


def problems(operation: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(HTTP status, error code) of every problem answer the operation documents."""
    found = []
    for status, answer in operation["responses"].items():
        schema = answer.get("content", {}).get("application/problem+json", {}).get("schema", {})
        found += [(status, code) for code in schema.get("properties", {}).get("code", {})
                  .get("enum", ())]  # fmt: skip
    return sorted(found, key=lambda found: found[0])


def _card(w: _Writer, spec: dict[str, Any], method: str, path: str,
          operation: dict[str, Any]) -> str:  # fmt: skip
    t, op_id = w.t, operation["operationId"]
    description = operation.get("description", "")
    scope = _SCOPE.match(description)
    notes = _SCOPE.sub("", description).strip()
    success = next(s for s in operation["responses"] if s.startswith("2"))
    facts = [(
        "scope",
        f"<code>{_e(scope.group(1))}</code>" if scope
        else w("reference.pairing_scope" if "requestBody" in operation else "reference.no_scope"),
    )]  # fmt: skip
    body = operation.get("requestBody", {}).get("content", {})
    if body:
        facts.append(("request_body", _schema_name(body)))
    answer = operation["responses"][success].get("content", {})
    facts.append(("response", f'<span class="status">{success}</span> {_schema_name(answer)}'))
    errors = "".join(
        f'<li data-code="{_e(code)}" data-status="{_e(status)}"><span class="status">'
        f'{_e(status)}</span> <a href="#{_e(code)}"><code>{_e(code)}</code></a></li>'
        for status, code in problems(operation)
    )
    facts.append(("errors", f'<ul class="card-errors">{errors}</ul>' if errors
                  else w("reference.none")))  # fmt: skip
    found = examples(op_id, w.origin) or {"cURL": _card_curl(w, method, path, operation)}
    return (
        f'<article class="card endpoint" id="op-{op_id}" aria-labelledby="op-{op_id}-title">'
        f'<h4 id="op-{op_id}-title" class="endpoint-title">{_method(method)}'
        f' <code class="path">{_e(path)}</code></h4>'
        f'<p class="summary">{_e(t["summaries"].get(op_id, operation["summary"]))}</p>'
        + '<dl class="facts">'
        + "".join(f'<div><dt>{w("reference." + k)}</dt><dd>{v}</dd></div>' for k, v in facts)
        + "</dl>"
        + (f'<p class="notes">{w.phrase(notes)}</p>' if notes else "")
        + _parameters(w, spec, operation)
        + _body_fields(w, spec, body)
        + _answer_fields(w, spec, answer)
        + _examples(w, op_id, found)
        + "</article>"
    )  # fmt: skip


def _card_curl(w: _Writer, method: str, path: str, operation: dict[str, Any]) -> str:
    content = operation.get("requestBody", {}).get("content", {})
    token = None if operation.get("security") == [] else "RELAYHUB_TOKEN"
    media = next(iter(content), "application/json")
    body = example_body(operation["operationId"]) if content else None
    return curl(method.upper(), _url(w, path, operation), token, body, media)


def _parameters(w: _Writer, spec: dict[str, Any], operation: dict[str, Any]) -> str:
    rows = []
    for ref in operation["parameters"]:
        p = resolve(spec, ref)  # the Idempotency-Key header is a $ref
        field = describe(spec, p["name"], p.get("schema", {}), p.get("required", False),
                         p.get("description", ""))  # fmt: skip
        rows.append((field, p["in"]))
    if not rows:
        return ""
    return _table(w, "parameters", "reference.parameters", rows)


def _json_schema(content: Mapping[str, Any]) -> Mapping[str, Any]:
    schema: Mapping[str, Any] = content.get("application/json", {}).get("schema", {})
    return schema


def _body_fields(w: _Writer, spec: dict[str, Any], content: Mapping[str, Any]) -> str:
    found = fields(spec, _json_schema(content))
    return _table(w, "request", "reference.body_fields", [(f, "") for f in found]) if found else ""


def _answer_fields(w: _Writer, spec: dict[str, Any], content: Mapping[str, Any]) -> str:
    """The success body's fields, folded: a reference to look up, not to read first."""
    schema = _json_schema(content)
    if "$ref" not in schema:  # {"ok": true} or a stream: nothing to list
        return ""
    table = _table(
        w, "response", "reference.answer_fields", [(f, "") for f in fields(spec, schema)]
    )
    return (
        f'<details class="answer-fields"><summary>{w("reference.answer_fields")}</summary>'
        f"{table}</details>"
    )


def _table(w: _Writer, kind: str, caption: str, rows: list[tuple[Field, str]]) -> str:
    """Fields (or parameters, with where they go) as a table: name, type and
    whether it is required on the left; what it means and its limits on the right."""
    head = "".join(
        f'<th scope="col">{w("reference." + k)}</th>' for k in ("param_name", "param_description")
    )
    body = "".join(_row(w, field, where) for field, where in rows)
    return (
        f'<div class="table-wrap" tabindex="0"><table class="params fields" data-fields="{kind}">'
        f"<caption>{w(caption)}</caption><thead><tr>{head}</tr></thead>"
        f"<tbody>{body}</tbody></table></div>"
    )


def _row(w: _Writer, field: Field, where: str) -> str:
    need = "required" if field.required else "optional"
    meta = f'<span class="field-type">{_e(field.type)}</span>, '
    meta += f'<span class="field-required" data-required="{str(field.required).lower()}">'
    meta += f"{w('reference.' + need)}</span>"
    if where:
        meta = f'<span class="field-in">{_e(where)}</span>, {meta}'
    described = (w.phrase(field.description) if field.description
                 else w("reference.path_param") if where == "path" else "")  # fmt: skip
    facts = [_limit(w, limit) for limit in field.limits]
    if field.default is not None:
        facts.append(f"{w('reference.default')} <code>{_e(field.default)}</code>")
    if field.allowed:
        values = ", ".join(f"<code>{_e(v)}</code>" for v in field.allowed)
        facts.append(f"{w('reference.one_of')} {values}")
    details = f'<p class="field-facts">{"; ".join(facts)}</p>' if facts else ""
    return (
        f'<tr class="field field-depth-{field.depth}" data-field="{_e(field.name)}">'
        f'<th scope="row"><code class="field-name">{_e(field.name)}</code>'
        f' <span class="param-meta">{meta}</span></th>'
        f"<td>{f'<p>{described}</p>' if described else ''}{details}</td></tr>"
    )


_SLOT: Final = re.compile(r"\{(\w+)\}")


def _limit(w: _Writer, limit: Limit) -> str:
    """A limit in words (``reference.limits`` of text.toml); patterns and types as code."""
    template = _e(w.t["reference"]["limits"][limit.key], quote=False)

    def value(match: re.Match[str]) -> str:
        raw = _e(limit.values[match.group(1)], quote=False)
        return f"<code>{raw}</code>" if match.group(1) in ("pattern", "type") else raw

    said = _SLOT.sub(value, template)  # one pass: a pattern's own {0,39} stays as it is
    if limit.each:
        return _SLOT.sub(lambda _: said, _e(w.t["reference"]["limits"]["each"], quote=False))
    return said


def _examples(w: _Writer, key: str, found: Mapping[str, str]) -> str:
    """Examples one after another, each with its language (docs.js makes them tabs)."""
    figures = "".join(
        f'<div class="example" id="ex-{key}-{_slug(name)}" data-lang="{_slug(name)}"'
        f' data-label="{_e(name)}"><p class="example-lang">{_e(name)}</p>{_code(code, name)}</div>'
        for name, code in found.items()
    )
    return (
        f'<div class="examples" data-examples><p class="examples-title">'
        f"{w('reference.examples')}</p>{figures}</div>"
    )


def _reference(w: _Writer, spec: dict[str, Any]) -> str:
    groups: dict[str, list[str]] = {}
    for method, path, operation in operations(spec):
        card = _card(w, spec, method, path, operation)
        groups.setdefault(operation["tags"][0], []).append(card)
    sections = "".join(
        f'<section class="tag" id="tag-{tag}" aria-labelledby="tag-{tag}-title">'
        f'<h3 id="tag-{tag}-title">{_e(w.t["tags"].get(tag, tag))}</h3>{"".join(cards)}</section>'
        for tag, cards in groups.items()
    )
    return f"<p>{w('reference.intro')}</p>{sections}"


def _webhooks(w: _Writer) -> str:
    events = w.t["webhooks"]["events"]
    rows = "".join(
        f'<tr><th scope="row"><code>{event}</code></th><td>{w.inline(events[event])}</td></tr>'
        for event in EVENT_TYPES
    )
    steps = "".join(f"<li>{w(f'webhooks.sig{n}')}</li>" for n in range(1, 5))
    found = examples("verify_webhook", w.origin)
    return (
        f"<p>{w('webhooks.intro')}</p>"
        f'<div class="table-wrap" tabindex="0"><table class="events"><thead><tr>'
        f'<th scope="col">{w("webhooks.event")}</th><th scope="col">{w("webhooks.when")}</th>'
        f"</tr></thead><tbody>{rows}</tbody></table></div>"
        f'<h3 id="webhook-signatures">{w("webhooks.signature_title")}</h3>'
        f'<p>{w("webhooks.signature_intro")}</p><ol class="sig-steps">{steps}</ol>'
        f"{_examples(w, 'verify_webhook', found)}<p>{w('webhooks.sig_library')}</p>"
        f"<p>{w('webhooks.retries')}</p><p>{w('webhooks.more')}</p>"
    )


def _errors(w: _Writer) -> str:
    fixes = w.t["errors"]["fixes"]
    items = "".join(
        f'<li class="error" id="{code}"><h3><code>{code}</code></h3>'
        f'<p class="error-meta"><span class="status">{status}</span> {_e(title)}</p>'
        f"<p>{w.inline(fixes.get(code, ''))}</p></li>"
        for code, (status, title) in ERRORS.items()
    )
    return f'<p>{w("errors.intro")}</p><ul class="errors">{items}</ul>'


def _faq(w: _Writer) -> str:
    return "".join(
        f'<details class="faq-item"><summary>{w.inline(e["q"])}</summary>'
        f"<p>{w.inline(e['a'])}</p></details>"
        for e in w.t["faq"]
    )


def _tools(w: _Writer) -> str:
    links = [
        (f"{API_PATH}/openapi.json", "openapi.json", "tools.openapi"),
        (f"{API_PATH}/postman.json", "postman.json", "tools.postman"),
        ("/dashboard/", "/dashboard", "tools.dashboard"),
    ]
    items = "".join(
        f'<li><a href="{_e(w.href(href))}"><code>{label}</code></a> <span>{w(key)}</span></li>'
        for href, label, key in links
    )
    return f'<p>{w("tools.intro")}</p><ul class="tools">{items}</ul>'
