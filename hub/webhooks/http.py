"""The HTTP/1.1 client of webhook attempts: one POST, its status, and the start of its body.

It is h11 (the sans-I/O HTTP/1.1 state machine uvicorn also uses) over asyncio
streams, with keep-alive connections pooled per target. A general client
(httpx) cost about 40 % of the hub's event loop while it delivered webhooks,
in layers an attempt does not need (redirects, auth, proxies, an async
library probe that retried a failing import on every request).

What an attempt needs and gets: the request goes to the address it names
(the SSRF guard's checked address), with the ``Host`` header and TLS server
name given separately; redirects are never followed (a 3xx is just an
answer); a body is read up to ``BODY_MAX`` so that the connection can be used
again, and only its first bytes are kept. Time limits are the caller's
(``asyncio.timeout``): a connection an attempt gave up on is closed, never
reused.
"""

from __future__ import annotations

import asyncio
import ssl
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Final

import h11

BODY_MAX: Final = 65_536  # read this much of an answer at most; past it the connection closes
IDLE_MAX: Final = 16  # idle connections kept per target
IDLE_EXPIRY_S: Final = 5.0  # an idle connection older than this is closed, not reused
READ_CHUNK: Final = 65_536


class RequestFailed(Exception):
    """No HTTP answer: the connection failed, broke, or the peer spoke no HTTP/1.1.

    The message is fit for the attempts log.
    """


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    headers: dict[str, str]  # names in lower case; a repeated header keeps its last value
    excerpt: bytes  # the first bytes of the body


@dataclass(frozen=True, slots=True)
class _Target:
    tls: bool
    host: str  # what to connect to: an address or a name
    port: int
    server_name: str  # TLS server name, and the name the certificate must match


@dataclass(slots=True)
class _Connection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    h11: h11.Connection = field(default_factory=lambda: h11.Connection(h11.CLIENT))
    idle_since: float = 0.0

    def usable(self) -> bool:
        """Still fit for another request: open, and the peer has not closed or spoken."""
        return not (
            self.writer.is_closing()
            or self.reader.at_eof()
            or time.monotonic() - self.idle_since > IDLE_EXPIRY_S
        )

    def close(self) -> None:
        self.writer.close()


