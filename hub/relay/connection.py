"""One live relay socket: its protocol session and its single writer.

Everything that goes to a relay passes through ``flush()`` into a bounded
outgoing queue drained by one writer task, so a slow relay only ever slows
itself. A relay that lets the queue fill is closed with 1013 (try again later)
rather than buffered without limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from datetime import datetime

from starlette.websockets import WebSocket

from hub.relay.devices import Device
from protocol import frames as f
from protocol.close_codes import CloseCode
from protocol.hub_session import HubSession

log = logging.getLogger(__name__)

_RECEIPT = b'{"type":"receipt"'  # how the session encodes a receipt (msgspec, tag first)


class RelayConnection:
    def __init__(
        self,
        websocket: WebSocket,
        device: Device,
        session: HubSession,
        *,
        queue_limit: int,
        now: float,
        connected_at: datetime,
    ) -> None:
        self.websocket = websocket
        self.device = device
        self.session = session
        self.queue_limit = queue_limit
        self.last_frame_at = now  # monotonic
        self.connected_at = connected_at
        self.heartbeat: f.Heartbeat | None = None
        self.heartbeat_at: datetime | None = None
        self.hello: f.Hello | None = None
        # The seq of the last report whose write this socket submitted: the next
        # write must move the stored last_seq from exactly here.
        self.submitted_seq = session.stored_seq
        self.closing = False
        self.reader: asyncio.Task[object] | None = None  # the task reading frames
        self.receiving = False  # the reader waits for the peer right now
        self._outgoing: deque[bytes] = deque()
        self._close: tuple[int, str] | None = None
        self._wakeup = asyncio.Event()

    @property
    def device_id(self) -> str:
        return self.device.id

    @property
    def account_id(self) -> str:
        return self.device.account_id

    def flush(self) -> None:
        """Move what the session wants to send into the writer's queue.

        Receipts are cumulative, so a receipt still waiting at the end of the
        queue is replaced by a newer one: a group commit that stores hundreds
        of reports at once queues one frame, not hundreds.
        """
        for data in self.session.data_to_send():
            if (
                data.startswith(_RECEIPT)
                and self._outgoing
                and self._outgoing[-1].startswith(_RECEIPT)
            ):
                self._outgoing[-1] = data
                continue
            if len(self._outgoing) >= self.queue_limit:
                self._outgoing.clear()  # it cannot keep up: no point sending the backlog
                self.close(CloseCode.TRY_AGAIN, "the relay reads too slowly")
                return
            self._outgoing.append(data)
        if self.session.close_code is not None:
            self.close(self.session.close_code, self.session.close_reason)
        self._wakeup.set()

    def take_outgoing(self) -> list[bytes]:
        """Take the frames still waiting for the writer, in order (a test without a
        socket reads what the hub sent this way)."""
        out = list(self._outgoing)
        self._outgoing.clear()
        return out

    def send_job(self, job: f.Send) -> None:
        if not self.closing:
            self.session.send_job(job)
            self.flush()

    def send_cancel(self, message_id: str) -> None:
        if not self.closing:
            self.session.send_cancel(message_id)
            self.flush()

    def report_stored(self, seq: int) -> None:
        if not self.closing:
            self.session.report_stored(seq)
            self.flush()

    def close(self, code: int, reason: str) -> None:
        """Close after what is already queued; the writer sends the close frame."""
        if self.closing:
            return
        self.closing = True
        self._close = (code, reason)
        self.session.fail(code, reason)
        self._wakeup.set()
        if self.receiving and self.reader is not None:
            self.reader.cancel()  # see endpoint._read_frames

    async def run_writer(self) -> None:
        """The only task that writes to this socket."""
        ws = self.websocket
        try:
            while True:
                await self._wakeup.wait()
                self._wakeup.clear()
                while self._outgoing:
                    await ws.send_text(self._outgoing.popleft().decode())
                if self._close is not None:
                    code, reason = self._close
                    with contextlib.suppress(Exception):
                        await ws.close(code, reason)
                    return
        except Exception as exc:  # the peer went away mid-write
            log.debug("relay %s writer stopped: %s", self.device_id, exc)
            self.closing = True
