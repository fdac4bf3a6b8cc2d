"""A hostile relay beside healthy ones: one tenant must never hurt another (issue 16).

A real hub serves two healthy relay_sim relays of account A and, in account B,
a hand-driven socket that sends a seeded stream of random frames: well-formed
and malformed, extreme integers and times, unknown ids, A's message ids, its own
and other devices' ids, control characters, binary and oversized frames, floods
of reports. Whenever the hub closes it, it reconnects and goes on. Meanwhile A
sends messages through the REST API.

It passes only if A's relays never lose their sockets, every message of A is
handed to a carrier and delivered exactly once, and the hub never fences
(closes every relay to reload its state from storage). Set
``RELAYHUB_FUZZ_SEED`` to replay a run; the seed is in the failure message.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import random
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed, InvalidStatus

from relay_sim.pairing import PairedDevice, pair_device
from tests.e2e import raw_relay
from tests.e2e.conftest import RunningHub, delivered_ids, sent_ids, wait_any

SEED = int(os.environ.get("RELAYHUB_FUZZ_SEED", "1616"))
FRAMES = 2000  # frames the hostile relay sends in all (about 3 s)
A_MESSAGES = 40
TIME_LIMIT_S = 20
FENCE_LOG = "reloading state from storage"
PROBE = "fuzz-probe"  # a frame type the hub does not know: it answers with an error

INTS = [0, 1, -1, 7, 8, 255, 256, 2**31 - 1, 2**31, 2**53 - 1, 2**53, 2**63 - 1, 2**63,
        -(2**63) - 1, 2**64 + 5, 10**30]  # fmt: skip
TEXTS = ["", "x", "a\nb", "\x00", "\r\nINFO: forged", "\u202e", "\ud7ff", "\u0436" * 40,
         "x" * 65, "x" * 1025, "🙂", "\x1b[31m"]  # fmt: skip
TIMES = ["2024-05-01T10:00:00Z", "1970-01-01T00:00:00Z", "1969-12-31T23:59:59Z",
         "9999-12-31T23:00:00-14:00", "0001-01-01T00:00:00+14:00", "2024-05-01T10:00:00",
         "not a time", 0]  # fmt: skip


class Fuzzer:
    """Builds the hostile relay's next frame from a seeded generator."""

    def __init__(self, rng: random.Random, ids: Callable[[], list[str]]) -> None:
        self.rng = rng
        self.ids = ids  # every id worth naming: A's messages, B's jobs, device ids
        self.seq = 0

    def pick(self, values: list[Any]) -> Any:
        return self.rng.choice(values)

    def an_id(self) -> Any:
        roll = self.rng.random()
        if roll < 0.6 and self.ids():
            return self.pick(self.ids())
        if roll < 0.8:
            return f"req_{self.rng.getrandbits(64):x}"
        return self.pick([*TEXTS, 12, None])

    def a_seq(self) -> Any:
        if self.rng.random() < 0.7:
            self.seq += 1
            return self.seq
        return self.pick([*INTS, "1", 1.5])

    def an_int(self) -> Any:
        return self.pick(INTS) if self.rng.random() < 0.5 else self.rng.randint(0, 8)

    def a_text(self) -> Any:
        return self.pick(TEXTS) if self.rng.random() < 0.5 else "fine"

    def a_time(self) -> Any:
        return self.pick(TIMES) if self.rng.random() < 0.5 else TIMES[0]

    def report(self) -> dict[str, Any]:
        kind = self.pick(["sent", "delivered", "failed", "received"])
        frame: dict[str, Any] = {"type": kind, "seq": self.a_seq(), "at": self.a_time()}
        if kind != "received":
            frame["id"] = self.an_id()
        if kind == "sent":
            frame.update(parts=self.an_int(), sim_slot=self.an_int())
        if kind == "failed":
            frame.update(code=self.pick(["no_sim", "x y", "a\nb", ""]), message=self.a_text(),
                         retryable=self.pick([True, False, 1]),
                         android_result=self.pick([None, *INTS]))  # fmt: skip
        if kind == "received":
            frame.update(text=self.a_text() or "t", sim_slot=self.an_int())
            frame["from"] = self.pick(["+998901234567", "BANK", *TEXTS])
        return frame

    def frame(self) -> list[str | bytes]:
        """One or more frames (a flood) as they go on the wire."""
        roll = self.rng.random()
        if roll < 0.45:
            return [json.dumps(self.report())]
        if roll < 0.6:
            kind = self.pick(["accepted", "rejected"])
            frame: dict[str, Any] = {"type": kind, "id": self.an_id()}
            if kind == "rejected":
                frame.update(code=self.pick(["busy", "no sim"]), message=self.a_text(),
                             retryable=self.pick([True, False]))  # fmt: skip
            return [json.dumps(frame)]
        if roll < 0.7:
            beat = {
                "type": "heartbeat", "battery": self.an_int(), "charging": True,
                "signal": self.an_int(), "network": self.a_text(), "queue": self.an_int(),
            }  # fmt: skip
            return [json.dumps(beat)]
        if roll < 0.8:  # a flood of well-formed reports for unknown or foreign ids
            return [
                json.dumps({"type": "delivered", "seq": self.a_seq(), "id": self.an_id(),
                            "at": TIMES[0]})
                for _ in range(self.rng.randint(10, 40))
            ]  # fmt: skip
        return [self.pick([
            "{not json", "[]", "null", '{"type": 5}', '{"type": "welcome"}',
            '{"type": "hello", "app_version": "x"}', '{"type": "' + "z" * 200 + '"}',
            '{"type":"sent","seq":1' + ',"x":[' * 200 + "]" * 200 + "}",
            b'{"type":"heartbeat"}', "x" * (70 * 1024), "\x00\x01\x02",
        ])]  # fmt: skip


