"""The webhook receiver of the throughput benchmark, in its own process so that it
is not what is measured: it counts each ``webhook-id`` and can hold its answers
(a closed gate) so that a backlog builds.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from bench.harness import HOST, free_port, start, stop


class Acks:
    """The receiver's record: how often each ``webhook-id`` was acknowledged, and when."""

    def __init__(self) -> None:
        self.times: dict[str, int] = {}
        self.first_event = float("inf")  # the earliest event timestamp carried
        self.last_event = 0.0  # the latest one
        self.last_ack = 0.0
        self.opened_at = 0.0  # when the gate last opened

    def as_json(self) -> bytes:
        return json.dumps({
            "deliveries": sum(self.times.values()),
            "events": len(self.times),
            "duplicates": sum(n - 1 for n in self.times.values()),
            "first_event": self.first_event if self.times else None,
            "last_event": self.last_event,
            "last_ack": self.last_ack,
            "opened_at": self.opened_at,
        }).encode()  # fmt: skip


_acks = Acks()
_gate = asyncio.Event()  # while clear, deliveries get no answer: a backlog builds
_gate.set()


async def receiver_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The webhook receiver (``uvicorn bench.webhook_receiver:receiver_app``), kept bare so
    that it is not what is measured. ``POST /hook``: a delivery, answered 204 once
    the gate is open; ``POST /reset``, ``/close``, ``/open``: start a new record,
    close or open the gate; ``GET /``: the record."""
    global _acks
    if scope["type"] != "http":
        return
    path = scope["path"]
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    if path == "/hook":
        event_id = next(v.decode() for k, v in scope["headers"] if k == b"webhook-id")
        timestamp = json.loads(b"".join(chunks))["timestamp"]
        await _gate.wait()
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})
        _acks.times[event_id] = _acks.times.get(event_id, 0) + 1
        _acks.last_ack = time.time()
        moment = datetime.fromisoformat(timestamp).timestamp()
        _acks.first_event = min(_acks.first_event, moment)
        _acks.last_event = max(_acks.last_event, moment)
        return
    if path == "/reset":
        _acks = Acks()
    elif path == "/close":
        _gate.clear()
    elif path == "/open":
        _acks.opened_at = time.time()
        _gate.set()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json")]})  # fmt: skip
    await send({"type": "http.response.body", "body": _acks.as_json()})


@asynccontextmanager
async def receiver() -> AsyncIterator[str]:
    """The receiver in its own process; yields its base URL."""
    port = free_port()
    process = await start(
        ["-m", "uvicorn", "bench.webhook_receiver:receiver_app", "--host", HOST,
         "--port", str(port), "--no-access-log", "--log-level", "info", "--lifespan", "off"],
        "Uvicorn running on",
    )  # fmt: skip
    try:
        yield f"http://{HOST}:{port}"
    finally:
        await stop(process)
