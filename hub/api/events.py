"""``GET /v1/events``: the account's events as Server-Sent Events (scope ``messages.read``).

The same events the webhooks carry, each as ``id: <evt_…>``, ``event: <type>``
and ``data: <the webhook body>``. A client that reconnects sends the last id
it saw as ``Last-Event-ID`` and gets everything after it, so nothing is
missed while it was away (events are kept ``[events] retention_days``). An id
the hub no longer knows gets a ``reset`` event first: reload, then follow.
Without one, the stream starts with the next event. ``?types=a,b`` narrows it.
Idle streams get a keepalive comment every ``[events] keepalive_s``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from hub.api.errors import validation_error
from hub.api.request import hub_of, require
from hub.clock import Clock
from hub.events.feed import EventFeed
from hub.events.order import Position
from hub.events.outbox import EVENT_TYPES
from hub.store.interface import Row
from hub.waits import first_of

RECONNECT_MS = 3000  # what EventSource waits before reconnecting
SCOPE = "messages.read"
# Committed events waiting behind an older running transaction (PostgreSQL,
# several writers) are looked for again this soon: nothing else would say when
# that transaction ends if it carried no event of this account.
HELD_RETRY_S = 0.01


def _frame(row: Row) -> bytes:
    return b"id: %s\nevent: %s\ndata: %s\n\n" % (
        row["id"].encode(),
        row["type"].encode(),
        bytes(row["body"]),
    )


class EventStream(Response):
    media_type = "text/event-stream"

    def __init__(
        self,
        feed: EventFeed,
        clock: Clock,
        account_id: str,
        after: Position,
        types: Sequence[str],
        keepalive_s: float,
        reset: bool,
        allowed: Callable[[], Awaitable[bool]],
    ) -> None:
        # Not Response.__init__: it would declare a Content-Length; a stream has none.
        self.status_code = 200
        self.background = None
        self.raw_headers = [
            (b"content-type", b"text/event-stream; charset=utf-8"),
            (b"cache-control", b"no-cache"),
            (b"x-accel-buffering", b"no"),  # proxies (nginx) must not buffer it
        ]
        self._feed = feed
        self._clock = clock
        self._account_id = account_id
        self._after = after
        self._types = types
        self._keepalive_s = keepalive_s
        self._reset = reset
        self._allowed = allowed  # is the token still valid? (it may be revoked mid-stream)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        gone = asyncio.Event()

        async def watch_disconnect() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            gone.set()

        async def body(chunk: bytes, more: bool = True) -> None:
            message: Message = {"type": "http.response.body", "body": chunk, "more_body": more}
            await send(message)

        watcher = asyncio.create_task(watch_disconnect())
        await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
        try:
            await body(b"retry: %d\n\n" % RECONNECT_MS)
            if self._reset:
                await body(b'event: reset\ndata: {"reason":"last_event_id_unknown"}\n\n')
            await self._follow(body, gone)
            await body(b"", more=False)
        except OSError:
            pass  # the client went away mid-write
        finally:
            watcher.cancel()

    async def _follow(self, body: Callable[[bytes], Awaitable[None]], gone: asyncio.Event) -> None:
        cursor = self._after
        keepalive_at = self._clock.monotonic() + self._keepalive_s
        while not gone.is_set() and not self._feed.closed and await self._allowed():
            if self._clock.monotonic() >= keepalive_at:
                await body(b": keepalive\n\n")
                keepalive_at = self._clock.monotonic() + self._keepalive_s
            change = self._feed.next_change(self._account_id)  # before reading: none slips by
            page = await self._feed.read(self._account_id, cursor)
            # Past every event read, also those the types filter leaves out.
            cursor = page.cursor
            if page.rows:
                wanted = [r for r in page.rows if not self._types or r["type"] in self._types]
                if wanted:
                    await body(b"".join(_frame(r) for r in wanted))
                    keepalive_at = self._clock.monotonic() + self._keepalive_s
                continue
            idle = max(keepalive_at - self._clock.monotonic(), 0.0)
            if page.held:
                idle = min(idle, HELD_RETRY_S)
            await first_of(change.wait(), gone.wait(), self._clock.sleep(idle))


async def events(request: Request) -> Response:
    principal = await require(request, SCOPE)
    hub = hub_of(request)
    types: list[str] = []
    if raw := request.query_params.get("types"):
        types = [t.strip() for t in raw.split(",") if t.strip()]
        unknown = sorted(set(types) - set(EVENT_TYPES))
        if unknown:
            choose = ", ".join(EVENT_TYPES)
            message = f"unknown: {', '.join(unknown)}; choose from {choose}"
            raise validation_error([{"field": "types", "message": message}])
    after = None
    last_id = request.headers.get("last-event-id", "").strip()
    if last_id:
        after = await hub.feed.position_of(principal.account_id, last_id)
    reset = bool(last_id) and after is None
    if after is None:
        after = await hub.feed.start()
    secret = request.headers["authorization"].partition(" ")[2].strip()

    async def allowed() -> bool:
        current = await hub.auth.authenticate(secret)  # cached: no read per check
        return current is not None and current.allows(SCOPE)

    return EventStream(
        hub.feed,
        hub.clock,
        principal.account_id,
        after,
        types,
        hub.config.events.keepalive_s,
        reset,
        allowed,
    )
