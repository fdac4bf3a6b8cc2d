"""Issue 16, finding 6: slow and silent HTTP connections are not held for good.

The attack: 300 connections that each sent one header line every 5 s were all
open a minute later, and connections that sent nothing stayed open too. Now a
request head must arrive whole within ``[server] head_timeout_s`` (short here),
and one address may keep only ``max_waiting_per_address`` connections waiting
for a head. Each close is awaited on the socket itself (EOF), bounded so a
connection the hub keeps fails the test instead of hanging it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from tests.e2e.conftest import RunningHub, delivered_ids, hub_config, serve_hub
from tests.e2e.sse import open_stream

HEAD_TIMEOUT_S = 0.5
KEPT_FOR_GOOD_S = 5.0  # a connection still open this long after opening was kept


def slow_config(tmp_path: Path, **server: Any) -> Any:
    return hub_config(tmp_path / "data", server={"head_timeout_s": HEAD_TIMEOUT_S, **server})


@contextlib.asynccontextmanager
async def raw_connection(
    hub: RunningHub,
) -> AsyncIterator[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    port = int(hub.base_url.rsplit(":", 1)[1])
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        yield reader, writer
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


async def seconds_until_closed(reader: asyncio.StreamReader, opened: float) -> float:
    """Read until the hub closes the connection; seconds since ``opened``."""
    async with asyncio.timeout(KEPT_FOR_GOOD_S):
        while await reader.read(4096):
            pass
    return time.monotonic() - opened


async def trickle(writer: asyncio.StreamWriter) -> None:
    """The attack: a request line, then one header line every 0.1 s, never the blank line."""
    writer.write(b"GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    n = 0
    with contextlib.suppress(ConnectionError):
        while not writer.is_closing():
            await writer.drain()
            await asyncio.sleep(0.1)  # the attacker's pace, not a wait for an event
            n += 1
            writer.write(f"X-Slow-{n}: a\r\n".encode())


async def test_a_silent_connection_is_closed_once_the_head_timeout_passes(
    tmp_path: Path,
) -> None:
    async with serve_hub(slow_config(tmp_path)) as hub:
        opened = time.monotonic()
        async with raw_connection(hub) as (reader, _):
            elapsed = await seconds_until_closed(reader, opened)

    assert HEAD_TIMEOUT_S * 0.9 <= elapsed < HEAD_TIMEOUT_S + 2


async def test_a_head_trickled_line_by_line_is_closed_though_bytes_keep_coming(
    tmp_path: Path,
) -> None:
    async with serve_hub(slow_config(tmp_path)) as hub:
        opened = time.monotonic()
        async with raw_connection(hub) as (reader, writer):
            slow = asyncio.create_task(trickle(writer))
            try:
                elapsed = await seconds_until_closed(reader, opened)
            finally:
                slow.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await slow

    assert elapsed < HEAD_TIMEOUT_S + 2


async def test_normal_requests_a_relay_socket_and_an_event_stream_outlive_the_head_timeout(
    tmp_path: Path,
) -> None:
    config = slow_config(tmp_path)
    async with serve_hub(config) as hub, open_stream(hub) as stream:
        relay = await hub.relay("Phone")
        assert (await stream.next()).event == "device.online"
        async with raw_connection(hub) as (reader, _):
            await seconds_until_closed(reader, time.monotonic())  # the timeout has passed

        request_id = await hub.send(text="after the timeout")
        await relay.wait_until(lambda: request_id in delivered_ids(relay))
        assert (await stream.next()).event.startswith("message.")  # the stream still reads
        assert relay.close_codes == []  # the relay socket was never closed
        assert (await hub.get("/api/v1/health")).status_code == 200


async def test_one_address_may_keep_only_its_share_of_connections_waiting_for_a_head(
    tmp_path: Path,
) -> None:
    config = slow_config(tmp_path, head_timeout_s=60.0, max_waiting_per_address=3)
    async with serve_hub(config) as hub, contextlib.AsyncExitStack() as stack:
        held = [await stack.enter_async_context(raw_connection(hub)) for _ in range(3)]
        opened = time.monotonic()
        async with raw_connection(hub) as (reader, _):
            elapsed = await seconds_until_closed(reader, opened)
        assert elapsed < 2  # at once, not after the 60 s head timeout

        # Each held one sends its head at last and is answered: none waits any more.
        for reader, writer in held:
            writer.write(b"GET /api/v1/health HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
            async with asyncio.timeout(KEPT_FOR_GOOD_S):
                assert (await reader.read()).startswith(b"HTTP/1.1 200")
        assert (await hub.get("/api/v1/health")).status_code == 200
