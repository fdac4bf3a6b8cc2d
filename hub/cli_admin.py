"""``relayhub account …`` and ``relayhub token …``: the operator API from a shell.

They call the running hub's REST API (``--hub``, default http://127.0.0.1:8080)
with a token from ``--token`` or ``RELAYHUB_TOKEN``, so they work the same
against a remote hub and every rule of the API applies. Answers are printed
as JSON; a failure prints the problem's detail and exits 1.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

import httpx

DEFAULT_HUB = "http://127.0.0.1:8080"


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--hub", default=DEFAULT_HUB, help=f"hub URL (default {DEFAULT_HUB})")
    parser.add_argument("--token", help="access token (default: $RELAYHUB_TOKEN)")


def account_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="relayhub account", description="operator: accounts")
    sub = parser.add_subparsers(dest="action", required=True)
    create = sub.add_parser("create", help="create an account and its owner token")
    create.add_argument("name")
    sub.add_parser("list", help="list accounts")
    update = sub.add_parser("update", help="change an account's settings")
    update.add_argument("account_id")
    pause = update.add_mutually_exclusive_group()
    pause.add_argument("--pause", action="store_true", help="block its sends (409)")
    pause.add_argument("--resume", action="store_true", help="let it send again")
    update.add_argument(
        "--subscription-expires-at", metavar="TIME|none", help="RFC 3339 time, or none"
    )
    update.add_argument("--send-per-minute", type=int)
    update.add_argument("--max-queued", type=int)
    for action in sub.choices.values():
        _common(action)
    return parser


def token_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="relayhub token", description="access tokens")
    sub = parser.add_subparsers(dest="action", required=True)
    create = sub.add_parser("create", help="create a token; its secret is printed once")
    create.add_argument("name")
    create.add_argument("--scope", action="append", required=True, help="repeat for each scope")
    create.add_argument("--expires-at", help="RFC 3339 time")
    sub.add_parser("list", help="list this account's tokens")
    revoke = sub.add_parser("revoke", help="revoke a token at once")
    revoke.add_argument("token_id")
    for action in sub.choices.values():
        _common(action)
    return parser


def _account_request(args: argparse.Namespace) -> tuple[str, str, Any]:
    if args.action == "create":
        return "POST", "/api/v1/admin/accounts", {"name": args.name}
    if args.action == "list":
        return "GET", "/api/v1/admin/accounts", None
    body: dict[str, Any] = {}
    if args.pause or args.resume:
        body["paused"] = bool(args.pause)
    if args.subscription_expires_at is not None:
        expires = args.subscription_expires_at
        body["subscription_expires_at"] = None if expires.lower() == "none" else expires
    limits = {
        key: value
        for key, value in (("send_per_minute", args.send_per_minute),
                           ("max_queued", args.max_queued))
        if value is not None
    }  # fmt: skip
    if limits:
        body["limits"] = limits
    return "PATCH", f"/api/v1/admin/accounts/{args.account_id}", body


def _token_request(args: argparse.Namespace) -> tuple[str, str, Any]:
    if args.action == "create":
        body: dict[str, Any] = {"name": args.name, "scopes": args.scope}
        if args.expires_at:
            body["expires_at"] = args.expires_at
        return "POST", "/api/v1/tokens", body
    if args.action == "list":
        return "GET", "/api/v1/tokens", None
    return "DELETE", f"/api/v1/tokens/{args.token_id}", None


def _call(args: argparse.Namespace, method: str, path: str, body: Any) -> int:
    token = args.token or os.environ.get("RELAYHUB_TOKEN")
    if not token:
        print("relayhub: give --token or set RELAYHUB_TOKEN", file=sys.stderr)
        return 2
    try:
        response = httpx.request(
            method,
            args.hub.rstrip("/") + path,
            json=body,
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
    except httpx.HTTPError as exc:
        print(f"relayhub: cannot reach {args.hub}: {exc}", file=sys.stderr)
        return 1
    answer = response.json()
    if not answer.get("ok"):
        print(f"relayhub: {answer.get('code')}: {answer.get('detail')}", file=sys.stderr)
        for error in answer.get("errors", []):
            print(f"  {error['field']}: {error['message']}", file=sys.stderr)
        return 1
    print(json.dumps(answer, indent=2, ensure_ascii=False))
    if "token" in answer:
        print("The token above is shown only once: store it now.", file=sys.stderr)
    return 0


def account_main(argv: list[str]) -> int:
    args = account_parser().parse_args(argv)
    return _call(args, *_account_request(args))


def token_main(argv: list[str]) -> int:
    args = token_parser().parse_args(argv)
    return _call(args, *_token_request(args))
