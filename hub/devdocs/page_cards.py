"""The reference cards of the /docs page, one per operation of the OpenAPI
document: what ``web/docs/templates/reference.html`` prints.

Everything is read from the document the page is given (scope, bodies, answers,
the problems each operation names, its fields through ``hub.devdocs.fields``),
so a card cannot say other than ``/api/v1/openapi.json``. Text from the document
becomes ``Markup`` only through ``PageText`` (escaped, `code` spans kept).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from markupsafe import Markup

from hub.devdocs.bodies import example_body
from hub.devdocs.fields import Field, describe, fields, resolve
from hub.devdocs.page_text import PageText

Examples = Callable[[str, str], dict[str, str]]  # (operation id, origin) → name → code
_SCOPE: Final = re.compile(r"^Scope: `([^`]+)`\.\s*")


@dataclass(frozen=True)
class Row:
    """A field (or a parameter, with where it goes) and what the page says of it."""

    field: Field
    where: str  # "path", "query" or "header" for a parameter; "" for a body field
    described: Markup
    facts: Markup  # its limits, default and allowed values, "; "-joined


@dataclass(frozen=True)
class Table:
    kind: str  # "parameters", "request" or "response" (data-fields)
    caption: str  # the key of its caption in text.toml
    rows: list[Row]


@dataclass(frozen=True)
class Card:
    op_id: str
    method: str
    path: str
    summary: str
    facts: list[tuple[str, Markup]]  # (text.toml key under reference, value)
    problems: list[tuple[str, str]]  # (HTTP status, error code)
    notes: Markup
    parameters: Table | None
    body: Table | None
    answer: Table | None
    examples: dict[str, str]  # language name → code


def operations(spec: Mapping[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(method, path, operation) of every operation, in the document's order."""
    return [(m, p, op) for p, item in spec["paths"].items() for m, op in item.items()]


def problems(operation: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(HTTP status, error code) of every problem answer the operation documents."""
    found = []
    for status, answer in operation["responses"].items():
        schema = answer.get("content", {}).get("application/problem+json", {}).get("schema", {})
        found += [(status, code) for code in schema.get("properties", {}).get("code", {})
                  .get("enum", ())]  # fmt: skip
    return sorted(found, key=lambda found: found[0])


def groups(w: PageText, spec: dict[str, Any], examples: Examples) -> list[tuple[str, list[Card]]]:
    """The cards by their operation's first tag, in the document's order."""
    found: dict[str, list[Card]] = {}
    for method, path, operation in operations(spec):
        card = _card(w, spec, method, path, operation, examples)
        found.setdefault(operation["tags"][0], []).append(card)
    return list(found.items())


def _card(w: PageText, spec: dict[str, Any], method: str, path: str,
          operation: dict[str, Any], examples: Examples) -> Card:  # fmt: skip
    op_id = operation["operationId"]
    description = operation.get("description", "")
    scope = _SCOPE.match(description)
    notes = _SCOPE.sub("", description).strip()
    success = next(s for s in operation["responses"] if s.startswith("2"))
    facts = [(
        "scope",
        Markup("<code>{}</code>").format(scope.group(1)) if scope
        else w("reference.pairing_scope" if "requestBody" in operation else "reference.no_scope"),
    )]  # fmt: skip
    body = operation.get("requestBody", {}).get("content", {})
    if body:
        facts.append(("request_body", _schema_name(body)))
    answer = operation["responses"][success].get("content", {})
    status = Markup('<span class="status">{}</span> {}').format(success, _schema_name(answer))
    facts.append(("response", status))
    return Card(
        op_id=op_id,
        method=method,
        path=path,
        summary=w.t["summaries"].get(op_id, operation["summary"]),
        facts=facts,
        problems=problems(operation),
        notes=w.phrase(notes) if notes else Markup(),
        parameters=_parameters(w, spec, operation),
        body=_body_fields(w, spec, body),
        answer=_answer_fields(w, spec, answer),
        examples=examples(op_id, w.origin) or {"cURL": _card_curl(w, method, path, operation)},
    )


def _schema_name(content: Mapping[str, Any]) -> Markup:
    for media, value in content.items():
        ref = value.get("schema", {}).get("$ref", "")
        name = ref.rsplit("/", 1)[-1] if ref else ""
        if name:
            return Markup("<code>{}</code> ({})").format(name, media)
        return Markup("<code>{}</code>").format(media)
    return Markup()


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


def _url(w: PageText, path: str, operation: dict[str, Any]) -> str:
    """``path`` on this hub, ids as shell variables, required query parameters filled."""
    url = w.origin + re.sub(r"\{([a-z_]+)\}", lambda m: "$" + m.group(1).upper(), path)
    required = [p["name"] for p in operation["parameters"] if p.get("required")
                and p.get("in") == "query"]  # fmt: skip
    return url + "".join(f"{'&' if i else '?'}{n}=${n.upper()}" for i, n in enumerate(required))


def _card_curl(w: PageText, method: str, path: str, operation: dict[str, Any]) -> str:
    content = operation.get("requestBody", {}).get("content", {})
    token = None if operation.get("security") == [] else "RELAYHUB_TOKEN"
    media = next(iter(content), "application/json")
    body = example_body(operation["operationId"]) if content else None
    return curl(method.upper(), _url(w, path, operation), token, body, media)


def _parameters(w: PageText, spec: dict[str, Any], operation: dict[str, Any]) -> Table | None:
    rows = []
    for ref in operation["parameters"]:
        p = resolve(spec, ref)  # the Idempotency-Key header is a $ref
        field = describe(spec, p["name"], p.get("schema", {}), p.get("required", False),
                         p.get("description", ""))  # fmt: skip
        rows.append(_row(w, field, p["in"]))
    return Table("parameters", "reference.parameters", rows) if rows else None


def _json_schema(content: Mapping[str, Any]) -> Mapping[str, Any]:
    schema: Mapping[str, Any] = content.get("application/json", {}).get("schema", {})
    return schema


def _body_fields(w: PageText, spec: dict[str, Any], content: Mapping[str, Any]) -> Table | None:
    found = fields(spec, _json_schema(content))
    rows = [_row(w, f, "") for f in found]
    return Table("request", "reference.body_fields", rows) if rows else None


def _answer_fields(w: PageText, spec: dict[str, Any], content: Mapping[str, Any]) -> Table | None:
    """The success body's fields (the page folds them: a reference to look up)."""
    schema = _json_schema(content)
    if "$ref" not in schema:  # {"ok": true} or a stream: nothing to list
        return None
    rows = [_row(w, f, "") for f in fields(spec, schema)]
    return Table("response", "reference.answer_fields", rows)


def _row(w: PageText, field: Field, where: str) -> Row:
    described = (w.phrase(field.description) if field.description
                 else w("reference.path_param") if where == "path" else Markup())  # fmt: skip
    facts = [w.limit(limit) for limit in field.limits]
    if field.default is not None:
        facts.append(Markup("{} <code>{}</code>").format(w("reference.default"), field.default))
    if field.allowed:
        values = Markup(", ").join(Markup("<code>{}</code>").format(v) for v in field.allowed)
        facts.append(Markup("{} {}").format(w("reference.one_of"), values))
    return Row(field, where, described, Markup("; ").join(facts))
