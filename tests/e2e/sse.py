"""Reading a Server-Sent Events stream the way a browser's EventSource does."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.e2e.conftest import ADMIN_TOKEN, RunningHub


@dataclass
class Message:
    event: str = "message"
    id: str | None = None
    data: str = ""

    @property
    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = json.loads(self.data)
        return body


@dataclass
class Stream:
    response: httpx.Response
    lines: AsyncIterator[str]
    comments: list[str] = field(default_factory=list)
    retry_ms: int | None = None

    async def next(self) -> Message:
        """The next dispatched message (comments and `retry` are noted, not returned)."""
        message, data = Message(), []
        async for line in self.lines:
            if line == "":
                if data or message.id is not None or message.event != "message":
                    message.data = "\n".join(data)
                    return message
                continue
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "":
                self.comments.append(value)
            elif name == "data":
                data.append(value)
            elif name == "event":
                message.event = value
            elif name == "id":
                message.id = value
            elif name == "retry":
                self.retry_ms = int(value)
        raise EOFError("the stream ended")

    async def take(self, n: int) -> list[Message]:
        return [await self.next() for _ in range(n)]


@contextlib.asynccontextmanager
async def open_stream(
    hub: RunningHub, query: str = "", last_event_id: str | None = None, token: str = ADMIN_TOKEN
) -> AsyncIterator[Stream]:
    headers = {"Authorization": f"Bearer {token}"}
    if last_event_id is not None:
        headers["Last-Event-ID"] = last_event_id
    async with hub.client.stream(
        "GET", f"{hub.base_url}/api/v1/events{query}", headers=headers
    ) as response:
        yield Stream(response, response.aiter_lines())
