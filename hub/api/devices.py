"""``GET /v1/devices``: paired relays with their live state."""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import Response

from hub.api.request import hub_of, require
from hub.api.responses import page
from hub.clock import rfc3339


async def list_devices(request: Request) -> Response:
    principal = await require(request, "devices.read")
    hub = hub_of(request)
    rows = await hub.devices.list_rows(principal.account_id)
    items = []
    for row in rows:
        conn = hub.delivery.connections.get(row["id"])
        heartbeat = conn.heartbeat if conn else None
        items.append(
            {
                "id": row["id"],
                "name": row["name"],
                "online": conn is not None and not conn.closing,
                "disabled": bool(row["disabled"]),
                "model": row["model"],
                "app_version": row["app_version"],
                "os": row["os"],
                "sims": json.loads(row["sims"]),
                "parts_per_minute": row["parts_per_minute"],
                "in_flight": len(hub.delivery.dispatcher.held_by(row["id"])),
                "connected_at": rfc3339(conn.connected_at) if conn else None,
                "last_heartbeat_at": (
                    rfc3339(conn.heartbeat_at) if conn and conn.heartbeat_at else None
                ),
                "last_seen_at": row["last_seen_at"],
                "battery": heartbeat.battery if heartbeat else row["battery"],
                "charging": heartbeat.charging if heartbeat else _bool(row["charging"]),
                "signal": heartbeat.signal if heartbeat else row["signal"],
                "network": heartbeat.network if heartbeat else row["network"],
                "created_at": row["created_at"],
            }
        )
    return page(items, None)


def _bool(value: int | None) -> bool | None:
    return None if value is None else bool(value)
