"""Operator API: ``/v1/admin/accounts`` (scope ``admin``). One hub serves many accounts."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec
from msgspec import UNSET, Meta, UnsetType
from starlette.requests import Request
from starlette.responses import Response

from hub.accounts.directory import Account, AccountDirectory
from hub.accounts.tokens import ADMIN_SCOPE, SCOPES
from hub.api.errors import ApiError
from hub.api.request import hub_of, query_int, read_body, require
from hub.api.responses import ok, page
from hub.clock import rfc3339


class CreateAccountRequest(msgspec.Struct):
    name: Annotated[str, Meta(min_length=1, max_length=120)]


async def create_account(request: Request) -> Response:
    await require(request, ADMIN_SCOPE)
    body = await read_body(request, CreateAccountRequest)
    hub = hub_of(request)
    account = await hub.accounts.create(body.name)
    # The account's first token: every customer scope, never the operator's.
    secret, _ = await hub.auth.create(account.id, "owner", list(SCOPES), None)
    return ok({**account_body(hub.accounts, account), "token": secret}, status=201)


def account_body(directory: AccountDirectory, account: Account) -> dict[str, Any]:
    per_minute, max_queued = directory.limits(account)
    expires = account.subscription_expires_at
    return {
        "account_id": account.id,
        "name": account.name,
        "created_at": account.created_at,
        "subscription_expires_at": rfc3339(expires) if expires else None,
        "paused": account.paused,
        "limits": {"send_per_minute": per_minute, "max_queued": max_queued},
    }


class LimitsPatch(msgspec.Struct, forbid_unknown_fields=True):
    send_per_minute: Annotated[int, Meta(ge=1, le=100_000)] | UnsetType = UNSET
    max_queued: Annotated[int, Meta(ge=1, le=10_000_000)] | UnsetType = UNSET


class AccountPatch(msgspec.Struct, forbid_unknown_fields=True):
    subscription_expires_at: Annotated[datetime, Meta(tz=True)] | UnsetType | None = UNSET
    paused: bool | UnsetType = UNSET
    limits: LimitsPatch | UnsetType = UNSET


async def update_account(request: Request) -> Response:
    await require(request, ADMIN_SCOPE)
    hub = hub_of(request)
    account_id = request.path_params["account_id"]
    await hub.refresh_account(account_id)  # made on another node, perhaps
    account = hub.accounts.get(account_id)
    if account is None:
        raise ApiError("not_found", f"no account {account_id}")
    body = await read_body(request, AccountPatch)
    changes: dict[str, object] = {}
    if body.subscription_expires_at is not UNSET:
        changes["subscription_expires_at"] = body.subscription_expires_at
    if body.paused is not UNSET:
        changes["paused"] = body.paused
    if isinstance(body.limits, LimitsPatch):
        if body.limits.send_per_minute is not UNSET:
            changes["send_per_minute"] = body.limits.send_per_minute
        if body.limits.max_queued is not UNSET:
            changes["max_queued"] = body.limits.max_queued
    updated = await hub.accounts.update(account.id, **changes)
    if updated is None:
        raise ApiError("not_found", f"no account {account_id}")
    return ok(account_body(hub.accounts, updated))


async def list_accounts(request: Request) -> Response:
    await require(request, ADMIN_SCOPE)
    limit = query_int(request, "limit", 100, 1, 500)
    cursor = request.query_params.get("cursor", "")
    directory = hub_of(request).accounts
    accounts, next_cursor = await directory.page(cursor, limit)
    return page([account_body(directory, a) for a in accounts], next_cursor)
