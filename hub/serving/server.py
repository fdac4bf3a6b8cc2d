"""Running the app under uvicorn with the settings relay sockets need."""

from __future__ import annotations

import functools
import socket
from collections.abc import Callable
from typing import Any

import uvicorn
from starlette.applications import Starlette

from hub.config import Config
from hub.serving.http_protocol import HeadDeadlineProtocol, WaitingHeads


def uvicorn_config(app: Starlette, config: Config, **overrides: object) -> uvicorn.Config:
    relay, server = config.relay, config.server
    settings: dict[str, object] = {
        "host": config.server.host,
        "port": config.server.port,
        "log_level": config.server.log_level,
        "access_log": config.server.access_log,
        "ws": "websockets-sansio",
        "ws_max_size": relay.max_frame_bytes,  # over it: close 1009
        "ws_per_message_deflate": False,  # frames are tiny; deflate costs ~40 KiB a socket
        "ws_ping_interval": relay.ping_interval_s,
        "ws_ping_timeout": relay.ping_interval_s,
        "lifespan": "on",
        "server_header": False,
        "timeout_graceful_shutdown": 5,
        # Slow or silent clients must not hold connections for good (see http_protocol).
        "http": functools.partial(
            HeadDeadlineProtocol,
            head_timeout_s=server.head_timeout_s,
            waiting=WaitingHeads(server.max_waiting_per_address),
        ),
        "limit_concurrency": server.max_connections,  # past it: 503 to new requests
    }
    settings.update(overrides)
    return uvicorn.Config(app, **settings)  # type: ignore[arg-type]


def bind(host: str, port: int) -> socket.socket:
    """A listening socket (port 0: any free port), handed to uvicorn."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio only turns Nagle off (TCP_NODELAY) on sockets
    # that say they are TCP; without it every response waits ~40 ms for an ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


class HubServer(uvicorn.Server):
    """uvicorn, telling the hub it is stopping *before* waiting for open requests.

    uvicorn waits for every response to finish before the app's shutdown
    runs, and a live event stream never finishes by itself; the hub ends its
    streams first so a stop takes milliseconds, not the graceful timeout.
    """

    def __init__(
        self,
        config: uvicorn.Config,
        app: Starlette,
        on_listening: Callable[[Any], None] | None = None,
    ) -> None:
        super().__init__(config)
        self._app = app
        self._on_listening = on_listening

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        """Start, then call ``on_listening(hub)``: only a start that serves says so."""
        await super().startup(sockets)
        if sockets is not None:
            # uvicorn logs "running on" only for sockets it bound itself; tools wait for it.
            self._log_started_message(sockets)
        if self.started and self._on_listening is not None:
            self._on_listening(self._app.state.hub)

    async def shutdown(self, sockets: Any = None) -> None:
        hub = getattr(self._app.state, "hub", None)
        if hub is not None:
            hub.feed.close()
            # The 1012 closes that follow are the hub's own: jobs stay dispatched.
            hub.messaging.server_stopping()
        await super().shutdown(sockets)
