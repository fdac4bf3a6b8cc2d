"""A hand-driven relay socket for tests that need frames relay_sim would never send."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

from protocol import frames as f

HELLO = f.Hello(
    app_version="test",
    model="raw",
    os="android 14",
    sims=[f.Sim(slot=0, carrier="Test")],
    limits=f.Limits(parts_per_minute=600),
)


def ws_url(base_url: str) -> str:
    return base_url.replace("http", "ws", 1) + "/api/v1/relay/ws"


async def open_socket(base_url: str, token: str, **options: Any) -> ClientConnection:
    return await connect(
        ws_url(base_url),
        additional_headers={"Authorization": f"Bearer {token}"},
        subprotocols=[f.SUBPROTOCOL],  # type: ignore[list-item]
        compression=None,
        open_timeout=5,
        **options,
    )


async def next_frame(ws: ClientConnection) -> f.HubFrame:
    return f.decode_hub_frame(await ws.recv())


async def hello(ws: ClientConnection, frame: f.Hello = HELLO) -> f.Welcome:
    await ws.send(f.encode(frame).decode())
    welcome = await next_frame(ws)
    assert isinstance(welcome, f.Welcome), welcome
    return welcome


async def next_job(ws: ClientConnection) -> f.Send:
    while True:
        frame = await next_frame(ws)
        if isinstance(frame, f.Send):
            return frame


def now() -> datetime:
    return datetime.now(UTC)
