"""Ready-to-paste API examples in 13 languages, rendered from template files.

Every operation is declared once (``OPERATIONS``: method, path, purpose; its body
comes from ``hub.devdocs.bodies``, the one table of example bodies), every
language once (``LANGUAGES``). A language's templates are real files under
``example_templates/<language>/``: ``post`` (a POST with a JSON body), ``get``
(a GET with one query parameter), ``webhook`` (a signature check with a
self-check) and ``verdict`` (what verifying a code does with ``valid``).
``render`` fills their ``{{slot}}`` placeholders; ``{{> language/part}}`` pulls
in a shared part (PHP's signature check, Java's quote helper).

The /docs page shows ``examples_for(operation)``; ``python -m scripts.docs_examples``
(``make docs``) writes the same text into the repository's ``docs/examples/``,
and a test fails when the checked-in files differ from what this module renders.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

from hub.devdocs.bodies import EXAMPLE_BODIES
from hub.devdocs.example_bodies import java_body, mapping, shell_body
from hub.devdocs.example_model import Env, Language, Operation

DEFAULT_URL: Final = "http://127.0.0.1:8080"
TEMPLATES: Final = Path(__file__).resolve().parent / "example_templates"
TOKEN: Final = Env("RELAYHUB_TOKEN", "rh_...")


def _operation(
    op_id: str, title: str, purpose: str, method: Literal["GET", "POST"] | None = None,
    path: str = "", *, variables: dict[str, Env] | None = None,
    query: tuple[str, Env] | None = None, verdict: bool = False,
) -> Operation:  # fmt: skip
    """An operation whose body is its row of ``EXAMPLE_BODIES``; ``variables`` name the
    fields the example reads from the environment instead (an id from an earlier answer)."""
    reads = variables or {}
    row = EXAMPLE_BODIES.get(op_id, {}) if method == "POST" else {}
    body = tuple((key, reads.get(key, value)) for key, value in row.items())
    return Operation(op_id, title, purpose, method, path, body, query, verdict)


OPERATIONS: Final = (
    _operation("send_sms", "Send an SMS", "Queue one SMS", "POST", "/api/v1/sms/send"),
    _operation(
        "send_otp", "Send a one-time code", "Send a one-time code by SMS", "POST",
        "/api/v1/otp/send",
    ),
    _operation(
        "verify_otp", "Verify a one-time code", "Check the code the user typed", "POST",
        "/api/v1/otp/verify",
        variables={"otp_id": Env("OTP_ID", "otp_..."), "code": Env("OTP_CODE", "123456")},
        verdict=True,
    ),
    _operation(
        "message_status", "Message status", "What happened to a message", "GET",
        "/api/v1/messages/status", query=("request_id", Env("REQUEST_ID", "req_...")),
    ),
    _operation(
        "verify_webhook", "Verify a webhook signature", "Check a webhook's signature and age",
    ),
)  # fmt: skip


@dataclass(frozen=True)
class WebhookSample:
    secret: str
    msg_id: str
    timestamp: int
    payload: str
    signature: str


# The Standard Webhooks spec's published test vector (and its signature).
WEBHOOK_SAMPLE: Final = WebhookSample(
    secret="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    msg_id="msg_p5jXN8AQM9LWM0D4loKWxJek",
    timestamp=1614265330,
    payload='{"test": 2432232314}',
    signature="v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
)

LANGUAGES: Final = (
    Language("curl", "cURL", "sh", "bash", "${name}", shell_body, comment="#"),
    Language("php", "PHP", "php", "php", "getenv('{name}')",
             mapping("[", "]", "'{key}' => {value}", single=True)),
    Language("laravel", "Laravel", "php", "php", "env('{name}')",
             mapping("[", "]", "'{key}' => {value}", single=True)),
    Language("wordpress", "WordPress", "php", "php", "getenv('{name}')",
             mapping("[", "]", "'{key}' => {value}", single=True)),
    Language("node", "Node.js (fetch)", "mjs", "javascript", "process.env.{name}",
             mapping("{ ", " }", "{key}: {value}"), indent="  "),
    Language("axios", "Axios", "mjs", "javascript", "process.env.{name}",
             mapping("{ ", " }", "{key}: {value}"), indent="  ", webhook_from="node"),
    Language("python", "Python (httpx)", "py", "python", 'os.environ["{name}"]',
             mapping("{", "}", '"{key}": {value}'), comment="#"),
    Language("flutter", "Flutter (Dart)", "dart", "dart",
             "const String.fromEnvironment('{name}')",
             mapping("{", "}", "'{key}': {value}", single=True), indent="  "),
    Language("kotlin", "Kotlin (OkHttp)", "kt", "kotlin", 'System.getenv("{name}")',
             mapping("mapOf(", ")", '"{key}" to {value}')),
    Language("java", "Java", "java", "java", 'System.getenv("{name}")', java_body,
             helper="java/quote"),
    Language("csharp", "C#", "cs", "csharp", 'Environment.GetEnvironmentVariable("{name}")',
             mapping("new { ", " }", "{key} = {value}")),
    Language("go", "Go", "go", "go", 'os.Getenv("{name}")',
             mapping("map[string]string{", "}", '"{key}": {value}', align=True), indent="\t"),
    Language("ruby", "Ruby", "rb", "ruby", 'ENV.fetch("{name}")',
             mapping("{ ", " }", "{key}: {value}"), indent="  ", comment="#"),
)  # fmt: skip
_BY_ID: Final = {lang.id: lang for lang in LANGUAGES}

VALID_NOTE: Final = (
    "`valid` is true only for the right code, in time, the first time. Decide on it,",
    "not on `ok` or the HTTP status: a wrong code is a valid request, answered 200.",
)


# --- templates -------------------------------------------------------------------

SLOT: Final = re.compile(r"\{\{(\w+)\}\}")
PART: Final = re.compile(r"\{\{> ([\w/]+)\}\}")
LEAD: Final = re.compile(r"[ \t]*(?:(?://|#)[ \t]*)?")


def _fill(template: str, pattern: re.Pattern[str], value: Callable[[str], str]) -> str:
    """``template`` with each match of ``pattern`` replaced by ``value(name)``; a value's
    later lines start like the line the slot is on (its indentation, and its comment
    marker if it is a comment)."""

    def slot(match: re.Match[str]) -> str:
        line = template[template.rfind("\n", 0, match.start()) + 1 :]
        lead = LEAD.match(line)
        return value(match[1]).replace("\n", "\n" + (lead[0] if lead else ""))

    return pattern.sub(slot, template)


@functools.cache
def template(lang_id: str, kind: str) -> str:
    """``example_templates/<lang_id>/<kind>.<ext>.tmpl`` with its parts pulled in."""
    text = (TEMPLATES / lang_id / f"{kind}.{_BY_ID[lang_id].ext}.tmpl").read_text("utf-8")
    return _fill(text, PART, lambda name: part(*name.split("/")))


def part(lang_id: str, kind: str) -> str:
    """A template meant to sit inside another (no final newline: the slot's line goes on)."""
    return template(lang_id, kind).removesuffix("\n")


def _slots(values: dict[str, str]) -> Callable[[str], str]:
    def value(name: str) -> str:
        if name not in values:
            raise KeyError(f"template slot {{{{{name}}}}} has no value")
        return values[name]

    return value


def _camel(name: str) -> str:
    first, *rest = name.split("_")
    return first + "".join(word.title() for word in rest)


def _verdict(lang: Language) -> str:
    """The ``valid`` branch of verifying a code, after the note that says why."""
    note = "".join(f"{lang.comment} {line}\n" for line in VALID_NOTE)
    return f"\n{note}{part(lang.id, 'verdict')}"


def render(lang: Language, op: Operation) -> str:
    """The example of ``op`` in ``lang``: the file's exact text."""
    slots = {
        "default_url": DEFAULT_URL,
        "purpose": op.purpose,
        "call": op.call,
        "file": f"{op.id}.{lang.ext}",
        "command": op.id.replace("_", "-"),
        "class": _camel(op.id)[0].upper() + _camel(op.id)[1:],
        "env": " ".join(f"{e.name}={e.sample}" for e in (TOKEN, *op.env)),
        "op_env": "".join(f"{e.name}={e.sample} " for e in op.env),
        "defines": " \\\n    ".join(f"--dart-define={e.name}={e.sample}" for e in (TOKEN, *op.env)),
    }
    if op.method is None:
        sample = WEBHOOK_SAMPLE
        slots |= {
            "secret": sample.secret,
            "msg_id": sample.msg_id,
            "timestamp": str(sample.timestamp),
            "signature": sample.signature,
            "payload": sample.payload,
            "payload_json": json.dumps(sample.payload),
        }
        return _fill(template(lang.webhook_from or lang.id, "webhook"), SLOT, _slots(slots))
    slots["path"] = op.path
    slots["then"] = ""
    if op.method == "GET":
        assert op.query is not None, f"{op.id}: a GET example needs its query parameter"
        param, env = op.query
        slots |= {
            "param": param,
            "param_var": _camel(param),
            "param_env": env.name,
            "param_value": lang.value(env),
        }
        return _fill(template(lang.id, "get"), SLOT, _slots(slots))
    slots["body"] = lang.body(lang, op)
    slots["helper"] = "\n" + part(*lang.helper.split("/")) + "\n" if lang.helper and op.env else ""
    slots["then"] = _verdict(lang) if op.verdict else ""
    return _fill(template(lang.id, "post"), SLOT, _slots(slots))


# --- what the page and the files ask for -------------------------------------------


def operation(operation_id: str) -> Operation:
    for op in OPERATIONS:
        if op.id == operation_id:
            return op
    raise KeyError(f"no operation {operation_id!r}; one of {[o.id for o in OPERATIONS]}")


def examples_for(operation_id: str) -> dict[str, str]:
    """``{language id: code}`` in ``LANGUAGES`` order, for the docs page's tabs."""
    op = operation(operation_id)
    return {lang.id: render(lang, op) for lang in LANGUAGES}


def example_path(lang: Language, op: Operation) -> str:
    """Where the example lives under docs/examples/."""
    return f"{lang.id}/{op.id}.{lang.ext}"
