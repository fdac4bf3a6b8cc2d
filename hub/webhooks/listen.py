"""``relayhub listen``: a webhook receiver on this machine, for trying webhooks out.

It prints every event the hub posts and checks its Standard Webhooks signature
with the endpoint's secret, the way a real receiver should: the signature
over ``{webhook-id}.{webhook-timestamp}.{body}`` and a timestamp no older than
five minutes. A valid event is answered 204; a bad signature 401, so the hub's
attempts log shows the failure and retries it.
"""

from __future__ import annotations

import argparse
import hmac
import json
import sys
import time
from typing import Final, TextIO

import uvicorn
from starlette.types import Receive, Scope, Send

from hub.serving.server import bind
from hub.webhooks.signer import PREFIX, signature

TOLERANCE_S: Final = 300


def verdict(secret: str | None, headers: dict[str, str], body: bytes, now: float) -> str | None:
    """None when the event is genuine; otherwise what is wrong with it, in words."""
    if secret is None:
        return None
    message_id = headers.get("webhook-id", "")
    stamp = headers.get("webhook-timestamp", "")
    if not message_id or not stamp.isdigit():
        return "webhook-id or webhook-timestamp is missing"
    if abs(now - int(stamp)) > TOLERANCE_S:
        return f"webhook-timestamp is more than {TOLERANCE_S} s away from this clock"
    expected = signature(secret, message_id, int(stamp), body)
    offered = headers.get("webhook-signature", "").split()
    if any(hmac.compare_digest(expected, candidate) for candidate in offered):
        return None
    return "no signature matches this secret (was it rotated, or is it another endpoint's?)"


async def read_request(scope: Scope, receive: Receive) -> tuple[dict[str, str], bytes]:
    """One HTTP request's headers (lower-case names) and its whole body."""
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    return {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}, body


class Listener:
    """A bare ASGI app: every POST is one event, printed to ``out``."""

    def __init__(self, secret: str | None, out: TextIO) -> None:
        self.secret = secret
        self.out = out

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        headers, body = await read_request(scope, receive)
        problem = verdict(self.secret, headers, body, time.time())
        self._print(headers, body, problem)
        status = 401 if problem else 204
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    def _print(self, headers: dict[str, str], body: bytes, problem: str | None) -> None:
        try:
            event = json.loads(body)
            kind, data = event.get("type", "?"), event.get("data", {})
        except (ValueError, AttributeError):
            kind, data = "(not JSON)", {}
        if self.secret is None:
            check = "signature not checked: pass --secret whsec_… to check it"
        else:
            check = "signature valid" if problem is None else f"REFUSED (401): {problem}"
        print(f"{kind}  {headers.get('webhook-id', '')}  {check}", file=self.out, flush=True)
        if data:
            print(f"    {json.dumps(data, ensure_ascii=False)}", file=self.out, flush=True)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="relayhub listen",
        description="Print the webhooks a hub posts here and check their signatures.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=9000, help="port to listen on")
    parser.add_argument(
        "--secret", help="the endpoint's signing secret (whsec_…), from its creation answer"
    )
    args = parser.parse_args(argv)
    if args.secret is not None and not args.secret.startswith(PREFIX):
        parser.error(f"--secret: a signing secret starts with {PREFIX}")
    try:
        sock = bind(args.host, args.port)  # bound before the line below: it is true when read
    except OSError as exc:
        print(f"relayhub listen: cannot listen on {args.host}:{args.port}: {exc.strerror};"
              " choose another with --port", file=sys.stderr)  # fmt: skip
        return 1
    print(
        f"listening on http://{args.host}:{args.port}/ — register that URL as a webhook"
        " (a hub needs [webhooks] allow_private_targets = true to post to this machine)",
        flush=True,
    )
    config = uvicorn.Config(Listener(args.secret, sys.stdout), log_level="warning", lifespan="off")
    uvicorn.Server(config).run(sockets=[sock])
    return 0
