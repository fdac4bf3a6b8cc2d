"""``GET /v1/devices``: paired relays with their live state."""

from __future__ import annotations

import json
from typing import Annotated, Any

import msgspec
from msgspec import Meta
from starlette.requests import Request
from starlette.responses import Response

from hub.api.errors import ApiError
from hub.api.request import hub_of, read_body, require
from hub.api.responses import ok, page
from hub.clock import rfc3339
from hub.cluster.control import CloseRelay, Why
from hub.hub import Hub
from hub.relay.devices import Device
from hub.store.interface import Row, Statement
from protocol.close_codes import CloseCode


class DevicePatch(msgspec.Struct, forbid_unknown_fields=True):
    name: Annotated[str, Meta(min_length=1, max_length=80)] | None = None
    disabled: bool | None = None


def _device_or_404(request: Request, account_id: str) -> Device:
    device_id = request.path_params["device_id"]
    device = hub_of(request).devices.get(account_id, device_id)
    if device is None:
        raise ApiError("not_found", f"no device {device_id} in this account")
    return device


async def get_device(request: Request) -> Response:
    principal = await require(request, "devices.read")
    device = _device_or_404(request, principal.account_id)
    sent = await _sent_today(request, principal.account_id)
    return ok(_device_body(request, await hub_of(request).devices.row(device.id), sent))


async def update_device(request: Request) -> Response:
    principal = await require(request, "devices.manage")
    _device_or_404(request, principal.account_id)
    body = await read_body(request, DevicePatch)
    device = _device_or_404(request, principal.account_id)  # again: it may have gone meanwhile
    hub = hub_of(request)
    # Disabling closes the socket wherever it is: its node is told at commit.
    closing = _close_elsewhere(hub, device) if body.disabled else []
    updated = await hub.devices.update(device, name=body.name, disabled=body.disabled, also=closing)
    if updated.disabled:
        hub.messaging.disconnect(device.id, CloseCode.REVOKED, "the device was disabled")
    sent = await _sent_today(request, principal.account_id)
    return ok(_device_body(request, await hub.devices.row(device.id), sent))


async def revoke_device(request: Request) -> Response:
    principal = await require(request, "devices.manage")
    device = _device_or_404(request, principal.account_id)
    hub = hub_of(request)
    await hub.devices.revoke(device, also=_close_elsewhere(hub, device))
    hub.messaging.disconnect(device.id, CloseCode.REVOKED, "the device was revoked")
    return ok({"id": device.id, "revoked": True})


def _close_elsewhere(hub: Hub, device: Device) -> list[Statement]:
    """Statements telling the node holding the device's socket to close it with
    4403 (none on one node, or when this node holds it)."""
    revoked = CloseRelay(device.id, 0, Why.REVOKED)
    return hub.coordination.tell_holder(device.account_id, device.id, revoked)


async def list_devices(request: Request) -> Response:
    principal = await require(request, "devices.read")
    rows = await hub_of(request).devices.list_rows(principal.account_id)
    sent = await _sent_today(request, principal.account_id)
    return page([_device_body(request, row, sent) for row in rows], None)


async def _sent_today(request: Request, account_id: str) -> dict[str, int]:
    """Messages each device of the account handed to its carrier since midnight (UTC)."""
    return await hub_of(request).history.sent_today_by_device(account_id)


def _device_body(request: Request, row: Row, sent_today: dict[str, int]) -> dict[str, Any]:
    """A device as stored, with its live state from the socket if it is online."""
    hub = hub_of(request)
    conn = hub.messaging.socket_facts(row["id"])
    heartbeat = conn.heartbeat if conn else None
    return {
        "id": row["id"],
        "name": row["name"],
        "online": hub.messaging.is_online(row["id"]),
        "disabled": bool(row["disabled"]),
        "model": row["model"],
        "app_version": row["app_version"],
        "os": row["os"],
        "sims": json.loads(row["sims"]),
        "parts_per_minute": row["parts_per_minute"],
        "in_flight": hub.messaging.in_flight(row["id"]),
        "sent_today": sent_today.get(row["id"], 0),
        "connected_at": rfc3339(conn.connected_at) if conn else None,
        "last_heartbeat_at": rfc3339(conn.heartbeat_at) if conn and conn.heartbeat_at else None,
        "last_seen_at": row["last_seen_at"],
        "battery": heartbeat.battery if heartbeat else row["battery"],
        "charging": heartbeat.charging if heartbeat else _bool(row["charging"]),
        "signal": heartbeat.signal if heartbeat else row["signal"],
        "network": heartbeat.network if heartbeat else row["network"],
        "created_at": row["created_at"],
    }


def _bool(value: int | None) -> bool | None:
    return None if value is None else bool(value)
