"""One WebSocket to the hub and the ``RelaySession`` that speaks over it.

``open_socket`` opens it with the handshake PROTOCOL.md asks for; a ``Link``
pairs the open socket with its session.

The session may be asked to send from several tasks (the reader, job tasks,
the heartbeat). Frames must reach the hub in the order the session produced
them — reports in seq order above all — so ``flush`` only queues, and a single
writer task per socket sends.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any, Final

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from protocol import frames as f
from protocol.close_codes import CloseCode
from protocol.relay_session import RelaySession
from protocol.session import DEFAULT_MAX_FRAME_BYTES
from relay_sim import __version__
from relay_sim.pairing import PairedDevice

logger = logging.getLogger(__name__)

MAX_FRAME_BYTES: Final = DEFAULT_MAX_FRAME_BYTES


async def open_socket(device: PairedDevice) -> ClientConnection:
    """Open the device's WebSocket to the hub, as PROTOCOL.md's transport section asks.

    Raises ``InvalidStatus`` when the hub refuses the device token, and
    ``OSError``, ``InvalidHandshake`` or ``TimeoutError`` when it cannot be reached.
    """
    return await connect(
        device.ws_url,
        additional_headers={"Authorization": f"Bearer {device.device_token}"},
        subprotocols=[Subprotocol(f.SUBPROTOCOL)],
        compression=None,
        max_size=MAX_FRAME_BYTES,
        open_timeout=10,
        close_timeout=2,  # stop() waits at most this long for the hub's close frame
        user_agent_header=f"relay-sim/{__version__}",
    )


class Link:
    """A live socket: call ``flush`` after every call into ``session``."""

    def __init__(self, ws: ClientConnection, session: RelaySession) -> None:
        self.ws = ws
        self.session = session
        self.ended = asyncio.Event()  # set by the reader once the socket is gone
        self.aborting = False
        # None in place of a frame: abort the TCP connection at that point.
        self._outgoing: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._tasks: set[asyncio.Task[None]] = set()
        self._spawn(self._write())

    def flush(self) -> None:
        """Queue every frame the session wants to send; the writer sends them in order."""
        for data in self.session.data_to_send():
            self._outgoing.put_nowait(data)

    def abort_after_writes(self) -> None:
        """Drop the TCP connection without a close frame, once the frames made so far are out.

        The session is closed at once, so the relay treats the socket as gone
        from now on: an ``accepted`` decided after this point would never reach
        the hub, which would then hand the job to another relay.
        """
        self.flush()
        self.session.fail(CloseCode.GOING_AWAY, "connection aborted")
        self.aborting = True
        self._outgoing.put_nowait(None)

    def start_heartbeat(self, interval_s: float, reading: Callable[[], f.Heartbeat]) -> None:
        self._spawn(self._beat(interval_s, reading))

    def close_code_received(self) -> int | None:
        """The code of the hub's close frame; None if the socket ended without one."""
        close = self.ws.protocol.close_rcvd
        return None if close is None else close.code

    async def stop(self) -> None:
        """Stop the writer and the heartbeat; call once the socket has ended."""
        for task in self._tasks:
            task.cancel()
        for outcome in await asyncio.gather(*self._tasks, return_exceptions=True):
            if isinstance(outcome, Exception):
                logger.error("a socket task crashed", exc_info=outcome)

    async def _write(self) -> None:
        try:
            while (data := await self._outgoing.get()) is not None:
                await self.ws.send(data, text=True)
        except ConnectionClosed:
            return
        self.ws.transport.abort()

    async def _beat(self, interval_s: float, reading: Callable[[], f.Heartbeat]) -> None:
        # The first one right after the welcome, so the hub shows battery and
        # signal at once instead of after a whole interval.
        while True:
            self.session.send_heartbeat(reading())
            self.flush()
            await asyncio.sleep(interval_s)

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
