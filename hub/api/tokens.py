"""``/v1/tokens``: access tokens with scopes and an optional expiry; the secret is shown once."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec
from msgspec import Meta
from starlette.requests import Request
from starlette.responses import Response

from hub.accounts.tokens import ADMIN_SCOPE, SCOPES
from hub.api.errors import ApiError, validation_error
from hub.api.request import Check, hub_of, read_body, require
from hub.api.responses import ok, page
from hub.store.interface import Row

SCOPE = "tokens.manage"


class CreateTokenRequest(msgspec.Struct):
    name: Annotated[str, Meta(min_length=1, max_length=80)]
    scopes: Annotated[list[str], Meta(min_length=1, max_length=len(SCOPES) + 1)]
    expires_at: datetime | None = None


def token_body(row: Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "name": row["name"],
        "scopes": row["scopes"].split(),
        "created_at": row["created_at"],
        "expires_at": row["expires_at"],
        "last_used_at": row["last_used_at"],
    }


def _checks(grantable: frozenset[str], now: datetime) -> Check:
    """A token can grant only scopes it holds itself: no way up through tokens.manage."""

    def check(body: dict[str, Any]) -> list[dict[str, str]]:
        errors = []
        allowed = grantable & {*SCOPES, ADMIN_SCOPE}
        unknown = sorted(set(body.get("scopes", ())) - allowed)
        if unknown:
            errors.append({
                "field": "scopes",
                "message": f"unknown or not yours to grant: {', '.join(unknown)};"
                f" choose from {', '.join(sorted(allowed))}",
            })  # fmt: skip
        expires = body.get("expires_at")
        if isinstance(expires, str):
            try:
                moment = datetime.fromisoformat(expires)
            except ValueError:
                moment = None
            if moment is not None and (moment.tzinfo is None or moment <= now):
                errors.append({
                    "field": "expires_at",
                    "message": "must be a future time with a zone, e.g. 2027-01-01T00:00:00Z",
                })  # fmt: skip
        return errors

    return check


async def create_token(request: Request) -> Response:
    principal = await require(request, SCOPE)
    hub = hub_of(request)
    check = _checks(principal.scopes, hub.clock.now())
    body = await read_body(request, CreateTokenRequest, check)
    if body.expires_at is not None and body.expires_at.tzinfo is None:
        raise validation_error([{"field": "expires_at", "message": "needs a zone"}])
    expires = body.expires_at
    if principal.expires_at is not None:
        # A token that ends cannot make one that outlives it.
        if expires is not None and expires > principal.expires_at:
            raise validation_error([{
                "field": "expires_at",
                "message": "must not be later than this token's own expiry",
            }])  # fmt: skip
        expires = expires or principal.expires_at
    scopes = sorted(set(body.scopes))
    secret, row = await hub.auth.create(principal.account_id, body.name, scopes, expires)
    return ok({**token_body(row), "token": secret}, status=201)


async def list_tokens(request: Request) -> Response:
    principal = await require(request, SCOPE)
    rows = await hub_of(request).auth.list(principal.account_id)
    # "current": the token this request came with (revoking it signs the caller out).
    return page([{**token_body(r), "current": r["id"] == principal.token_id} for r in rows], None)


async def revoke_token(request: Request) -> Response:
    principal = await require(request, SCOPE)
    token_id = request.path_params["token_id"]
    auth = hub_of(request).auth
    scopes = await auth.scopes_of(principal.account_id, token_id)
    if scopes is None:
        raise ApiError("not_found", f"no token {token_id} in this account")
    if not scopes <= principal.scopes:
        missing = ", ".join(sorted(scopes - principal.scopes))
        raise ApiError(
            "forbidden",
            f"that token holds scopes this one does not ({missing}); revoke it with one that does",
            extra={"missing_scope": sorted(scopes - principal.scopes)[0]},
        )
    if not await auth.revoke(principal.account_id, token_id):
        raise ApiError("not_found", f"no token {token_id} in this account")
    return ok({"id": token_id, "revoked": True})