class HostileRelay:
    """B's phone: sends what the fuzzer makes, reconnecting whenever it is closed."""

    def __init__(self, hub: RunningHub, device: PairedDevice, fuzzer: Fuzzer) -> None:
        self.hub, self.device, self.fuzzer = hub, device, fuzzer
        self.closes: Counter[int | None] = Counter()
        self.jobs: list[str] = []  # ids of jobs the hub gave it (B's own messages)
        self._ws: ClientConnection | None = None
        self._reader: asyncio.Task[None] | None = None
        self._probed = asyncio.Event()

    async def _connect(self) -> ClientConnection:
        ws = await raw_relay.open_socket(self.hub.base_url, self.device.device_token, max_size=None)
        await raw_relay.hello(ws)
        self._reader = asyncio.create_task(self._read(ws))
        return ws

    async def _read(self, ws: ClientConnection) -> None:
        """Read (and note jobs) so the hub's writer never waits on this socket."""
        with contextlib.suppress(ConnectionClosed):
            async for data in ws:
                if isinstance(data, str) and data.startswith('{"type":"send"'):
                    self.jobs.append(json.loads(data)["id"])
                elif isinstance(data, str) and PROBE in data:
                    self._probed.set()
        self.closes[ws.close_code] += 1

    async def send(self, frames: list[str | bytes]) -> None:
        """Send the frames, then wait until the hub has handled them.

        The hub handles a socket's frames in order, so its answer to a probe
        (a frame of an unknown type, answered with an ``error``) or the close
        that a bad frame caused says that every frame before it was handled.
        """
        if self._ws is None or self._reader is None or self._reader.done():
            self._ws = await self._connect()
        ws, reader = self._ws, self._reader
        self._probed.clear()
        with contextlib.suppress(ConnectionClosed):
            for data in frames:
                await ws.send(data)
            await ws.send(json.dumps({"type": PROBE}))
        probed = asyncio.create_task(self._probed.wait())
        await asyncio.wait({probed, reader}, return_when=asyncio.FIRST_COMPLETED)
        probed.cancel()

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            await self._reader


async def run_hostile(hostile: HostileRelay, rng: random.Random) -> int:
    sent = 0
    while sent < FRAMES:
        frames = hostile.fuzzer.frame()
        await hostile.send(frames)
        sent += len(frames)
    return sent


async def test_hostile_relay_of_one_account_never_hurts_the_relays_of_another(
    hub_server: RunningHub, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    rng = random.Random(SEED)
    healthy = [await hub_server.relay("Alpha one"), await hub_server.relay("Alpha two")]
    created = await hub_server.post("/api/v1/admin/accounts", {"name": "Bravo"})
    assert created.status_code == 201, created.text
    b_token = created.json()["token"]
    b_phone = await pair_device(hub_server.client, hub_server.base_url, b_token, "Hostile")
    b_other = await pair_device(hub_server.client, hub_server.base_url, b_token, "B other")
    a_ids: list[str] = []
    hostile: HostileRelay

    def known_ids() -> list[str]:
        devices = [r.device_id for r in healthy] + [b_phone.device_id, b_other.device_id]
        return a_ids + hostile.jobs + devices

    hostile = HostileRelay(hub_server, b_phone, Fuzzer(rng, known_ids))

    async def a_sends() -> None:
        for n in range(A_MESSAGES):
            a_ids.append(await hub_server.send(text=f"Alpha {n}"))

    async def b_sends() -> None:  # B's own jobs give the hostile relay real ids to abuse
        for n in range(10):
            answer = await hub_server.post(
                "/api/v1/sms/send", {"to": "+998901234567", "text": f"Bravo {n}"}, b_token
            )
            assert answer.status_code == 202, answer.text

    try:
        async with asyncio.timeout(TIME_LIMIT_S):
            _, _, frames = await asyncio.gather(a_sends(), b_sends(), run_hostile(hostile, rng))
            await wait_any(healthy, lambda: set(a_ids) <= delivered(healthy), timeout=TIME_LIMIT_S)
    except (TimeoutError, InvalidStatus) as exc:
        pytest.fail(f"seed {SEED}: {exc!r}; hostile closes {dict(hostile.closes)}")
    finally:
        await hostile.close()

    context = f"seed {SEED}, hostile closes {dict(hostile.closes)}"
    assert frames >= FRAMES
    assert sum(hostile.closes.values()) > 0, context  # the fuzz did reach the hub's checks
    for relay in healthy:
        assert relay.close_codes == [], f"{relay.name} lost its socket; {context}"
    handed = Counter(sent_ids(healthy))
    assert {mid: handed[mid] for mid in a_ids} == dict.fromkeys(a_ids, 1), context
    statuses = [(await hub_server.status(mid))["status"] for mid in a_ids]
    assert set(statuses) == {"delivered"}, context
    fences = [r.getMessage() for r in caplog.records if FENCE_LOG in r.getMessage()]
    assert fences == [], context
    health = await hub_server.get("/api/v1/health")
    assert health.status_code == 200 and health.json()["status"] == "ok"


def delivered(relays: list[Any]) -> set[str]:
    return set().union(*(delivered_ids(r) for r in relays))
