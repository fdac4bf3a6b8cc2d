"""Sans-I/O sessions for both ends of one relay socket: what both ends share.

The hub's end is ``protocol.hub_session.HubSession``, the relay's end is
``protocol.relay_session.RelaySession``; both build on ``Session`` here.

Each session is fed the text frames that arrived (``receive_text``) and asked
to send frames (``send_*``); it never touches a socket. After every call the
driver must:

1. take ``events_received()`` and handle each event,
2. write every item of ``data_to_send()`` to the socket, in order,
3. if ``close_code`` is set, close the socket with that code and ``close_reason``.

Errors are split as in h11 and websockets: a peer that breaks the protocol
never makes ``receive_text`` raise, it becomes an ``error`` frame or a close;
a driver that misuses a session (sending a job before ``welcome``, accepting a
job it never got) raises ``InvalidState`` at once.
"""

from __future__ import annotations

import enum
from typing import Final

from protocol import frames as f
from protocol.close_codes import CloseCode

DEFAULT_MAX_FRAME_BYTES: Final = 64 * 1024

# A close frame carries at most 125 bytes: the 2-byte code and a UTF-8 reason.
CLOSE_REASON_MAX_BYTES: Final = 123


def _clip_utf8(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` UTF-8 bytes, never inside a character."""
    data = text.encode("utf-8", "replace")  # a lone surrogate becomes "?"
    return data[:limit].decode("utf-8", "ignore")


class InvalidState(Exception):
    """The driver used a session in a way the protocol does not allow."""


class Phase(enum.Enum):
    AWAITING_HELLO = "awaiting_hello"  # hub side: before hello; relay side: before welcome
    OPEN = "open"
    CLOSED = "closed"


class Session:
    """What both roles share: the outgoing buffer, events and closing."""

    def __init__(self, max_frame_bytes: int) -> None:
        self.max_frame_bytes = max_frame_bytes
        self.phase = Phase.AWAITING_HELLO
        self.close_code: int | None = None
        self.close_reason = ""
        self._out: list[bytes] = []
        self._events: list[object] = []

    def data_to_send(self) -> list[bytes]:
        """Frames to write to the socket, in order; the buffer is emptied."""
        out, self._out = self._out, []
        return out

    def _emit(self, frame: f.Frame) -> None:
        if self.phase is Phase.CLOSED:
            return  # nothing goes out after a close was decided
        self._out.append(f.encode(frame))

    def _emit_when_open(self, frame: f.Frame) -> None:
        # The hub only listens for these once the session is open; until then
        # the ledger keeps them and they go out when the hub asks again.
        if self.phase is Phase.OPEN:
            self._emit(frame)

    def fail(self, code: int, reason: str) -> None:
        """Decide to close the socket; the driver reads ``close_code``."""
        if self.phase is Phase.CLOSED:
            return
        self.phase = Phase.CLOSED
        self.close_code = code
        self.close_reason = _clip_utf8(reason, CLOSE_REASON_MAX_BYTES)

    def _too_big(self, data: bytes | str) -> bool:
        # surrogatepass: a str with lone surrogates is measured here and refused by the decoder.
        size = len(data) if isinstance(data, bytes) else len(data.encode("utf-8", "surrogatepass"))
        if size > self.max_frame_bytes:
            self.fail(CloseCode.TOO_BIG, f"frame of {size} bytes is over {self.max_frame_bytes}")
            return True
        return False
