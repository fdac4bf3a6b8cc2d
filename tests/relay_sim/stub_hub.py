"""Just enough hub to test relay_sim without hub/: one device, spoken to through HubSession.

It runs a real WebSocket server on a free port, checks the device token and
the subprotocol on the handshake, welcomes every hello, stores every report
(in memory) before receipting it, and lets a test push jobs, cancels and
closes. Like the relay, it waits on events, never on sleeps.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from http import HTTPStatus

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.typing import Subprotocol

from protocol import frames as f
from protocol.hub_session import (
    AckReceived,
    HeartbeatReceived,
    HelloReceived,
    HubEvent,
    HubSession,
    ReportReceived,
)
from relay_sim.pairing import PairedDevice

DEVICE_ID = "dev_stub"
DEVICE_TOKEN = "dtok_stub_secret"
BRAKED_TOKEN = "dtok_stub_braked"  # answered 429 with Retry-After: 0, as a braked hub does


def job(message_id: str = "req_1", **changes: object) -> f.Send:
    """A send job that is valid for the next hour; ``changes`` override fields."""
    fields: dict[str, object] = {
        "id": message_id,
        "to": "+998901234567",
        "text": "Your code is 4821",
        "expires_at": datetime.now(UTC) + timedelta(hours=1),
        "attempt": 1,
    }
    fields.update(changes)
    return f.Send(**fields)  # type: ignore[arg-type]


class StubHub:
    def __init__(
        self, *, heartbeat_s: int = 30, ack_timeout_s: int = 10, receipts: bool = True
    ) -> None:
        self.heartbeat_s = heartbeat_s
        self.ack_timeout_s = ack_timeout_s
        self.receipts = receipts  # False: store reports but never receipt them
        self.hellos: list[f.Hello] = []
        self.acks: list[f.Accepted | f.Rejected] = []
        self.reports: list[f.Report] = []  # stored, first copies only
        self.heartbeats: list[f.Heartbeat] = []
        self.sessions: list[HubSession] = []
        self.stored_seq = 0
        self._ws: ServerConnection | None = None
        self._write_lock = asyncio.Lock()
        self._change = asyncio.Event()
        self._server: Server | None = None

    async def __aenter__(self) -> StubHub:
        self._server = await serve(
            self._serve,
            "127.0.0.1",
            0,
            subprotocols=[Subprotocol(f.SUBPROTOCOL)],
            process_request=self._authorize,
            compression=None,
        )
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    @property
    def ws_url(self) -> str:
        return f"ws://{self._address}/api/v1/relay/ws"

    @property
    def base_url(self) -> str:
        """What ``--hub`` names this hub by (it serves no REST API, only the socket)."""
        return f"http://{self._address}"

    @property
    def _address(self) -> str:
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        return f"127.0.0.1:{port}"

    def device(self, token: str = DEVICE_TOKEN) -> PairedDevice:
        return PairedDevice(DEVICE_ID, token, self.ws_url, "Stub relay")

    @property
    def duplicate_reports(self) -> int:
        return sum(session.duplicate_reports for session in self.sessions)

    def reported(self, frame_type: type[f.Report]) -> list[str]:
        """Ids of the stored reports of one type, in arrival order."""
        return [r.id for r in self.reports if isinstance(r, frame_type) and hasattr(r, "id")]

    # --- what a test makes the hub do --------------------------------------------

    async def send_job(self, send: f.Send) -> None:
        self._open_session().send_job(send)
        await self._flush()

    async def send_cancel(self, message_id: str) -> None:
        self._open_session().send_cancel(message_id)
        await self._flush()

    async def close(self, code: int) -> None:
        assert self._ws is not None
        await self._ws.close(code, "closed by the stub hub")

    async def wait_until(self, predicate: Callable[[], bool], timeout: float = 5) -> None:  # noqa: ASYNC109
        async with asyncio.timeout(timeout):
            while not predicate():
                await self._change.wait()

    # --- the hub side of the socket ------------------------------------------------

    def _authorize(self, connection: ServerConnection, request: Request) -> Response | None:
        authorization = Headers(request.headers).get("Authorization")
        if authorization == f"Bearer {BRAKED_TOKEN}":
            braked = connection.respond(HTTPStatus.TOO_MANY_REQUESTS, "slow down\n")
            braked.headers["Retry-After"] = "0"
            return braked
        if authorization != f"Bearer {DEVICE_TOKEN}":
            return connection.respond(HTTPStatus.UNAUTHORIZED, "unknown device token\n")
        return None

    async def _serve(self, ws: ServerConnection) -> None:
        session = HubSession(stored_seq=self.stored_seq)
        self.sessions.append(session)
        self._ws = ws
        try:
            async for data in ws:
                session.receive_text(data)
                for event in session.events_received():
                    self._handle(event, session)
                await self._flush()
                self._changed()
                if session.close_code is not None:
                    await ws.close(session.close_code, session.close_reason)
        except ConnectionClosed:
            pass
        finally:
            self._changed()

    def _handle(self, event: HubEvent, session: HubSession) -> None:
        match event:
            case HelloReceived(hello=hello):
                self.hellos.append(hello)
                session.send_welcome(
                    f.Welcome(
                        device_id=DEVICE_ID,
                        session_id=f"ses_{len(self.sessions)}",
                        heartbeat_s=self.heartbeat_s,
                        ack_timeout_s=self.ack_timeout_s,
                        max_inflight=10,
                        server_time=datetime.now(UTC),
                    )
                )
            case AckReceived(frame=frame):
                self.acks.append(frame)
            case ReportReceived(report=report):
                self.reports.append(report)  # "durably stored"
                self.stored_seq = report.seq
                if self.receipts:
                    session.report_stored(report.seq)
            case HeartbeatReceived(heartbeat=heartbeat):
                self.heartbeats.append(heartbeat)

    async def _flush(self) -> None:
        # Drain under the lock, so frames leave in the order the session made them.
        async with self._write_lock:
            session, ws = self.sessions[-1], self._ws
            assert ws is not None
            for data in session.data_to_send():
                try:
                    await ws.send(data, text=True)
                except ConnectionClosed:
                    return

    def _open_session(self) -> HubSession:
        assert self.sessions, "no relay has connected yet"
        return self.sessions[-1]

    def _changed(self) -> None:
        self._change.set()
        self._change = asyncio.Event()
