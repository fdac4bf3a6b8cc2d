"""A webhook receiver that hangs: each attempt is cut at ``[webhooks] timeout_s``.

tests/e2e/test_webhook_delivery.py already shows one attempt timed out (the
receiver read the request and sat on its answer) and retried with success.
These add what it does not: a receiver that hangs at the TCP level or after
its headers, every attempt cut and logged until the schedule ends, and another
endpoint of the same account, and the hub's sends, going on meanwhile. The
last test shows that even enough hung endpoints to take every attempt slot
cannot: an endpoint's first attempt never waits for the overall cap.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from hub.serving.server import bind
from tests.e2e.conftest import delivered_ids, hub_config, serve_hub
from tests.e2e.receiver import serve_receiver
from tests.e2e.webhook_log import add_endpoint, deliveries, settled

TIMEOUT_S = 1.0
# The head of an answer whose body never comes.
ANSWER_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 64\r\n\r\n"
SCHEDULE = [0, 0]  # two attempts, the second at once


@dataclass
class HungReceiver:
    """Accepts every connection and never finishes an answer.

    ``silent``: not a byte back. ``headers``: the status line and headers of a
    200 with a body that never comes. It reads what the hub sends until the hub
    hangs up, to know when the hub gave up.
    """

    mode: str
    url: str = ""
    connections: int = 0  # accepted so far
    hanging: int = 0  # open now
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def wait_until(self, predicate: Callable[[], bool], timeout: float = 10) -> None:  # noqa: ASYNC109
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(predicate)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.connections += 1
        self.hanging += 1
        async with self._changed:
            self._changed.notify_all()
        try:
            if self.mode == "headers":
                await reader.readuntil(b"\r\n\r\n")
                writer.write(ANSWER_HEAD)
                await writer.drain()
            while await reader.read(65536):  # until the hub closes its end
                pass
        finally:
            self.hanging -= 1
            self._tasks.discard(task)
            writer.close()

    def stop(self) -> None:
        for task in self._tasks:
            task.cancel()


@contextlib.asynccontextmanager
async def serve_hung(mode: str) -> AsyncIterator[HungReceiver]:
    hung = HungReceiver(mode)
    sock = bind("127.0.0.1", 0)
    hung.url = f"http://127.0.0.1:{sock.getsockname()[1]}/hook"
    server = await asyncio.start_server(hung.handle, sock=sock)
    try:
        yield hung
    finally:
        hung.stop()
        server.close()
        await server.wait_closed()


@pytest.mark.parametrize("mode", ["silent", "headers"])
async def test_a_hung_receiver_is_cut_at_each_timeout_while_other_endpoints_and_sends_go_on(
    tmp_path: Path, mode: str
) -> None:
    webhooks = {"allow_private_targets": True, "timeout_s": TIMEOUT_S, "retry_schedule_s": SCHEDULE}
    config = hub_config(tmp_path / "data", webhooks=webhooks)
    async with (
        serve_hung(mode) as hung,
        serve_receiver() as healthy,
        serve_hub(config) as hub,
    ):
        stuck = await add_endpoint(hub, hung.url, events=["message.delivered"])
        await add_endpoint(hub, healthy.url, events=["message.delivered"])
        relay = await hub.relay("A")
        ids = [await hub.send(text=f"hung {n}") for n in range(3)]

        # The healthy endpoint has every event before the hung one's first tries end.
        await healthy.wait_until(lambda: len(healthy.succeeded()) == 3)
        hanging_then = hung.hanging
        stuck_log_then = await deliveries(hub, f"?endpoint_id={stuck['id']}")

        # Sends go on too: one made now is accepted, delivered and announced.
        late = await hub.send(text="while it hangs")
        await relay.wait_until(lambda: late in delivered_ids(relay))
        await healthy.wait_until(lambda: len(healthy.succeeded()) == 4)
        hanging_later = hung.hanging

        stuck_log = await settled(
            hub, lambda d: d["status"] == "failed", f"?endpoint_id={stuck['id']}", count=4
        )

    assert hanging_then > 0 and hanging_later > 0
    assert [d["attempt_count"] for d in stuck_log_then] == [0] * 3
    assert sorted(e["data"]["request_id"] for e in healthy.events()) == sorted([*ids, late])
    assert list(healthy.succeeded().values()) == [1] * 4
    assert relay.sms_sent == Counter({i: 1 for i in [*ids, late]})

    for delivery in stuck_log:
        attempts = delivery["attempts"]
        assert [a["n"] for a in attempts] == [1, 2]  # the retry followed, and was cut too
        for attempt in attempts:
            assert attempt["status_code"] is None
            assert attempt["error"] == f"no answer within {TIMEOUT_S:g} s"
            assert TIMEOUT_S * 1000 <= attempt["latency_ms"] < TIMEOUT_S * 1000 + 2000
    # Every attempt had a connection of its own: one given up on is closed, not reused.
    assert hung.connections == 4 * len(SCHEDULE)


async def test_many_hung_endpoints_do_not_hold_up_a_healthy_one(tmp_path: Path) -> None:
    webhooks = {
        "allow_private_targets": True, "timeout_s": 5.0, "retry_schedule_s": [0],
        "max_endpoints_per_account": 25,  # 24 hung and the healthy one, in one account
    }  # fmt: skip
    config = hub_config(tmp_path / "data", webhooks=webhooks)
    async with (
        serve_hung("silent") as hung,
        serve_receiver() as healthy,
        serve_hub(config) as hub,
    ):
        for _ in range(24):
            await add_endpoint(hub, hung.url, events=["message.sent"])
        await hub.relay("A")
        for n in range(8):
            await hub.send(text=f"to many {n}")
        await hung.wait_until(lambda: hung.hanging >= 64)  # every attempt slot of the hub
        await add_endpoint(hub, healthy.url, events=["message.sent"])
        request_id = await hub.send(text="for the healthy one")

        def announced() -> bool:
            return request_id in {e["data"]["request_id"] for e in healthy.events()}

        await healthy.wait_until(announced, timeout=2)  # not after a hung one's 5 s
        hanging_meanwhile = hung.hanging

    assert hanging_meanwhile >= 64  # the hung endpoints' attempts were all still waiting
