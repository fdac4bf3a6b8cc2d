"""uvicorn's HTTP/1.1 protocol with a deadline on each request head.

uvicorn closes a keep-alive connection that stays silent, but any byte resets
that timer, and a connection that never sends anything is kept for good: 300
connections that each trickled one header line every 5 s were all still open a
minute later. Here the whole head (request line and headers) must arrive
within ``head_timeout_s`` of the connection opening or of the previous
response; a body, a long answer, an event stream and a WebSocket are not
limited by it (their heads are complete). One address may also hold only
``per_address`` connections that wait for a head at once: more are closed as
they open.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class WaitingHeads:
    """Connections per client address that wait for a request head (one server's)."""

    def __init__(self, per_address: int) -> None:
        self.per_address = per_address  # 0: no cap
        self._count: Counter[str] = Counter()

    def start(self, address: str) -> bool:
        """Count one more for ``address``; False (not counted) if it holds its share."""
        if self.per_address and self._count[address] >= self.per_address:
            return False
        self._count[address] += 1
        return True

    def stop(self, address: str) -> None:
        self._count[address] -= 1
        if self._count[address] <= 0:
            del self._count[address]


class HeadDeadlineProtocol(HttpToolsProtocol):
    def __init__(
        self, *args: Any, head_timeout_s: float, waiting: WaitingHeads, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self._head_timeout_s = head_timeout_s
        self._waiting = waiting
        self._head_timer: asyncio.TimerHandle | None = None
        self._counted_as: str | None = None  # the address while counted as waiting

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._wait_for_head()

    def on_headers_complete(self) -> None:
        self._head_arrived()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        # uvicorn arms its keep-alive timer only when no pipelined request is
        # waiting to run: exactly when the next head is awaited.
        if self.timeout_keep_alive_task is not None:
            self._wait_for_head()

    def connection_lost(self, exc: Exception | None) -> None:
        self._head_arrived()
        super().connection_lost(exc)

    def _wait_for_head(self) -> None:
        if self.transport.is_closing():
            return
        address = self.client[0] if self.client else ""
        if self._counted_as is None:
            if not self._waiting.start(address):
                self.transport.close()  # this address holds its share of waiting connections
                return
            self._counted_as = address
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(self._head_timeout_s, self._head_too_slow)

    def _head_arrived(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        if self._counted_as is not None:
            self._waiting.stop(self._counted_as)
            self._counted_as = None

    def _head_too_slow(self) -> None:
        self._head_timer = None
        if not self.transport.is_closing():
            self.transport.close()
