"""Ready-to-paste API examples in 13 languages, generated from one definition each.

Every operation is written once below (``OPERATIONS``: method, path, JSON body,
purpose); every language once (``LANGUAGES``: a template for a POST with a JSON
body, one for a GET with a query parameter, and one for verifying a webhook
signature). ``examples_for(operation)`` gives the docs page one example per
language; ``python -m hub.docs_examples`` rewrites ``docs/examples/<language>/
<operation>.<ext>`` (and its README), and ``--check`` only reports drift.
tests/docs/test_examples.py fails when the committed files differ from what this
module renders, runs the examples against a live hub (cURL, Python, Node and
Axios; PHP, Ruby, Go and Java too where installed), and syntax-checks the others
where a toolchain is installed.

Templates are plain text with ``{{slot}}`` placeholders (filled by ``render``);
every request example reads ``RELAYHUB_URL`` (default http://127.0.0.1:8080)
and ``RELAYHUB_TOKEN`` plus the operation's own variables, and prints the JSON
answer. Webhook examples are a function and a self-check on the Standard
Webhooks spec's published test vector (``WEBHOOK_SAMPLE``) that prints "valid".
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

DEFAULT_URL: Final = "http://127.0.0.1:8080"
OUT: Final = Path(__file__).resolve().parents[1] / "docs" / "examples"


# --- operations --------------------------------------------------------------


@dataclass(frozen=True)
class Env:
    """A value the example reads from an environment variable (``sample`` is for run lines)."""

    name: str
    sample: str


TOKEN: Final = Env("RELAYHUB_TOKEN", "rh_...")
Value = str | Env


@dataclass(frozen=True)
class Operation:
    """One API call (or, with no method, the webhook check) as every example makes it.

    Headers are the same for every call: ``Authorization: Bearer $RELAYHUB_TOKEN``,
    plus ``Content-Type: application/json`` when there is a body.
    """

    id: str
    title: str
    purpose: str  # one line, shown in each example's first comment
    method: Literal["GET", "POST"] | None = None
    path: str = ""
    body: tuple[tuple[str, Value], ...] = ()
    query: tuple[str, Env] | None = None  # the one query parameter of a GET
    # The answer's ``valid`` decides (verify): the example prints "valid" or "not valid"
    # after the answer, so nobody copies a check of ``ok`` or of the HTTP status.
    verdict: bool = False

    @property
    def call(self) -> str:
        return f"{self.method} {self.path}" if self.method else "Standard Webhooks"

    @property
    def env(self) -> tuple[Env, ...]:
        """The operation's own variables, beyond RELAYHUB_URL and RELAYHUB_TOKEN."""
        values = [v for _, v in self.body] + ([self.query[1]] if self.query else [])
        return tuple(v for v in values if isinstance(v, Env))


