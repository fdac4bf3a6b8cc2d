"""Operator API: ``/v1/admin/accounts`` (scope ``admin``). One hub serves many accounts."""

from __future__ import annotations

import sqlite3
from typing import Annotated

import msgspec
from msgspec import Meta
from starlette.requests import Request
from starlette.responses import Response

from hub.api.request import hub_of, query_int, read_body, require
from hub.api.responses import ok, page
from hub.auth import ADMIN_SCOPE, SCOPES
from hub.clock import rfc3339
from hub.ids import new_id


class CreateAccountRequest(msgspec.Struct):
    name: Annotated[str, Meta(min_length=1, max_length=120)]


async def create_account(request: Request) -> Response:
    await require(request, ADMIN_SCOPE)
    body = await read_body(request, CreateAccountRequest)
    hub = hub_of(request)
    now = hub.clock.now()
    account_id = new_id("acc", now)

    def insert(conn: sqlite3.Connection) -> None:
        conn.execute(
            "INSERT INTO accounts (id, name, created_at) VALUES (?, ?, ?)",
            (account_id, body.name, rfc3339(now)),
        )

    await hub.store.write(insert)
    # The account's first token: every customer scope, never the operator's.
    secret, _ = await hub.auth.create(account_id, "owner", list(SCOPES), None)
    return ok(
        {"account_id": account_id, "name": body.name, "created_at": rfc3339(now), "token": secret},
        status=201,
    )


async def list_accounts(request: Request) -> Response:
    await require(request, ADMIN_SCOPE)
    limit = query_int(request, "limit", 100, 1, 500)
    cursor = request.query_params.get("cursor", "")
    rows = await hub_of(request).store.fetchall(
        "SELECT id, name, created_at FROM accounts WHERE id > ? ORDER BY id LIMIT ?",
        (cursor, limit + 1),
    )
    items = [{"account_id": r["id"], "name": r["name"], "created_at": r["created_at"]}
             for r in rows[:limit]]  # fmt: skip
    return page(items, rows[limit - 1]["id"] if len(rows) > limit else None)
