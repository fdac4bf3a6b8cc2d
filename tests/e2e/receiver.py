"""A real local HTTP receiver for webhook tests: uvicorn on a loopback port.

Every request is recorded with what the receiver answered. ``answer`` decides
the answer (default 204); it may wait, which is how a slow receiver is made.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.types import Receive, Scope, Send

from hub.serving.server import bind
from hub.webhooks.listen import read_request


@dataclass
class Call:
    headers: dict[str, str]
    body: bytes
    status: int = 0  # what the receiver answered; 0 while it has not
    target: str = ""  # the request target as sent: path and query, still percent-encoded

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]

    @property
    def event(self) -> dict[str, Any]:
        event: dict[str, Any] = json.loads(self.body)
        return event


Answer = Callable[[Call], Awaitable[tuple[int, dict[str, str]]]]


async def answer_204(call: Call) -> tuple[int, dict[str, str]]:
    return 204, {}


@dataclass
class Receiver:
    url: str = ""
    answer: Answer = answer_204
    calls: list[Call] = field(default_factory=list)
    started: asyncio.Event = field(default_factory=asyncio.Event)
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        call = Call(*await read_request(scope, receive))
        query = scope["query_string"].decode()
        call.target = scope["raw_path"].decode() + (f"?{query}" if query else "")
        self.calls.append(call)
        await self._notify()
        status, headers = await self.answer(call)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(k.encode(), v.encode()) for k, v in headers.items()],
            }
        )
        await send({"type": "http.response.body", "body": b"" if status == 204 else b"ok"})
        call.status = status
        await self._notify()

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.started.set()
                await send({"type": "lifespan.startup.complete"})
            else:
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def wait_until(self, predicate: Callable[[], bool], timeout: float = 10) -> None:  # noqa: ASYNC109
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(predicate)

    def succeeded(self) -> Counter[str]:
        """webhook-id → how many times the receiver acknowledged it with a 2xx."""
        return Counter(c.webhook_id for c in self.calls if 200 <= c.status < 300)

    def events(self, type_: str | None = None) -> list[dict[str, Any]]:
        """Events acknowledged, in arrival order (``type_``: only that type)."""
        return [
            c.event
            for c in self.calls
            if 200 <= c.status < 300 and (type_ is None or c.event["type"] == type_)
        ]


@contextlib.asynccontextmanager
async def serve_receiver(port: int = 0, answer: Answer = answer_204) -> AsyncIterator[Receiver]:
    receiver = Receiver(answer=answer)
    sock = bind("127.0.0.1", port)
    receiver.url = f"http://127.0.0.1:{sock.getsockname()[1]}/hook"
    config = uvicorn.Config(
        receiver.app,
        interface="asgi3",
        log_level="warning",
        lifespan="on",
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    await receiver.started.wait()
    try:
        yield receiver
    finally:
        server.should_exit = True
        await serving
        sock.close()
