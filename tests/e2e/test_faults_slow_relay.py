"""A relay that stops reading its socket slows nobody else, and costs the hub bounded memory.

What holds the hub's memory for such a relay, from the phone back:

- the kernel buffers of both ends (the hub's send buffer grows by itself up
  to ``net.ipv4.tcp_wmem``'s maximum, 4 MiB by default: kernel memory, not
  the hub's);
- the socket's asyncio write buffer: uvicorn's ``send`` waits while it is
  over its high-water mark (64 KiB), so it holds that and one frame more;
- the connection's outgoing queue: ``[relay] writer_queue`` frames; one more
  and the hub closes the socket with 1013;
- what may be aimed at a relay at all: ``max_inflight`` jobs it has not
  reported on; ``send`` frames wait for its answers, not for its reading.

So jobs alone never fill the queue while ``writer_queue`` exceeds what even a
healthy relay may be handed at once (its ``max_inflight`` jobs and the receipts
of one group commit, up to ``[storage] batch_max``; 8 + 512 < 1024 by default):
the hub does not notice a relay that only stops reading, and the jobs it holds
come back at the ack timeout. The queue fills when the relay goes on writing
(reports, each answered with a receipt) while it reads nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections import Counter
from pathlib import Path

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from hub.clock import ManualClock
from hub.serving.server import bind
from protocol import frames as f
from relay_sim.profiles import Profile
from tests.e2e import raw_relay
from tests.e2e.conftest import RunningHub, delivered_ids, hub_config, serve_hub

# Nothing but what a test is about may take the slow relay's jobs back: no ack,
# silence or ping timeout unless the test moves the clock, no requeue grace.
RELAY = {"ack_timeout_s": 600, "heartbeat_s": 600, "ping_interval_s": 600, "requeue_grace_s": 0}
# A phone: each job takes a moment, so a burst keeps both relays busy.
PHONE = Profile("phone", send_latency_s=(0.1, 0.1))
# How soon after its 202 each job reaches the healthy relay (it waits for a free
# slot of its own when a burst fills it, never for the slow relay).
PROMPT_S = 2.0
MIB = 1024  # in KiB, as /proc reports memory
HEARTBEAT = f.Heartbeat(battery=50, charging=True, signal=3, network="lte", queue=0)
LONG_TEXT = "x" * (32 * 153)  # 32 GSM-7 parts: a send frame of about 5 KiB


def rss_kib() -> int:
    """Resident memory of this process, which runs the hub."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS in /proc/self/status")


def small_listener() -> socket.socket:
    """A listener whose accepted sockets keep small kernel send buffers."""
    sock = bind("127.0.0.1", 0)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    return sock


async def open_stalled(
    hub: RunningHub, name: str, port: int | None = None
) -> tuple[ClientConnection, str]:
    """A relay socket, welcomed, that reads nothing more until the test calls
    recv(); and its device id.

    websockets stops reading from the socket once one frame waits for recv();
    the socket's receive buffer is small, so the hub's writes back up soon.
    """
    device = await hub.pair(name)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    port = port or int(hub.base_url.rsplit(":", 1)[1])
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
    ws = await hub.open_socket(device.device_token, sock=sock, max_queue=1)
    await raw_relay.hello(ws)
    return ws, device.device_id


async def read_to_the_end(ws: ClientConnection) -> list[f.HubFrame]:
    """Every frame left on the socket, until the hub's close."""
    frames = []
    with contextlib.suppress(ConnectionClosed):
        while True:
            frames.append(f.decode_hub_frame(await ws.recv()))
    return frames


async def online(hub: RunningHub, device_id: str) -> bool:
    response = await hub.get(f"/api/v1/devices/{device_id}")
    assert response.status_code == 200, response.text
    return bool(response.json()["online"])


class Pace:
    """When each request got its 202, and when the healthy relay was handed it."""

    def __init__(self) -> None:
        self.accepted_at: dict[str, float] = {}
        self.handed_at: dict[str, float] = {}
        self._loop = asyncio.get_running_loop()

    def handed(self, relay_name: str, job: f.Send) -> None:
        self.handed_at.setdefault(job.id, self._loop.time())

    async def send(self, hub: RunningHub, text: str) -> str:
        request_id = await hub.send(text=text)
        self.accepted_at[request_id] = self._loop.time()
        return request_id

    def waits(self, ids: list[str]) -> list[float]:
        return [self.handed_at[i] - self.accepted_at[i] for i in ids]