OPERATIONS: Final = (
    Operation(
        "send_sms", "Send an SMS", "Queue one SMS", "POST", "/api/v1/sms/send",
        body=(("to", "+998901234567"), ("text", "Salom from relayhub")),
    ),
    Operation(
        "send_otp", "Send a one-time code", "Send a one-time code by SMS", "POST",
        "/api/v1/otp/send", body=(("to", "+998901234567"), ("purpose", "login")),
    ),
    Operation(
        "verify_otp", "Verify a one-time code", "Check the code the user typed", "POST",
        "/api/v1/otp/verify",
        body=(("otp_id", Env("OTP_ID", "otp_...")), ("code", Env("OTP_CODE", "123456"))),
        verdict=True,
    ),
    Operation(
        "message_status", "Message status", "What happened to a message", "GET",
        "/api/v1/messages/status", query=("request_id", Env("REQUEST_ID", "req_...")),
    ),
    Operation(
        "verify_webhook", "Verify a webhook signature",
        "Check a webhook's signature and age",
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


# --- languages -----------------------------------------------------------------

BodyRenderer = Callable[["Language", Operation], str]
ONE_LINE: Final = 60  # a body literal longer than this gets one field per line


@dataclass(frozen=True)
class Language:
    id: str
    name: str  # shown on the docs page's tab
    ext: str
    highlight: str  # highlight.js / Prism language name
    env: str  # how the language reads an environment variable; {name} is its name
    body: BodyRenderer  # the operation's body as a literal of this language
    post: str  # template of a POST with a JSON body
    get: str  # template of a GET with one query parameter
    webhook: str  # template of the signature check with its self-check
    indent: str = "    "
    helper: str = ""  # a POST template's {{helper}} when the body reads a variable
    verdict: str = ""  # code after a POST's printed answer that branches on ``valid``

    def value(self, value: Value, quote: Callable[[str], str]) -> str:
        return self.env.format(name=value.name) if isinstance(value, Env) else quote(value)


def _dq(text: str) -> str:
    """A double-quoted literal; the same in every language here for these plain texts."""
    if not re.fullmatch(r"[\w +.-]*", text):
        raise ValueError(f"{text!r}: keep literals to letters, digits, space and + . -")
    return json.dumps(text)


def _sq(text: str) -> str:
    return "'" + _dq(text)[1:-1] + "'"


def _mapping(
    open_: str, close: str, field: str, quote: Callable[[str], str] = _dq, *, align: bool = False
) -> BodyRenderer:
    """Bodies written as a map literal: open, "field, field", close ({key}, {value}).

    Longer than ONE_LINE, one field per line with a trailing comma; ``align`` lines the
    values up the way gofmt does.
    """
    key_part = field.removesuffix("{value}")  # e.g. '"{key}": '
    assert "{value}" not in key_part, "a field ends with its value"

    def render(lang: Language, op: Operation) -> str:
        keys = [key_part.format(key=k) for k, _ in op.body]
        fields = [k + lang.value(v, quote) for k, (_, v) in zip(keys, op.body, strict=True)]
        one_line = open_ + ", ".join(fields) + close
        if len(one_line) <= ONE_LINE:
            return one_line
        if align:
            width = max(map(len, keys))
            fields = [k.ljust(width) + f[len(k) :] for k, f in zip(keys, fields, strict=True)]
        lines = "".join(f"\n{lang.indent}{f}," for f in fields)
        return open_.rstrip() + lines + "\n" + close.strip()

    return render


def _shell_body(lang: Language, op: Operation) -> str:
    """A JSON body for curl -d: single-quoted, or double-quoted to expand variables."""
    if not op.env:
        return "'" + json.dumps(dict(op.body)) + "'"

    def text(value: Value) -> str:
        return lang.value(value, _dq) if isinstance(value, Env) else _dq(value)[1:-1]

    fields = (f'\\"{key}\\": \\"{text(value)}\\"' for key, value in op.body)
    return '"{' + ", ".join(fields) + '}"'


def _java_body(lang: Language, op: Operation) -> str:
    """A Java string expression of the JSON body; variables go through quote()."""
    lines: list[str] = []
    literal = "{"
    for n, (key, value) in enumerate(op.body):
        literal += ", " * (n > 0) + json.dumps(key) + ": "
        if isinstance(value, Env):
            lines.append(f"{json.dumps(literal)} + quote({lang.value(value, _dq)})")
            literal = ""
        else:
            literal += _dq(value)
    if not lines:
        return json.dumps(literal + "}")
    lines[-1] += ' + "}"'
    return "\n        + ".join(lines)


def _indent(text: str, prefix: str = "    ") -> str:
    return "\n".join(prefix + line if line else line for line in text.split("\n"))


SLOT = re.compile(r"\{\{(\w+)\}\}")
LEAD = re.compile(r"[ \t]*(?:(?://|#)[ \t]*)?")


def _fill(template: str, slots: dict[str, str]) -> str:
    """``template`` with each {{slot}} replaced; a value's later lines start like the line
    the slot is on (its indentation, and its comment marker if it is a comment)."""

    def slot(match: re.Match[str]) -> str:
        if match[1] not in slots:
            raise KeyError(f"template slot {{{{{match[1]}}}}} has no value")
        line = template[template.rfind("\n", 0, match.start()) + 1 :]
        lead = LEAD.match(line)
        return slots[match[1]].replace("\n", "\n" + (lead[0] if lead else ""))

    return SLOT.sub(slot, template)


def _camel(name: str) -> str:
    first, *rest = name.split("_")
    return first + "".join(part.title() for part in rest)


VALID_NOTE: Final = (
    "`valid` is true only for the right code, in time, the first time. Decide on it,",
    "not on `ok` or the HTTP status: a wrong code is a valid request, answered 200.",
)


def _verdict(code: str) -> str:
    """A language's ``valid`` branch, its first line (a comment marker) given the note."""
    marker, rest = code.split("\n", 1)
    return "".join(f"{marker} {line}\n" for line in VALID_NOTE) + rest


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
        return _fill(lang.webhook, slots)
    slots["path"] = op.path
    slots["then"] = ""
    if op.method == "GET":
        assert op.query is not None, f"{op.id}: a GET example needs its query parameter"
        param, env = op.query
        slots |= {
            "param": param,
            "param_var": _camel(param),
            "param_env": env.name,
            "param_value": lang.value(env, _dq),
        }
        return _fill(lang.get, slots)
    slots["body"] = lang.body(lang, op)
    slots["helper"] = lang.helper if op.env else ""
    slots["then"] = "\n" + _verdict(lang.verdict) if op.verdict else ""
    return _fill(lang.post, slots)


# --- templates -------------------------------------------------------------------
# Per language: a POST with a JSON body, a GET with one query parameter, and the
# webhook check. Raw strings: what is between the quotes is the file's text.

CURL_POST = r"""#!/bin/sh
# relayhub: {{purpose}} ({{call}}).
# Run: {{env}} sh {{file}}
set -eu
RELAYHUB_URL="${RELAYHUB_URL:-{{default_url}}}"

answer=$(curl -sS "$RELAYHUB_URL{{path}}" \
  -H "Authorization: Bearer $RELAYHUB_TOKEN" \
  -H 'Content-Type: application/json' \
  -d {{body}})
printf '%s\n' "$answer"{{then}}
"""

CURL_GET = r"""#!/bin/sh
# relayhub: {{purpose}} ({{call}}).
# Run: {{env}} sh {{file}}
set -eu
RELAYHUB_URL="${RELAYHUB_URL:-{{default_url}}}"

curl -sS -w '\n' -G "$RELAYHUB_URL{{path}}" \
  -H "Authorization: Bearer $RELAYHUB_TOKEN" \
  --data-urlencode "{{param}}={{param_value}}"
"""

CURL_WEBHOOK = r"""#!/bin/sh
# relayhub: {{purpose}} ({{call}}).
# With openssl, e.g. for a delivery you saved.
# Run: sh {{file}}   (checks a fixed sample and prints "valid")
set -euf

# verify_webhook SECRET WEBHOOK_ID WEBHOOK_TIMESTAMP WEBHOOK_SIGNATURE [NOW] < raw_body
# Succeeds if the raw body on stdin is signed with SECRET ("whsec_...") and was sent
# within 5 minutes of NOW (Unix seconds; default: the current time).
verify_webhook() {
  now=${5:-$(date +%s)}
  case $3 in '' | *[!0-9]*) return 1 ;; esac
  [ $((now - $3)) -le 300 ] && [ $(($3 - now)) -le 300 ] || return 1
  key=$(printf '%s' "${1#whsec_}" | base64 -d | od -An -v -tx1 | tr -d ' \n')
  expected=$({ printf '%s.%s.' "$2" "$3"; cat; } |
    openssl dgst -sha256 -mac HMAC -macopt "hexkey:$key" -binary | base64)
  for item in $4; do
    # A shell cannot compare strings in constant time: compare HMACs of the two
    # values instead, so the time the comparison takes tells an attacker nothing.
    case $item in
      v1,*) [ "$(mac_of "${item#v1,}")" = "$(mac_of "$expected")" ] && return 0 ;;
    esac
  done
  return 1
}

mac_of() {
  printf '%s' "$1" | openssl dgst -sha256 -mac HMAC -macopt "hexkey:$key"
}

# Self-check on the Standard Webhooks spec's test vector. The last argument (NOW) is
# the sample's own time, which skips the 5-minute check: self-check only, the sample
# is from 2021. Leave NOW out for real deliveries.
if printf '%s' '{{payload}}' | verify_webhook \
  '{{secret}}' '{{msg_id}}' \
  '{{timestamp}}' '{{signature}}' {{timestamp}}; then
  echo valid
else
  echo invalid
  exit 1
fi
"""

PHP_POST = r"""<?php
// relayhub: {{purpose}} ({{call}}).
// Needs PHP's curl extension. Run:
//     {{env}} php {{file}}
$url = getenv('RELAYHUB_URL') ?: '{{default_url}}';
$token = getenv('RELAYHUB_TOKEN');

$body = {{body}};
$ch = curl_init($url . '{{path}}');
curl_setopt_array($ch, [
    CURLOPT_POST => true,
    CURLOPT_POSTFIELDS => json_encode($body),
    CURLOPT_HTTPHEADER => ["Authorization: Bearer $token", 'Content-Type: application/json'],
    CURLOPT_RETURNTRANSFER => true,
]);
$answer = curl_exec($ch);
if ($answer === false) {
    fwrite(STDERR, curl_error($ch) . "\n");
    exit(1);
}
echo $answer, "\n";{{then}}
"""

PHP_GET = r"""<?php
// relayhub: {{purpose}} ({{call}}).
// Needs PHP's curl extension. Run:
//     {{env}} php {{file}}
$url = getenv('RELAYHUB_URL') ?: '{{default_url}}';
$token = getenv('RELAYHUB_TOKEN');

$query = http_build_query(['{{param}}' => {{param_value}}]);
$ch = curl_init($url . '{{path}}?' . $query);
curl_setopt_array($ch, [
    CURLOPT_HTTPHEADER => ["Authorization: Bearer $token"],
    CURLOPT_RETURNTRANSFER => true,
]);
$answer = curl_exec($ch);
if ($answer === false) {
    fwrite(STDERR, curl_error($ch) . "\n");
    exit(1);
}
echo $answer, "\n";
"""

# The body of the check, shared by plain PHP, Laravel and WordPress.
PHP_VERIFY = r"""    $age = ($now ?? time()) - (int) $timestamp;
    if (!ctype_digit($timestamp) || abs($age) > 300) {
        return false; // missing, or more than 5 minutes away from this server's clock
    }
    $key = base64_decode(preg_replace('/^whsec_/', '', $secret));
    $signed = $msgId . '.' . $timestamp . '.' . $body;
    $expected = base64_encode(hash_hmac('sha256', $signed, $key, true));
    foreach (explode(' ', $signatures) as $item) {
        if (str_starts_with($item, 'v1,') && hash_equals($expected, substr($item, 3))) {
            return true;
        }
    }
    return false;"""

PHP_WEBHOOK = r"""<?php
// relayhub: {{purpose}} ({{call}}).
// PHP 8+.
// Run: php {{file}}   (checks a fixed sample and prints "valid")
// In a handler: relayhub_verify_webhook($secret, $_SERVER['HTTP_WEBHOOK_ID'],
//     $_SERVER['HTTP_WEBHOOK_TIMESTAMP'], $_SERVER['HTTP_WEBHOOK_SIGNATURE'],
//     file_get_contents('php://input'))

/** True if $body (the raw request body) is signed with $secret ("whsec_...") and fresh. */
function relayhub_verify_webhook(
    string $secret,
    string $msgId,
    string $timestamp,
    string $signatures,
    string $body,
    ?int $now = null
): bool {
{{verify}}
}

if (PHP_SAPI === 'cli' && realpath($argv[0]) === __FILE__) {
    // Self-check on the Standard Webhooks spec's test vector. $now is the sample's own
    // time, which skips the 5-minute check: self-check only, the sample is from 2021.
    $ok = relayhub_verify_webhook(
        '{{secret}}',
        '{{msg_id}}',
        '{{timestamp}}',
        '{{signature}}',
        '{{payload}}',
        {{timestamp}}
    );
    echo $ok ? "valid\n" : "invalid\n";
    exit($ok ? 0 : 1);
}
""".replace("{{verify}}", PHP_VERIFY)

LARAVEL_HEAD = r"""<?php
// relayhub: {{purpose}} ({{call}}).
// Laravel 10+.
// Paste into routes/console.php (keep one copy of the use lines), add to
// config/services.php:
//     'relayhub' => [
//         'url' => env('RELAYHUB_URL', '{{default_url}}'),
//         'token' => env('RELAYHUB_TOKEN'),
//     ],
// and run: {{op_env}}php artisan relayhub:{{command}}

use Illuminate\Support\Facades\Artisan;
use Illuminate\Support\Facades\Http;

Artisan::command('relayhub:{{command}}', function () {
    $relayhub = Http::baseUrl(config('services.relayhub.url'))
        ->withToken(config('services.relayhub.token'))
        ->acceptJson();
"""

LARAVEL_TAIL = r"""    $this->line($response->body());{{then}}
})->purpose('{{purpose}}');
"""

LARAVEL_POST = (
    LARAVEL_HEAD
    + r"""    $body = {{body}};
    $response = $relayhub->post('{{path}}', $body);
"""
    + LARAVEL_TAIL
)

LARAVEL_GET = (
    LARAVEL_HEAD
    + r"""    $response = $relayhub->get('{{path}}', ['{{param}}' => {{param_value}}]);
"""
    + LARAVEL_TAIL
)

LARAVEL_WEBHOOK = r"""<?php
// relayhub: {{purpose}} ({{call}}).
// Laravel 10+. Save as app/Http/Middleware/VerifyRelayhubSignature.php and put it on
// the receiving route, in routes/api.php (which has no CSRF check):
//     Route::post('/hooks/relayhub', HandleRelayhubEvent::class)
//         ->middleware(VerifyRelayhubSignature::class);
// Add 'webhook_secret' => env('RELAYHUB_WEBHOOK_SECRET') to the 'relayhub' entry of
// config/services.php. Self-check (prints "valid"):
//     php artisan tinker --execute='App\Http\Middleware\VerifyRelayhubSignature::selfCheck()'

namespace App\Http\Middleware;

use Closure;
use Illuminate\Http\Request;
use Symfony\Component\HttpFoundation\Response;

class VerifyRelayhubSignature
{
    public function handle(Request $request, Closure $next): Response
    {
        $valid = self::verify(
            config('services.relayhub.webhook_secret'),
            (string) $request->header('webhook-id'),
            (string) $request->header('webhook-timestamp'),
            (string) $request->header('webhook-signature'),
            $request->getContent(),
        );
        abort_unless($valid, 400, 'Bad webhook signature');

        return $next($request);
    }

    /** True if $body (the raw request body) is signed with $secret ("whsec_...") and fresh. */
    public static function verify(
        string $secret,
        string $msgId,
        string $timestamp,
        string $signatures,
        string $body,
        ?int $now = null,
    ): bool {
{{verify}}
    }

    public static function selfCheck(): void
    {
        // The Standard Webhooks spec's test vector. $now is the sample's own time, which
        // skips the 5-minute check: self-check only, the sample is from 2021.
        $ok = self::verify(
            '{{secret}}',
            '{{msg_id}}',
            '{{timestamp}}',
            '{{signature}}',
            '{{payload}}',
            now: {{timestamp}},
        );
        echo $ok ? "valid\n" : "invalid\n";
    }
}
""".replace("{{verify}}", _indent(PHP_VERIFY))

WORDPRESS_HEAD = r"""<?php
// relayhub: {{purpose}} ({{call}}).
// WordPress with WP-CLI.
// Save as wp-content/mu-plugins/relayhub-{{command}}.php, then run:
//     {{env}} wp relayhub {{command}}

if (defined('WP_CLI') && WP_CLI) {
    WP_CLI::add_command('relayhub {{command}}', function () {
        $url = getenv('RELAYHUB_URL') ?: '{{default_url}}';
"""

WORDPRESS_TAIL = r"""        if (is_wp_error($response)) {
            WP_CLI::error($response->get_error_message());
        }
        WP_CLI::line(wp_remote_retrieve_body($response));{{then}}
    });
}
"""

WORDPRESS_POST = (
    WORDPRESS_HEAD
    + r"""        $body = {{body}};
        $response = wp_remote_post($url . '{{path}}', [
            'headers' => [
                'Authorization' => 'Bearer ' . getenv('RELAYHUB_TOKEN'),
                'Content-Type' => 'application/json',
            ],
            'body' => wp_json_encode($body),
            'data_format' => 'body',
        ]);
"""
    + WORDPRESS_TAIL
)

WORDPRESS_GET = (
    WORDPRESS_HEAD
    + r"""        $query = http_build_query(['{{param}}' => {{param_value}}]);
        $response = wp_remote_get($url . '{{path}}?' . $query, [
            'headers' => ['Authorization' => 'Bearer ' . getenv('RELAYHUB_TOKEN')],
        ]);
"""
    + WORDPRESS_TAIL
)

WORDPRESS_WEBHOOK = r"""<?php
// relayhub: {{purpose}} ({{call}}).
// WordPress. Save as wp-content/mu-plugins/relayhub-webhook.php: it adds the receiving route
// POST /wp-json/relayhub/v1/events (register that URL with the hub). In wp-config.php:
//     define('RELAYHUB_WEBHOOK_SECRET', 'whsec_...');
// Self-check (prints "valid"): wp relayhub check-webhook-signature

/** True if $body (the raw request body) is signed with $secret ("whsec_...") and fresh. */
function relayhub_verify_webhook(
    string $secret,
    string $msgId,
    string $timestamp,
    string $signatures,
    string $body,
    ?int $now = null
): bool {
{{verify}}
}

add_action('rest_api_init', function () {
    register_rest_route('relayhub/v1', '/events', [
        'methods' => 'POST',
        'permission_callback' => function (WP_REST_Request $request) {
            $valid = relayhub_verify_webhook(
                RELAYHUB_WEBHOOK_SECRET,
                (string) $request->get_header('webhook-id'),
                (string) $request->get_header('webhook-timestamp'),
                (string) $request->get_header('webhook-signature'),
                $request->get_body()
            );
            return $valid ?: new WP_Error('bad_signature', 'Bad signature', ['status' => 400]);
        },
        'callback' => function (WP_REST_Request $request) {
            $event = json_decode($request->get_body(), true);
            // Handle $event['type'] and $event['data'] here (or queue them), and drop
            // repeats by $request->get_header('webhook-id').
            return new WP_REST_Response(null, 204);
        },
    ]);
});

if (defined('WP_CLI') && WP_CLI) {
    WP_CLI::add_command('relayhub check-webhook-signature', function () {
        // The Standard Webhooks spec's test vector. The last argument ($now) is the
        // sample's own time, which skips the 5-minute check: self-check only.
        $ok = relayhub_verify_webhook(
            '{{secret}}',
            '{{msg_id}}',
            '{{timestamp}}',
            '{{signature}}',
            '{{payload}}',
            {{timestamp}}
        );
        $ok ? WP_CLI::line('valid') : WP_CLI::error('invalid');
    });
}
""".replace("{{verify}}", PHP_VERIFY)

NODE_POST = r"""// relayhub: {{purpose}} ({{call}}).
// Node 18+, no packages. Run:
//     {{env}} node {{file}}
const url = process.env.RELAYHUB_URL || "{{default_url}}";
const token = process.env.RELAYHUB_TOKEN;

const body = {{body}};
const response = await fetch(`${url}{{path}}`, {
  method: "POST",
  headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
  body: JSON.stringify(body),
});
const answer = await response.text();
console.log(answer);{{then}}
"""

NODE_GET = r"""// relayhub: {{purpose}} ({{call}}).
// Node 18+, no packages. Run:
//     {{env}} node {{file}}
const url = process.env.RELAYHUB_URL || "{{default_url}}";
const token = process.env.RELAYHUB_TOKEN;

const query = new URLSearchParams({ {{param}}: {{param_value}} });
const response = await fetch(`${url}{{path}}?${query}`, {
  headers: { Authorization: `Bearer ${token}` },
});
console.log(await response.text());
"""

NODE_WEBHOOK = r"""// relayhub: {{purpose}} ({{call}}).
// Node 18+, no packages.
// Run: node {{file}}   (checks a fixed sample and prints "valid")
// With Express, verify the raw body:
//   app.post("/hooks/relayhub", express.raw({ type: "*/*" }), (req, res) => {
//     const ok = verifyWebhook(secret, req.get("webhook-id"), req.get("webhook-timestamp"),
//       req.get("webhook-signature"), req.body);
//     ...
import { createHmac, timingSafeEqual } from "node:crypto";
import { fileURLToPath } from "node:url";

const TOLERANCE_S = 5 * 60;

// True if `body` (the raw request body, a Buffer or string) is signed with `secret`
// ("whsec_...") and was sent within 5 minutes of `now` (Unix seconds).
export function verifyWebhook(
  secret, msgId, timestamp, signatures, body, now = Date.now() / 1000,
) {
  if (!/^\d+$/.test(timestamp ?? "") || Math.abs(now - Number(timestamp)) > TOLERANCE_S) {
    return false;
  }
  const key = Buffer.from(secret.replace(/^whsec_/, ""), "base64");
  const hmac = createHmac("sha256", key).update(`${msgId}.${timestamp}.`).update(body);
  const expected = Buffer.from(hmac.digest("base64"));
  return (signatures ?? "").split(" ").some((item) => {
    const given = Buffer.from(item.slice(3));
    return (
      item.startsWith("v1,") &&
      given.length === expected.length &&
      timingSafeEqual(given, expected)
    );
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  // Self-check on the Standard Webhooks spec's test vector. `now` is the sample's own
  // time, which skips the 5-minute check: self-check only, the sample is from 2021.
  const ok = verifyWebhook(
    "{{secret}}",
    "{{msg_id}}",
    "{{timestamp}}",
    "{{signature}}",
    '{{payload}}',
    {{timestamp}},
  );
  console.log(ok ? "valid" : "invalid");
  process.exitCode = ok ? 0 : 1;
}
"""

AXIOS_HEAD = r"""// relayhub: {{purpose}} ({{call}}).
// Needs axios (npm install axios). Run:
//     {{env}} node {{file}}
import axios from "axios";

const relayhub = axios.create({
  baseURL: process.env.RELAYHUB_URL || "{{default_url}}",
  headers: { Authorization: `Bearer ${process.env.RELAYHUB_TOKEN}` },
  validateStatus: () => true, // give back error answers (4xx, 5xx) instead of throwing
});

"""

AXIOS_POST = (
    AXIOS_HEAD
    + r"""const body = {{body}};
const response = await relayhub.post("{{path}}", body);
console.log(JSON.stringify(response.data));{{then}}
"""
)

AXIOS_GET = (
    AXIOS_HEAD
    + r"""const params = { {{param}}: {{param_value}} };
const response = await relayhub.get("{{path}}", { params });
console.log(JSON.stringify(response.data));
"""
)

PYTHON_HEAD = r"""# relayhub: {{purpose}} ({{call}}).
# Needs httpx (pip install httpx). Run:
#     {{env}} python {{file}}
import os

import httpx

url = os.environ.get("RELAYHUB_URL", "{{default_url}}")
token = os.environ["RELAYHUB_TOKEN"]
headers = {"Authorization": f"Bearer {token}"}

"""

PYTHON_POST = (
    PYTHON_HEAD
    + r"""body = {{body}}
response = httpx.post(f"{url}{{path}}", json=body, headers=headers)
print(response.text){{then}}
"""
)

PYTHON_GET = (
    PYTHON_HEAD
    + r"""params = {"{{param}}": {{param_value}}}
response = httpx.get(f"{url}{{path}}", params=params, headers=headers)
print(response.text)
"""
)

PYTHON_WEBHOOK = r'''# relayhub: {{purpose}} ({{call}}).
# Python 3.10+, standard library only.
# Run: python {{file}}   (checks a fixed sample and prints "valid")
# In Flask: verify_webhook(SECRET, request.headers["webhook-id"],
#     request.headers["webhook-timestamp"], request.headers["webhook-signature"],
#     request.get_data())
import base64
import hashlib
import hmac
import time

TOLERANCE_S = 5 * 60


def verify_webhook(
    secret: str,
    msg_id: str,
    timestamp: str,
    signatures: str,
    body: bytes,
    now: float | None = None,
) -> bool:
    """True if `body` (the raw request body) is signed with `secret` ("whsec_...")
    and was sent within 5 minutes of `now` (Unix seconds; default: the current time)."""
    if not (timestamp.isascii() and timestamp.isdigit()):
        return False
    if abs((time.time() if now is None else now) - int(timestamp)) > TOLERANCE_S:
        return False
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{msg_id}.{timestamp}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest())
    for item in signatures.split():
        version, _, signature = item.partition(",")
        if version == "v1" and hmac.compare_digest(signature.encode(), expected):
            return True
    return False


if __name__ == "__main__":
    # Self-check on the Standard Webhooks spec's test vector. `now` is the sample's own
    # time, which skips the 5-minute check: self-check only, the sample is from 2021.
    ok = verify_webhook(
        "{{secret}}",
        "{{msg_id}}",
        "{{timestamp}}",
        "{{signature}}",
        b'{{payload}}',
        now={{timestamp}},
    )
    print("valid" if ok else "invalid")
    raise SystemExit(0 if ok else 1)
'''

FLUTTER_HEAD = r"""// relayhub: {{purpose}} ({{call}}).
// Flutter or Dart with package:http (flutter pub add http). The values are defines:
//     flutter run {{defines}}
// (from the Android emulator, a hub on your computer is http://10.0.2.2:8080).
// Anyone can read a token out of an app: in production, call your own server, which
// keeps the token and calls relayhub.
import 'dart:convert';

import 'package:http/http.dart' as http;

const url = String.fromEnvironment('RELAYHUB_URL', defaultValue: '{{default_url}}');
const token = String.fromEnvironment('RELAYHUB_TOKEN');

Future<void> main() async {
"""

FLUTTER_POST = (
    FLUTTER_HEAD
    + r"""  final body = {{body}};
  final response = await http.post(
    Uri.parse('$url{{path}}'),
    headers: {'Authorization': 'Bearer $token', 'Content-Type': 'application/json'},
    body: jsonEncode(body),
  );
  print(response.body);{{then}}
}
"""
)

FLUTTER_GET = (
    FLUTTER_HEAD
    + r"""  const {{param_var}} = String.fromEnvironment('{{param_env}}');
  final uri = Uri.parse('$url{{path}}')
      .replace(queryParameters: {'{{param}}': {{param_var}}});
  final response = await http.get(uri, headers: {'Authorization': 'Bearer $token'});
  print(response.body);
}
"""
)

FLUTTER_WEBHOOK = r"""// relayhub: {{purpose}} ({{call}}) in Dart.
// Webhooks go to servers: this is for a Dart server (shelf, dart_frog, ...); an app gets
// its events from your server. Needs package:crypto (dart pub add crypto).
// Run: dart run {{file}}   (checks a fixed sample and prints "valid")
import 'dart:convert';

import 'package:crypto/crypto.dart';

const toleranceSeconds = 5 * 60;

/// True if [body] (the raw request body) is signed with [secret] ("whsec_...") and
/// was sent within 5 minutes of [now] (Unix seconds; default: the current time).
bool verifyWebhook(String secret, String msgId, String timestamp, String signatures,
    List<int> body, {int? now}) {
  if (!RegExp(r'^\d{1,15}$').hasMatch(timestamp)) return false;
  now ??= DateTime.now().millisecondsSinceEpoch ~/ 1000;
  if ((now - int.parse(timestamp)).abs() > toleranceSeconds) return false;
  final key = base64.decode(secret.startsWith('whsec_') ? secret.substring(6) : secret);
  final signed = [...utf8.encode('$msgId.$timestamp.'), ...body];
  final expected = utf8.encode(base64.encode(Hmac(sha256, key).convert(signed).bytes));
  return signatures.split(' ').any((item) =>
      item.startsWith('v1,') && _sameBytes(utf8.encode(item.substring(3)), expected));
}

/// Compares in constant time, so how long it takes tells an attacker nothing.
bool _sameBytes(List<int> a, List<int> b) {
  if (a.length != b.length) return false;
  var difference = 0;
  for (var i = 0; i < a.length; i++) {
    difference |= a[i] ^ b[i];
  }
  return difference == 0;
}

void main() {
  // Self-check on the Standard Webhooks spec's test vector. `now` is the sample's own
  // time, which skips the 5-minute check: self-check only, the sample is from 2021.
  final ok = verifyWebhook(
    '{{secret}}',
    '{{msg_id}}',
    '{{timestamp}}',
    '{{signature}}',
    utf8.encode('{{payload}}'),
    now: {{timestamp}},
  );
  print(ok ? 'valid' : 'invalid');
}
"""

KOTLIN_HEAD = r"""// relayhub: {{purpose}} ({{call}}).
// Needs com.squareup.okhttp3:okhttp:4.12.0 and, off Android, org.json:json.
// Run main() with the environment set (RELAYHUB_URL is optional), e.g.
//     {{env}}
"""

KOTLIN_TAIL = r"""        .header("Authorization", "Bearer $token")
        .build()
    OkHttpClient().newCall(request).execute().use { response ->
        val answer = response.body?.string() ?: ""
        println(answer){{then}}
    }
}
"""

KOTLIN_POST = (
    KOTLIN_HEAD
    + r"""import okhttp3.MediaType.Companion.toMediaType
import okhttp3.OkHttpClient
import okhttp3.Request
import okhttp3.RequestBody.Companion.toRequestBody
import org.json.JSONObject

fun main() {
    val url = System.getenv("RELAYHUB_URL") ?: "{{default_url}}"
    val token = System.getenv("RELAYHUB_TOKEN")
    val body = JSONObject({{body}}).toString()
    val request = Request.Builder()
        .url("$url{{path}}")
        .post(body.toRequestBody("application/json".toMediaType()))
"""
    + KOTLIN_TAIL
)

KOTLIN_GET = (
    KOTLIN_HEAD
    + r"""import okhttp3.HttpUrl.Companion.toHttpUrl
import okhttp3.OkHttpClient
import okhttp3.Request

fun main() {
    val url = System.getenv("RELAYHUB_URL") ?: "{{default_url}}"
    val token = System.getenv("RELAYHUB_TOKEN")
    val target = "$url{{path}}".toHttpUrl().newBuilder()
        .addQueryParameter("{{param}}", {{param_value}})
        .build()
    val request = Request.Builder()
        .url(target)
"""
    + KOTLIN_TAIL
)

KOTLIN_WEBHOOK = r"""// relayhub: {{purpose}} ({{call}}).
// Kotlin on the JVM, no libraries.
// Run main(): it checks a fixed sample and prints "valid".
import java.security.MessageDigest
import java.util.Base64
import javax.crypto.Mac
import javax.crypto.spec.SecretKeySpec
import kotlin.math.abs

const val TOLERANCE_S = 5 * 60L

/** True if [body] (the raw request body) is signed with [secret] ("whsec_...") and was
 *  sent within 5 minutes of [now] (Unix seconds; default: the current time). */
fun verifyWebhook(
    secret: String,
    msgId: String,
    timestamp: String,
    signatures: String,
    body: ByteArray,
    now: Long = System.currentTimeMillis() / 1000,
): Boolean {
    if (!timestamp.all { it in '0'..'9' }) return false
    val sentAt = timestamp.toLongOrNull() ?: return false
    if (abs(now - sentAt) > TOLERANCE_S) return false
    val key = Base64.getDecoder().decode(secret.removePrefix("whsec_"))
    val mac = Mac.getInstance("HmacSHA256").apply { init(SecretKeySpec(key, "HmacSHA256")) }
    mac.update("$msgId.$timestamp.".toByteArray())
    val expected = Base64.getEncoder().encode(mac.doFinal(body))
    return signatures.split(" ").any {
        it.startsWith("v1,") && MessageDigest.isEqual(it.substring(3).toByteArray(), expected)
    }
}

fun main() {
    // Self-check on the Standard Webhooks spec's test vector. `now` is the sample's own
    // time, which skips the 5-minute check: self-check only, the sample is from 2021.
    val ok = verifyWebhook(
        "{{secret}}",
        "{{msg_id}}",
        "{{timestamp}}",
        "{{signature}}",
        {{payload_json}}.toByteArray(),
        now = {{timestamp}},
    )
    println(if (ok) "valid" else "invalid")
}
"""

JAVA_QUOTE = r"""
    /** A JSON string (use your JSON library instead, if the project has one). */
    static String quote(String value) {
        return '"' + value.replace("\\", "\\\\").replace("\"", "\\\"") + '"';
    }
"""

JAVA_POST = r"""// relayhub: {{purpose}} ({{call}}).
// Java 11+, no libraries. Run:
//     {{env}} java {{file}}
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;

class {{class}} {
    public static void main(String[] args) throws Exception {
        String url = System.getenv().getOrDefault("RELAYHUB_URL", "{{default_url}}");
        String token = System.getenv("RELAYHUB_TOKEN");
        String body = {{body}};
        HttpRequest request = HttpRequest.newBuilder(URI.create(url + "{{path}}"))
                .header("Authorization", "Bearer " + token)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body))
                .build();
        // HTTP/1.1: over plain http, Java offers HTTP/2 ("Upgrade: h2c") by default, and
        // some servers (uvicorn among them) then lose a POST's body.
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        HttpResponse<String> response = client.send(request, HttpResponse.BodyHandlers.ofString());
        System.out.println(response.body());{{then}}
    }
{{helper}}}
"""

JAVA_GET = r"""// relayhub: {{purpose}} ({{call}}).
// Java 11+, no libraries. Run:
//     {{env}} java {{file}}
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;

class {{class}} {
    public static void main(String[] args) throws Exception {
        String url = System.getenv().getOrDefault("RELAYHUB_URL", "{{default_url}}");
        String token = System.getenv("RELAYHUB_TOKEN");
        String {{param_var}} = {{param_value}};
        String query = "{{param}}=" + URLEncoder.encode({{param_var}}, StandardCharsets.UTF_8);
        URI uri = URI.create(url + "{{path}}?" + query);
        HttpRequest request = HttpRequest.newBuilder(uri)
                .header("Authorization", "Bearer " + token)
                .build();
        // HTTP/1.1: over plain http, Java offers HTTP/2 ("Upgrade: h2c") by default, and
        // some servers (uvicorn among them) then lose a POST's body.
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        HttpResponse<String> response = client.send(request, HttpResponse.BodyHandlers.ofString());
        System.out.println(response.body());
    }
}
"""

JAVA_WEBHOOK = r"""// relayhub: {{purpose}} ({{call}}).
// Java 11+, no libraries.
// Run: java {{file}}   (checks a fixed sample and prints "valid")
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.Base64;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

class {{class}} {
    static final long TOLERANCE_S = 5 * 60;

    /**
     * True if body (the raw request body) is signed with secret ("whsec_...") and was sent
     * within 5 minutes of now (Unix seconds: pass Instant.now().getEpochSecond()).
     */
    static boolean verifyWebhook(String secret, String msgId, String timestamp,
            String signatures, byte[] body, long now) throws GeneralSecurityException {
        if (timestamp == null || !timestamp.matches("[0-9]{1,18}")) {
            return false;
        }
        if (Math.abs(now - Long.parseLong(timestamp)) > TOLERANCE_S) {
            return false;
        }
        byte[] key = Base64.getDecoder().decode(secret.replaceFirst("^whsec_", ""));
        Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(key, "HmacSHA256"));
        mac.update((msgId + "." + timestamp + ".").getBytes(StandardCharsets.UTF_8));
        byte[] expected = Base64.getEncoder().encode(mac.doFinal(body));
        for (String item : signatures.split(" ")) {
            if (item.startsWith("v1,") && MessageDigest.isEqual(
                    item.substring(3).getBytes(StandardCharsets.UTF_8), expected)) {
                return true;
            }
        }
        return false;
    }

    public static void main(String[] args) throws GeneralSecurityException {
        // Self-check on the Standard Webhooks spec's test vector. `now` is the sample's own
        // time, which skips the 5-minute check: self-check only, the sample is from 2021.
        boolean ok = verifyWebhook(
                "{{secret}}",
                "{{msg_id}}",
                "{{timestamp}}",
                "{{signature}}",
                {{payload_json}}.getBytes(StandardCharsets.UTF_8),
                {{timestamp}}L);
        System.out.println(ok ? "valid" : "invalid");
        System.exit(ok ? 0 : 1);
    }
}
"""

CSHARP_HEAD = r"""// relayhub: {{purpose}} ({{call}}).
// .NET 6+: `dotnet new console`, replace Program.cs with this file, then run:
//     {{env}} dotnet run
using System;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Net.Http.Json;

var url = Environment.GetEnvironmentVariable("RELAYHUB_URL") ?? "{{default_url}}";
var token = Environment.GetEnvironmentVariable("RELAYHUB_TOKEN");

using var http = new HttpClient { BaseAddress = new Uri(url) };
http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);

"""

CSHARP_POST = (
    CSHARP_HEAD
    + r"""var body = {{body}};
var response = await http.PostAsJsonAsync("{{path}}", body);
var answer = await response.Content.ReadAsStringAsync();
Console.WriteLine(answer);{{then}}
"""
)

CSHARP_GET = (
    CSHARP_HEAD
    + r"""var {{param_var}} = {{param_value}} ?? "";
var path = "{{path}}?{{param}}=" + Uri.EscapeDataString({{param_var}});
var response = await http.GetAsync(path);
Console.WriteLine(await response.Content.ReadAsStringAsync());
"""
)

CSHARP_WEBHOOK = r"""// relayhub: {{purpose}} ({{call}}).
// .NET 6+, no packages.
// Run: `dotnet new console`, replace Program.cs with this file, `dotnet run` (prints "valid").
// In ASP.NET Core, pass the raw body (Request.EnableBuffering(), then read Request.Body)
// and the webhook-id, webhook-timestamp and webhook-signature headers.
using System;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

// Self-check on the Standard Webhooks spec's test vector. `now` is the sample's own
// time, which skips the 5-minute check: self-check only, the sample is from 2021.
var ok = Webhooks.Verify(
    "{{secret}}",
    "{{msg_id}}",
    "{{timestamp}}",
    "{{signature}}",
    Encoding.UTF8.GetBytes({{payload_json}}),
    now: {{timestamp}});
Console.WriteLine(ok ? "valid" : "invalid");
return ok ? 0 : 1;

static class Webhooks
{
    const long ToleranceS = 5 * 60;

    /// <summary>True if body (the raw request body) is signed with secret ("whsec_...")
    /// and was sent within 5 minutes of now (Unix seconds; default: the current time).</summary>
    public static bool Verify(string secret, string msgId, string timestamp, string signatures,
        byte[] body, long? now = null)
    {
        if (!Regex.IsMatch(timestamp, @"^[0-9]{1,18}\z")) return false;
        var current = now ?? DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        if (Math.Abs(current - long.Parse(timestamp)) > ToleranceS) return false;
        var key = Convert.FromBase64String(secret.StartsWith("whsec_") ? secret[6..] : secret);
        using var hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, key);
        hmac.AppendData(Encoding.UTF8.GetBytes($"{msgId}.{timestamp}."));
        hmac.AppendData(body);
        var expected = Encoding.UTF8.GetBytes(Convert.ToBase64String(hmac.GetHashAndReset()));
        foreach (var item in signatures.Split(' '))
        {
            var given = Encoding.UTF8.GetBytes(item.Length > 3 ? item[3..] : "");
            if (item.StartsWith("v1,")
                && CryptographicOperations.FixedTimeEquals(given, expected))
            {
                return true;
            }
        }
        return false;
    }
}
"""

GO_HEAD = r"""// relayhub: {{purpose}} ({{call}}).
// Run: {{env}} go run {{file}}
package main
"""

GO_TAIL = r"""	req.Header.Set("Authorization", "Bearer "+os.Getenv("RELAYHUB_TOKEN"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(resp.Body)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(answer)){{then}}
}
"""

GO_POST = (
    GO_HEAD
    + r"""
import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
)

func main() {
	base := os.Getenv("RELAYHUB_URL")
	if base == "" {
		base = "{{default_url}}"
	}
	body, err := json.Marshal({{body}})
	if err != nil {
		log.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, base+"{{path}}", bytes.NewReader(body))
	if err != nil {
		log.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
"""
    + GO_TAIL
)

GO_GET = (
    GO_HEAD
    + r"""
import (
	"fmt"
	"io"
	"log"
	"net/http"
	"net/url"
	"os"
)

func main() {
	base := os.Getenv("RELAYHUB_URL")
	if base == "" {
		base = "{{default_url}}"
	}
	query := url.Values{"{{param}}": []string{{{param_value}}}}
	req, err := http.NewRequest(http.MethodGet, base+"{{path}}?"+query.Encode(), nil)
	if err != nil {
		log.Fatal(err)
	}
"""
    + GO_TAIL
)

GO_WEBHOOK = r"""// relayhub: {{purpose}} ({{call}}).
// Standard library only.
// Run: go run {{file}}   (checks a fixed sample and prints "valid")
package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

const tolerance = 5 * time.Minute

// verifyWebhook reports whether body (the raw request body) is signed with secret
// ("whsec_...") and was sent within 5 minutes of now (pass time.Now()). Pass the
// webhook-id, webhook-timestamp and webhook-signature headers as they came.
func verifyWebhook(secret, msgID, timestamp, signatures string, body []byte, now time.Time) bool {
	seconds, err := strconv.ParseUint(timestamp, 10, 40)
	if err != nil {
		return false
	}
	if age := now.Sub(time.Unix(int64(seconds), 0)); age > tolerance || age < -tolerance {
		return false
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(msgID + "." + timestamp + "."))
	mac.Write(body)
	expected := []byte(base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	for _, item := range strings.Fields(signatures) {
		if strings.HasPrefix(item, "v1,") && hmac.Equal([]byte(item[3:]), expected) {
			return true
		}
	}
	return false
}

func main() {
	// Self-check on the Standard Webhooks spec's test vector. `now` is the sample's own
	// time, which skips the 5-minute check: self-check only, the sample is from 2021.
	ok := verifyWebhook(
		"{{secret}}",
		"{{msg_id}}",
		"{{timestamp}}",
		"{{signature}}",
		[]byte(`{{payload}}`),
		time.Unix({{timestamp}}, 0),
	)
	if !ok {
		fmt.Println("invalid")
		os.Exit(1)
	}
	fmt.Println("valid")
}
"""

RUBY_HEAD = r"""# relayhub: {{purpose}} ({{call}}).
# Standard library only. Run:
#     {{env}} ruby {{file}}
require "json"
require "net/http"

url = ENV.fetch("RELAYHUB_URL", "{{default_url}}")
token = ENV.fetch("RELAYHUB_TOKEN")

"""

RUBY_POST = (
    RUBY_HEAD
    + r"""body = {{body}}
headers = { "Authorization" => "Bearer #{token}", "Content-Type" => "application/json" }
response = Net::HTTP.post(URI("#{url}{{path}}"), body.to_json, headers)
puts response.body{{then}}
"""
)

RUBY_GET = (
    RUBY_HEAD
    + r"""uri = URI("#{url}{{path}}")
uri.query = URI.encode_www_form({{param}}: {{param_value}})
request = Net::HTTP::Get.new(uri, "Authorization" => "Bearer #{token}")
response = Net::HTTP.start(uri.hostname, uri.port, use_ssl: uri.scheme == "https") do |http|
  http.request(request)
end
puts response.body
"""
)

RUBY_WEBHOOK = r"""# relayhub: {{purpose}} ({{call}}).
# Ruby 3.0+, standard library only.
# Run: ruby {{file}}   (checks a fixed sample and prints "valid")
# In Rails: verify_webhook(secret, request.headers["webhook-id"],
#   request.headers["webhook-timestamp"], request.headers["webhook-signature"],
#   request.raw_post)
require "openssl"

TOLERANCE_S = 5 * 60

# True if body (the raw request body) is signed with secret ("whsec_...") and was sent
# within 5 minutes of now (Unix seconds; default: the current time).
def verify_webhook(secret, msg_id, timestamp, signatures, body, now: Time.now.to_i)
  return false unless timestamp.to_s.match?(/\A\d+\z/)
  return false if (now - timestamp.to_i).abs > TOLERANCE_S

  key = secret.delete_prefix("whsec_").unpack1("m0") # strict Base64
  digest = OpenSSL::HMAC.digest("SHA256", key, "#{msg_id}.#{timestamp}.#{body}")
  expected = [digest].pack("m0")
  signatures.to_s.split(" ").any? do |item|
    item.start_with?("v1,") && OpenSSL.secure_compare(item.delete_prefix("v1,"), expected)
  end
end

if __FILE__ == $PROGRAM_NAME
  # Self-check on the Standard Webhooks spec's test vector. `now` is the sample's own
  # time, which skips the 5-minute check: self-check only, the sample is from 2021.
  ok = verify_webhook(
    "{{secret}}",
    "{{msg_id}}",
    "{{timestamp}}",
    "{{signature}}",
    '{{payload}}',
    now: {{timestamp}}
  )
  puts ok ? "valid" : "invalid"
  exit(ok ? 0 : 1)
end
"""

# --- the `valid` branch of verify_otp, per language (first line: the comment marker)

CURL_VERDICT = r"""#
# The hub writes JSON without spaces; with jq: jq -e '.valid == true'.
case $answer in
  *'"valid":true'*) echo valid ;;
  *) echo "not valid" ;;
esac"""

PHP_VERDICT = r"""//
if ((json_decode($answer, true)['valid'] ?? false) === true) {
    echo "valid\n";
} else {
    echo "not valid\n";
}"""

LARAVEL_VERDICT = r"""//
$this->line($response->json('valid') === true ? 'valid' : 'not valid');"""

WORDPRESS_VERDICT = r"""//
$answer = json_decode(wp_remote_retrieve_body($response), true);
WP_CLI::line((($answer['valid'] ?? false) === true) ? 'valid' : 'not valid');"""

NODE_VERDICT = r"""//
console.log(JSON.parse(answer).valid === true ? "valid" : "not valid");"""

AXIOS_VERDICT = r"""//
console.log(response.data.valid === true ? "valid" : "not valid");"""

PYTHON_VERDICT = r"""#
print("valid" if response.json().get("valid") is True else "not valid")"""

FLUTTER_VERDICT = r"""//
final answer = jsonDecode(response.body);
print(answer is Map && answer['valid'] == true ? 'valid' : 'not valid');"""

KOTLIN_VERDICT = r"""//
println(if (JSONObject(answer).optBoolean("valid")) "valid" else "not valid")"""

JAVA_VERDICT = r"""//
// No JSON library here: the hub writes JSON without spaces (use yours if you have one).
boolean valid = response.body().contains("\"valid\":true");
System.out.println(valid ? "valid" : "not valid");"""

CSHARP_VERDICT = r"""//
using var json = System.Text.Json.JsonDocument.Parse(answer);
var valid = json.RootElement.TryGetProperty("valid", out var v)
    && v.ValueKind == System.Text.Json.JsonValueKind.True;
Console.WriteLine(valid ? "valid" : "not valid");"""

GO_VERDICT = r"""//
var result struct {
	Valid bool `json:"valid"`
}
if err := json.Unmarshal(answer, &result); err == nil && result.Valid {
	fmt.Println("valid")
} else {
	fmt.Println("not valid")
}"""

RUBY_VERDICT = r'''#
puts JSON.parse(response.body)["valid"] == true ? "valid" : "not valid"'''


LANGUAGES: Final = (
    Language(
        "curl", "cURL", "sh", "bash", "${name}", _shell_body,
        CURL_POST, CURL_GET, CURL_WEBHOOK,
        verdict=CURL_VERDICT,
    ),
    Language(
        "php", "PHP", "php", "php", "getenv('{name}')",
        _mapping("[", "]", "'{key}' => {value}", _sq), PHP_POST, PHP_GET, PHP_WEBHOOK,
        verdict=PHP_VERDICT,
    ),
    Language(
        "laravel", "Laravel", "php", "php", "env('{name}')",
        _mapping("[", "]", "'{key}' => {value}", _sq), LARAVEL_POST, LARAVEL_GET,
        LARAVEL_WEBHOOK,
        verdict=LARAVEL_VERDICT,
    ),
    Language(
        "wordpress", "WordPress", "php", "php", "getenv('{name}')",
        _mapping("[", "]", "'{key}' => {value}", _sq), WORDPRESS_POST, WORDPRESS_GET,
        WORDPRESS_WEBHOOK,
        verdict=WORDPRESS_VERDICT,
    ),
    Language(
        "node", "Node.js (fetch)", "mjs", "javascript", "process.env.{name}",
        _mapping("{ ", " }", "{key}: {value}"), NODE_POST, NODE_GET, NODE_WEBHOOK, indent="  ",
        verdict=NODE_VERDICT,
    ),
    Language(
        "axios", "Axios", "mjs", "javascript", "process.env.{name}",
        _mapping("{ ", " }", "{key}: {value}"), AXIOS_POST, AXIOS_GET, NODE_WEBHOOK,
        indent="  ",
        verdict=AXIOS_VERDICT,
    ),
    Language(
        "python", "Python (httpx)", "py", "python", 'os.environ["{name}"]',
        _mapping("{", "}", '"{key}": {value}'), PYTHON_POST, PYTHON_GET, PYTHON_WEBHOOK,
        verdict=PYTHON_VERDICT,
    ),
    Language(
        "flutter", "Flutter (Dart)", "dart", "dart", "const String.fromEnvironment('{name}')",
        _mapping("{", "}", "'{key}': {value}", _sq), FLUTTER_POST, FLUTTER_GET,
        FLUTTER_WEBHOOK, indent="  ",
        verdict=FLUTTER_VERDICT,
    ),
    Language(
        "kotlin", "Kotlin (OkHttp)", "kt", "kotlin", 'System.getenv("{name}")',
        _mapping("mapOf(", ")", '"{key}" to {value}'), KOTLIN_POST, KOTLIN_GET,
        KOTLIN_WEBHOOK,
        verdict=KOTLIN_VERDICT,
    ),
    Language(
        "java", "Java", "java", "java", 'System.getenv("{name}")', _java_body,
        JAVA_POST, JAVA_GET, JAVA_WEBHOOK, helper=JAVA_QUOTE,
        verdict=JAVA_VERDICT,
    ),
    Language(
        "csharp", "C#", "cs", "csharp", 'Environment.GetEnvironmentVariable("{name}")',
        _mapping("new { ", " }", "{key} = {value}"), CSHARP_POST, CSHARP_GET, CSHARP_WEBHOOK,
        verdict=CSHARP_VERDICT,
    ),
    Language(
        "go", "Go", "go", "go", 'os.Getenv("{name}")',
        _mapping("map[string]string{", "}", '"{key}": {value}', align=True), GO_POST, GO_GET,
        GO_WEBHOOK, indent="\t",
        verdict=GO_VERDICT,
    ),
    Language(
        "ruby", "Ruby", "rb", "ruby", 'ENV.fetch("{name}")',
        _mapping("{ ", " }", "{key}: {value}"), RUBY_POST, RUBY_GET, RUBY_WEBHOOK, indent="  ",
        verdict=RUBY_VERDICT,
    ),
)  # fmt: skip


# --- the docs page and the files -------------------------------------------------


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


def _index() -> str:
    lines = [
        "# API examples",
        "",
        "Generated by `python -m hub.docs_examples` from `hub/docs_examples.py`: change that",
        "module, not these files (a test fails when they differ). Every example reads",
        f"`RELAYHUB_URL` (default {DEFAULT_URL}) and `RELAYHUB_TOKEN`, prints the hub's",
        "JSON answer, and says in its first lines how to run it. Verifying a code also",
        "reads `OTP_ID` and `OTP_CODE`, a message's status `REQUEST_ID`. The webhook",
        "examples check the Standard Webhooks spec's test vector and print `valid`; their",
        "function is what your receiver calls.",
        "",
        "| | " + " | ".join(f"{op.title}<br>`{op.call}`" for op in OPERATIONS) + " |",
        "| --- |" + " --- |" * len(OPERATIONS),
    ]
    for lang in LANGUAGES:
        links = (f"[{op.id}.{lang.ext}]({example_path(lang, op)})" for op in OPERATIONS)
        lines.append(f"| {lang.name} | " + " | ".join(links) + " |")
    return "\n".join([*lines, ""])


def files() -> dict[str, str]:
    """Every file under docs/examples/, by relative path, exactly as it should read."""
    rendered = {example_path(lang, op): render(lang, op) for lang in LANGUAGES for op in OPERATIONS}
    return {"README.md": _index(), **rendered}


def drift(out: Path = OUT) -> list[str]:
    """Paths under ``out`` that are missing, differ or should not be there."""
    expected = files()
    present = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    wrong = [
        path
        for path, text in expected.items()
        if path not in present or (out / path).read_text(encoding="utf-8") != text
    ]
    return sorted(wrong + [path for path in present if path not in expected])


def write(out: Path = OUT) -> list[str]:
    """Bring ``out`` up to date; returns what changed."""
    changed = drift(out)
    expected = files()
    for path in changed:
        target = out / path
        if path in expected:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(expected[path], encoding="utf-8", newline="\n")
        else:
            target.unlink()
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m hub.docs_examples", description="Write docs/examples/ from this module."
    )
    parser.add_argument("--out", type=Path, default=OUT, help=f"folder (default {OUT})")
    parser.add_argument("--check", action="store_true", help="only report files that differ")
    args = parser.parse_args(argv)
    if args.check:
        stale = drift(args.out)
        for path in stale:
            print(f"out of date: {args.out / path}")
        if stale:
            print("run: python -m hub.docs_examples")
        return 1 if stale else 0
    for path in write(args.out):
        print(f"wrote {args.out / path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