class Pool:
    def __init__(self, user_agent: str, tls: ssl.SSLContext | None = None) -> None:
        """``tls``: what HTTPS connections trust (default: the system's CAs)."""
        self._user_agent = user_agent
        self._idle: dict[_Target, list[_Connection]] = {}
        self._tls = tls

    async def post(
        self,
        url: str,
        *,
        host_header: str,
        server_name: str,
        headers: dict[str, str],
        body: bytes,
        excerpt_bytes: int,
    ) -> Answer:
        """POST ``body`` to ``url`` (which may name an address in place of the host).

        Raises ``RequestFailed`` when no HTTP answer came.
        """
        parts = urllib.parse.urlsplit(url)
        tls = parts.scheme == "https"
        if not parts.hostname:
            raise RequestFailed(f"no host in {url}")
        target = _Target(tls, parts.hostname, parts.port or (443 if tls else 80), server_name)
        try:
            request = h11.Request(
                method="POST",
                target=(parts.path or "/") + (f"?{parts.query}" if parts.query else ""),
                headers=[
                    ("host", host_header),
                    ("user-agent", self._user_agent),
                    ("content-length", str(len(body))),
                    *headers.items(),
                ],
            )
        except (h11.LocalProtocolError, UnicodeError) as exc:  # e.g. a space or "é" in the path
            raise RequestFailed(f"the URL cannot be sent as it is: {exc}"[:300]) from None
        reused = self._take_idle(target)
        if reused is not None:
            try:
                return await self._exchange(target, reused, request, body, excerpt_bytes)
            except _ClosedBeforeAnswer:
                pass  # the peer closed the idle connection as it was reused: once more, afresh
        connection = await self._connect(target)
        try:
            return await self._exchange(target, connection, request, body, excerpt_bytes)
        except _ClosedBeforeAnswer:
            raise RequestFailed("the connection closed before an answer came") from None

    async def close(self) -> None:
        for connections in self._idle.values():
            for connection in connections:
                connection.close()
        self._idle.clear()

    def _take_idle(self, target: _Target) -> _Connection | None:
        idle = self._idle.get(target)
        while idle:
            connection = idle.pop()
            if connection.usable():
                return connection
            connection.close()
        return None

    def _put_idle(self, target: _Target, connection: _Connection) -> None:
        idle = self._idle.setdefault(target, [])
        for stale in [c for c in idle if not c.usable()]:  # closed by the peer, or too old
            idle.remove(stale)
            stale.close()
        if len(idle) >= IDLE_MAX:
            connection.close()
            return
        connection.idle_since = time.monotonic()
        idle.append(connection)

    async def _connect(self, target: _Target) -> _Connection:
        context = None
        if target.tls:
            if self._tls is None:
                self._tls = ssl.create_default_context()
            context = self._tls
        try:
            reader, writer = await asyncio.open_connection(
                target.host, target.port, ssl=context,
                server_hostname=target.server_name if context else None,
            )  # fmt: skip
        except ssl.SSLError as exc:
            raise RequestFailed(f"TLS error: {exc}"[:300]) from None
        except OSError as exc:
            raise RequestFailed(f"cannot connect: {exc}"[:300]) from None
        return _Connection(reader, writer)

    async def _exchange(
        self,
        target: _Target,
        connection: _Connection,
        request: h11.Request,
        body: bytes,
        excerpt_bytes: int,
    ) -> Answer:
        """One request and its answer; the connection goes back to the pool only if
        both ended cleanly (a timeout or any failure closes it)."""
        kept = False
        try:
            conn = connection.h11
            connection.writer.write(
                b"".join(
                    conn.send(event) or b""
                    for event in (request, h11.Data(data=body), h11.EndOfMessage())
                )
            )
            await connection.writer.drain()
            answer = await self._read_answer(connection, excerpt_bytes)
            if conn.our_state is h11.DONE and conn.their_state is h11.DONE:
                conn.start_next_cycle()
                self._put_idle(target, connection)
                kept = True
            return answer
        except (h11.ProtocolError, ssl.SSLError) as exc:  # SSLError is an OSError: first
            raise RequestFailed(f"{type(exc).__name__}: {exc}"[:300]) from None
        except ConnectionError as exc:
            if connection.h11.their_state is h11.SEND_RESPONSE:
                raise _ClosedBeforeAnswer() from exc
            raise RequestFailed(f"{type(exc).__name__}: {exc}"[:300]) from None
        except OSError as exc:
            raise RequestFailed(f"{type(exc).__name__}: {exc}"[:300]) from None
        finally:
            if not kept:
                connection.close()

    async def _read_answer(self, connection: _Connection, excerpt_bytes: int) -> Answer:
        conn = connection.h11
        response: h11.Response | None = None
        body = bytearray()
        size = 0
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                data = await connection.reader.read(READ_CHUNK)
                if not data and conn.their_state is h11.SEND_RESPONSE:
                    raise ConnectionResetError("the connection closed before an answer came")
                conn.receive_data(data)  # b"": the peer closed; h11 decides what that means
            elif isinstance(event, h11.Response):
                response = event
            elif isinstance(event, h11.Data):
                size += len(event.data)
                if len(body) < excerpt_bytes:
                    body += event.data[: excerpt_bytes - len(body)]
                if size > BODY_MAX:
                    break  # no use reading on: the connection is closed, not reused
            elif isinstance(event, h11.EndOfMessage | h11.ConnectionClosed):
                break
            # h11.InformationalResponse (1xx): the final answer follows
        if response is None:
            raise ConnectionResetError("the connection closed before an answer came")
        # raw_items(): iterating the Headers sequence itself costs a lookup per item.
        headers = {
            name.decode().lower(): value.decode("latin-1")
            for name, value in response.headers.raw_items()
        }
        return Answer(response.status_code, headers, bytes(body))


class _ClosedBeforeAnswer(Exception):
    """The connection ended before any answer: on a reused connection, try a new one."""
