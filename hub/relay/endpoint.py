"""The relay WebSocket endpoint: the I/O driver around ``protocol.HubSession``.

The loop is the four steps of a sans-I/O driver: feed what arrived, drain the
session's events, handle each with one small function, flush what the session
wants to send. The handshake is refused (HTTP 403, no frame exchanged) for a
missing, unknown, disabled or revoked device token, or a client that does not
offer the ``sms-relay.v1`` subprotocol.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from starlette.responses import Response
from starlette.websockets import WebSocket

from hub.accounts.tokens import bearer_token
from hub.hub import Hub
from hub.relay.connection import RelayConnection
from hub.store.interface import StorageUnavailable
from protocol import frames as f
from protocol.close_codes import CloseCode
from protocol.hub_session import (
    AckReceived,
    HeartbeatReceived,
    HelloReceived,
    HubEvent,
    HubSession,
    ReportReceived,
)

log = logging.getLogger(__name__)


async def relay_socket(websocket: WebSocket) -> None:
    hub: Hub = websocket.app.state.hub
    token = bearer_token(websocket.headers.get("authorization", ""))
    device = None
    if token:
        # Braked like access tokens (the same brake): failures only, so a valid
        # token always works; many phones share a carrier's NAT address.
        client = websocket.client.host if websocket.client else "unknown"
        device, wait = await hub.token_brake.look_up(client, hub.devices.authenticate_now(token))
        if wait:
            headers = hub.token_brake.refusal_headers("token-guess", wait)
            await websocket.send_denial_response(Response(status_code=429, headers=headers))
            return
    if device is None or f.SUBPROTOCOL not in websocket.scope.get("subprotocols", []):
        await websocket.close(code=CloseCode.POLICY)  # before accept: the server answers HTTP 403
        return
    await websocket.accept(subprotocol=f.SUBPROTOCOL)

    # Reports are deduplicated against what storage holds, so wait for writes
    # already queued (an earlier socket's reports) and read the stored seq.
    try:
        stored_seq = await hub.devices.stored_seq(device.id)
    except StorageUnavailable:
        await websocket.close(CloseCode.TRY_AGAIN, "storage unavailable; reconnect shortly")
        return
    session = HubSession(stored_seq=stored_seq, max_frame_bytes=hub.config.relay.max_frame_bytes)
    conn = RelayConnection(
        websocket,
        device,
        session,
        queue_limit=hub.config.relay.writer_queue,
        now=hub.clock.monotonic(),
        connected_at=hub.clock.now(),
    )
    writer = asyncio.create_task(conn.run_writer(), name=f"relay-writer-{device.id}")
    hub.messaging.on_open(conn)
    close_code: int | None = None
    try:
        close_code = await _read_frames(hub, conn)
    except Exception:
        log.exception("relay %s: error while handling a frame", device.id)
        conn.close(CloseCode.INTERNAL, "internal error")
    finally:
        hub.messaging.on_disconnect(conn, close_code)
        conn.close(CloseCode.NORMAL, "")
        with contextlib.suppress(asyncio.TimeoutError, Exception):
            await asyncio.wait_for(writer, timeout=5)
        writer.cancel()


async def _read_frames(hub: Hub, conn: RelayConnection) -> int | None:
    """Read until the socket ends; returns the close code the peer (or server) gave.

    A socket the hub closes while this waits for the peer is given up at once:
    its close frame may be stuck behind a peer that reads nothing, and the
    device's jobs must not wait for that peer to send again.
    """
    websocket, session = conn.websocket, conn.session
    conn.reader = asyncio.current_task()
    while not conn.closing:
        conn.receiving = True
        try:
            message = await websocket.receive()
        except asyncio.CancelledError:
            # The cancel that conn.close() sends ends the read; any other stands.
            if conn.closing and conn.reader is not None and conn.reader.uncancel() == 0:
                return None
            raise
        finally:
            conn.receiving = False
        if message["type"] == "websocket.disconnect":
            code: int | None = message.get("code")
            return code
        conn.last_frame_at = hub.clock.monotonic()
        text = message.get("text")
        if text is None:
            conn.close(CloseCode.UNSUPPORTED_DATA, "frames are UTF-8 JSON text frames")
            return None
        session.receive_text(text)
        for event in session.events_received():
            await _handle(hub, conn, event)
        conn.flush()
    return None


async def _handle(hub: Hub, conn: RelayConnection, event: HubEvent) -> None:
    match event:
        case HelloReceived(hello):
            hub.messaging.on_hello(conn, hello)
        case AckReceived(frame):
            await hub.messaging.on_ack(conn, frame)
        case ReportReceived(report):
            await hub.messaging.on_report(conn, report)
        case HeartbeatReceived(heartbeat):
            hub.messaging.on_heartbeat(conn, heartbeat)
