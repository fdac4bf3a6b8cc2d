"""Go-live checks that look past "it works": real phones, TLS, webhook reach.

Each check is a dict ``{name, ok, optional, detail, fix}``: a failed required
check keeps the account "not ready"; a failed optional one is a warning.
"""

from __future__ import annotations

import ipaddress
import urllib.parse
from typing import Any, Final

from starlette.requests import Request

from hub.api.origin import origin_for
from hub.api.request import hub_of

# How the bundled simulator introduces itself (relay_sim/phone.py): its hello
# says model "relay-sim" and an os ending "(simulated)". A test keeps these in
# step with relay_sim.
SIMULATOR_MODEL: Final = "relay-sim"
SIMULATED_OS_MARK: Final = "(simulated)"


def check(name: str, passed: bool, detail: str, fix: str, optional: bool = False) -> dict[str, Any]:
    return {
        "name": name,
        "ok": passed,
        "optional": optional,
        "detail": detail,
        "fix": None if passed else fix,
    }


def is_simulated(model: str | None, os: str | None) -> bool:
    return model == SIMULATOR_MODEL or SIMULATED_OS_MARK in (os or "")


async def real_phone_check(request: Request, account_id: str) -> dict[str, Any]:
    """At least one online phone is not the simulator: simulated relays send no SMS."""
    hub = hub_of(request)
    rows = await hub.devices.list_rows(account_id)
    online = [r for r in rows if hub.messaging.is_online(r["id"])]
    simulated = sum(is_simulated(r["model"], r["os"]) for r in online)
    real = len(online) - simulated
    if not rows:
        detail = "no phone paired yet"
    elif not online:
        detail = f"none of the {len(rows)} paired phone(s) is online"
    elif real == 0:
        detail = (
            f"every online phone ({simulated}) is simulated by relay-sim:"
            " no real SMS leaves the hub"
        )
    else:
        detail = f"{real} real phone(s) online" + (
            f", besides {simulated} simulated" if simulated else ""
        )
    return check(
        "real_phone", real > 0, detail,
        "pair a real Android phone running the relayhub app and keep it online;"
        " relayhub sim relays only pretend to send",
    )  # fmt: skip


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def https_check(request: Request) -> dict[str, Any]:
    """Phones and clients reach the hub over TLS.

    The origin is the one phones are given at pairing: ``[server] public_url``,
    else the request's own (which honours a local proxy's X-Forwarded-Proto).
    Plain http on loopback is only a warning: nothing crosses a network yet.
    """
    origin = origin_for(request)
    parts = urllib.parse.urlsplit(origin)
    host = parts.hostname or ""
    fix = (
        'serve the hub behind a TLS proxy and set [server] public_url = "https://…"'
        " in hub.toml, so phones and clients connect with https and wss"
    )
    if parts.scheme == "https":
        return check("https", True, f"served at {origin}", fix)
    if _is_loopback(host):
        detail = (
            f"served over plain http at {origin}, a loopback address:"
            " only this machine can reach it"
        )
        return check("https", False, detail, fix, optional=True)
    detail = (
        f"served over plain http at {origin}: access tokens, device tokens"
        " and one-time codes cross the network readable"
    )
    return check("https", False, detail, fix)


def private_targets_check(request: Request) -> dict[str, Any]:
    """Webhook URLs cannot point into the hub's own network (SSRF)."""
    allowed = hub_of(request).config.webhooks.allow_private_targets
    detail = (
        "[webhooks] allow_private_targets = true: webhook URLs may point at"
        " loopback and private addresses of the hub's own network"
        if allowed
        else "webhook URLs must resolve to public addresses"
    )
    return check(
        "private_webhook_targets", not allowed, detail,
        "set allow_private_targets = false in [webhooks] of hub.toml, unless your"
        " webhook receivers really live on a private network",
        optional=True,
    )  # fmt: skip
