"""``GET /v1/account`` and ``GET /v1/launch/readiness``: where an account stands."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from hub.accounts import Account
from hub.api.accounts import account_body
from hub.api.errors import ApiError
from hub.api.launch_checks import check, https_check, private_targets_check, real_phone_check
from hub.api.request import hub_of, require
from hub.api.responses import ok
from hub.clock import rfc3339


def _account_of(request: Request, account_id: str) -> Account:
    account = hub_of(request).accounts.get(account_id)
    if account is None:
        raise ApiError("not_found", "this token's account no longer exists")
    return account


async def get_account(request: Request) -> Response:
    principal = await require(request, "account.read")
    hub = hub_of(request)
    account = _account_of(request, principal.account_id)
    now = hub.clock.now()
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    row = await hub.store.fetchone(
        "SELECT COUNT(*) AS n FROM messages WHERE account_id = ? AND sent_at >= ?",
        (account.id, rfc3339(midnight)),
    )
    usage = {
        "sent_today": int(row["n"]) if row else 0,
        "queued_now": hub.messaging.queued_count(account.id),
        "devices": hub.devices.count(account.id),
        "devices_online": hub.messaging.online_relays(account.id),
    }
    return ok({**account_body(hub.accounts, account), "plan": "self-hosted", "usage": usage})


async def _webhook_check(request: Request, account_id: str) -> dict[str, Any]:
    """An enabled endpoint whose latest delivery was answered with a 2xx."""
    store = hub_of(request).store
    row = await store.fetchone(
        "SELECT COUNT(*) AS n FROM webhook_endpoints WHERE account_id = ? AND enabled = 1",
        (account_id,),
    )
    endpoints = row["n"] if row else 0
    last = await store.fetchone(
        "SELECT a.status_code, a.error, a.at FROM webhook_deliveries d"
        " JOIN webhook_endpoints e ON e.id = d.endpoint_id AND e.enabled = 1"
        " JOIN webhook_attempts a ON a.delivery_id = d.id AND a.n = d.attempt_count"
        " WHERE d.account_id = ? AND d.attempt_count > 0 ORDER BY d.id DESC LIMIT 1",
        (account_id,),
    )
    status = last["status_code"] if last is not None else None
    passed = status is not None and 200 <= status < 300
    if endpoints == 0:
        detail = "no enabled webhook endpoint"
    elif last is None:
        detail = f"{endpoints} endpoint(s); no delivery attempted yet"
    elif status is not None:
        detail = f"the latest delivery was answered {status} at {last['at']}"
    else:
        detail = f"the latest delivery failed at {last['at']}: {last['error']}"
    return check(
        "webhook_answers", passed, detail,
        "add an endpoint with POST /api/v1/webhooks that answers 2xx;"
        " GET /api/v1/webhooks/deliveries shows each attempt",
        optional=True,
    )  # fmt: skip


async def readiness(request: Request) -> Response:
    """The go-live checklist: each check says what it saw and, if it fails, what to do."""
    principal = await require(request, "account.read")
    hub = hub_of(request)
    account = _account_of(request, principal.account_id)
    now = hub.clock.now()
    expires = account.subscription_expires_at
    paired = hub.devices.count(account.id)
    online = hub.messaging.online_relays(account.id)
    delivered = await hub.store.fetchone(
        "SELECT MAX(delivered_at) AS at FROM messages WHERE account_id = ? AND delivered_at >= ?",
        (account.id, rfc3339(now - timedelta(hours=24))),
    )
    last_delivered = delivered["at"] if delivered else None
    checks = [
        check("token", True, "this access token is valid", ""),
        check(
            "subscription",
            (expires is None or expires > now) and not account.paused,
            "paused by the operator" if account.paused
            else f"active until {rfc3339(expires)}" if expires else "active, no end date",
            "ask the operator to renew or resume the account",
        ),
        check(
            "device_paired", paired > 0, f"{paired} device(s) paired",
            "create a pairing code and pair the Android relay app",
        ),
        check(
            "device_online", online > 0, f"{online} device(s) online",
            "open the relay app on a paired phone and check its network",
        ),
        check(
            "message_delivered", last_delivered is not None,
            f"last delivered at {last_delivered}" if last_delivered
            else "nothing delivered in the last 24 h",
            "send a test SMS with POST /api/v1/sms/send and watch its status",
        ),
        await real_phone_check(request, account.id),
        https_check(request),
        await _webhook_check(request, account.id),
        private_targets_check(request),
    ]  # fmt: skip
    # Ready when every required check passes; a failed optional one is a warning.
    ready = all(c["ok"] or c["optional"] for c in checks)
    return ok({"ready": ready, "checks": checks})
