"""``GET /v1/account`` and ``GET /v1/launch/readiness``: where the caller's own
account stands. (The operator's admin of every account is ``admin_accounts.py``.)"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from hub.accounts.directory import Account
from hub.api.admin_accounts import account_body
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
    usage = {
        "sent_today": await hub.history.sent_today(account.id),
        "queued_now": hub.messaging.queued_count(account.id),
        "devices": hub.devices.count(account.id),
        "devices_online": hub.messaging.online_relays(account.id),
    }
    return ok({**account_body(hub.accounts, account), "plan": "self-hosted", "usage": usage})


async def _webhook_check(request: Request, account_id: str) -> dict[str, Any]:
    """An enabled endpoint whose latest delivery was answered with a 2xx."""
    hub = hub_of(request)
    endpoints = await hub.webhook_endpoints.enabled_count(account_id)
    last = await hub.webhook_attempts.latest_attempt(account_id)
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
    last_delivered = await hub.history.last_delivered_since(account.id, now - timedelta(hours=24))
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