async def test_a_relay_that_stops_reading_holds_at_most_max_inflight_jobs_until_the_ack_timeout(
    tmp_path: Path,
) -> None:
    clock = ManualClock()
    async with serve_hub(hub_config(tmp_path / "data", relay=RELAY), clock) as hub:
        pace = Pace()
        healthy = await hub.relay("Healthy", PHONE, parts_per_minute=10_000, on_job=pace.handed)
        slow, slow_id = await open_stalled(hub, "Slow")
        rss_before = rss_kib()

        ids = await asyncio.gather(*(pace.send(hub, f"burst {n}") for n in range(60)))
        held = [i for i in ids if (await hub.status(i))["device_id"] == slow_id]
        others = [i for i in ids if i not in held]
        await healthy.wait_until(lambda: set(others) <= delivered_ids(healthy))
        still_online = await online(hub, slow_id)

        swept = asyncio.create_task(hub.hub.swept())
        clock.advance(RELAY["ack_timeout_s"] + 1)
        await swept
        await healthy.wait_until(lambda: set(ids) <= delivered_ids(healthy))
        statuses = {i: await hub.status(i) for i in held}
        rss_after = rss_kib()
        offered = [await raw_relay.next_job(slow) for _ in held]  # read only now
        healthy_closes = list(healthy.close_codes)

    limit = hub.config.relay.max_inflight
    assert 0 < len(held) <= limit  # all the hub ever aimed at it
    assert still_online  # it answers nothing wrong: the hub has no reason to close it
    assert max(pace.waits(others)) < PROMPT_S  # the healthy relay kept its pace
    assert healthy_closes == []  # and was never closed
    assert {fr.id for fr in offered} == set(held)
    for status in statuses.values():
        assert status["device_id"] == healthy.device_id
        assert status["attempts"] == 2
        assert "ack_timeout" in [h["cause"] for h in status["history"]]
    assert healthy.sms_sent == Counter({i: 1 for i in ids})  # all sent, none twice
    assert rss_after - rss_before < 50 * MIB


async def test_a_relay_that_writes_but_stops_reading_is_closed_1013_and_its_jobs_go_elsewhere(
    tmp_path: Path,
) -> None:
    # Small, yet more than a healthy relay is ever handed at once (its jobs,
    # max_inflight, and one receipt).
    relay = {**RELAY, "writer_queue": 64}
    small = small_listener()
    async with serve_hub(
        hub_config(tmp_path / "data", relay=relay), listen=[bind("127.0.0.1", 0), small]
    ) as hub:
        pace = Pace()
        healthy = await hub.relay("Healthy", PHONE, parts_per_minute=10_000, on_job=pace.handed)
        slow, slow_id = await open_stalled(hub, "Slow", small.getsockname()[1])
        rss_before = rss_kib()

        ids = await asyncio.gather(*(pace.send(hub, f"burst {n}") for n in range(30)))
        held = [i for i in ids if (await hub.status(i))["device_id"] == slow_id]

        # The phone keeps sending frames the hub must answer (a type it does not
        # know: each gets an `error`) and reads none of the answers: they pile
        # up until the queue is full. (Receipts cannot: a newer one replaces a
        # queued one, since they are cumulative.)
        sent = 0
        while await online(hub, slow_id):
            assert sent < 20_000, "the hub never closed the relay"
            for _ in range(100):
                sent += 1
                await slow.send(f'{{"type":"from_the_future","n":{sent}}}')
        rss_full = rss_kib()
        # It goes on talking (the hub reads a frame more to see its socket close;
        # the test marked xfail below shows what happens when it does not).
        await slow.send(f.encode(HEARTBEAT).decode())

        # Its jobs go back to the queue and to the healthy relay while it still
        # reads nothing; then it reads what was left for it, and the close.
        await healthy.wait_until(lambda: set(ids) <= set(pace.handed_at), timeout=5)
        frames = await read_to_the_end(slow)
        await healthy.wait_until(lambda: set(ids) <= delivered_ids(healthy))
        statuses = {i: await hub.status(i) for i in held}
        rss_after = rss_kib()
        healthy_closes = list(healthy.close_codes)

    assert slow.close_code == 1013
    assert held, "the slow relay was handed no job"
    assert {fr.id for fr in frames if isinstance(fr, f.Send)} == set(held)
    assert any(isinstance(fr, f.Error) for fr in frames)  # the answers it never read
    others = [i for i in ids if i not in held]
    assert max(pace.waits(others)) < PROMPT_S  # the healthy relay kept its pace
    assert healthy_closes == []  # and was never closed
    for status in statuses.values():
        assert status["device_id"] == healthy.device_id
        assert status["attempts"] == 2
        assert "disconnect" in [h["cause"] for h in status["history"]]
    assert healthy.sms_sent == Counter({i: 1 for i in ids})  # all sent, none twice
    assert rss_full - rss_before < 50 * MIB
    assert rss_after - rss_before < 50 * MIB


async def test_a_relay_closed_while_its_writer_is_stuck_gives_its_jobs_back_at_once(
    tmp_path: Path,
) -> None:
    clock = ManualClock()
    # Long jobs, enough of them that more than the socket's buffers take (64 KiB
    # in asyncio, a few in the kernel) waits for it: the hub's writer is stuck.
    relay = {**RELAY, "heartbeat_s": 30, "max_inflight": 24, "writer_queue": 64}
    config = hub_config(tmp_path / "data", relay=relay, sms={"max_parts": 32})
    small = small_listener()
    async with serve_hub(config, clock, listen=[bind("127.0.0.1", 0), small]) as hub:
        quiet, quiet_id = await open_stalled(hub, "Gone quiet", small.getsockname()[1])
        held = [await hub.send(text=LONG_TEXT) for _ in range(24)]
        try:
            swept = asyncio.create_task(hub.hub.swept())
            clock.advance(2 * 30 + 1)  # silent for two heartbeats: the hub closes it
            await swept
            assert not await online(hub, quiet_id)
            healthy = await hub.relay("Healthy", PHONE, parts_per_minute=10_000)  # not silent
            await healthy.wait_until(lambda: set(held) <= delivered_ids(healthy), timeout=3)
        finally:
            await read_to_the_end(quiet)

    assert healthy.sms_sent == Counter({i: 1 for i in held})
