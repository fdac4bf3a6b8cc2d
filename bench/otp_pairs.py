"""Issue 9's OTP figure: send + verify pairs per second, as a login page would make them.

32 clients each loop ``POST /otp/send`` → read the code from the SMS a relay in
this process was handed → ``POST /otp/verify``. Every number is new, so the
per-number limits never answer; every verify must say ``verified``.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import time
from contextlib import AsyncExitStack

from bench.harness import HOST, TOKEN, BenchHub, cpu_seconds, running_hub
from bench.http_load import Connection, build_request
from bench.in_process_relay import InProcessRelay
from bench.profiling import profiled
from relay_sim.pairing import pair_device

OTP_SECONDS = 10.0  # of load, as long as the lifecycle scenario's
OTP_CLIENTS = 32
OTP_RELAYS = 4
CODE = re.compile(r"\b(\d{6})\b")


class Inbox:
    """The text of every SMS the in-process relays were handed, by message id."""

    def __init__(self) -> None:
        self._texts: dict[str, asyncio.Future[str]] = {}

    def _slot(self, message_id: str) -> asyncio.Future[str]:
        slot = self._texts.get(message_id)
        if slot is None:
            slot = self._texts[message_id] = asyncio.get_running_loop().create_future()
        return slot

    def arrived(self, message_id: str, text: str) -> None:
        if not (slot := self._slot(message_id)).done():
            slot.set_result(text)

    async def text_of(self, message_id: str) -> str:
        try:
            return await self._slot(message_id)
        finally:
            self._texts.pop(message_id, None)


def text_relay(inbox: Inbox) -> InProcessRelay:
    """A relay in this process that puts the text of every SMS it is handed in ``inbox``."""
    return InProcessRelay(lambda job: inbox.arrived(job.id, job.text))


async def otp_pairs() -> dict[str, float]:
    async with running_hub() as hub, AsyncExitStack() as stack:
        inbox = Inbox()
        relays = [text_relay(inbox) for _ in range(OTP_RELAYS)]
        async with hub.client() as client:
            devices = [
                await pair_device(client, hub.base, TOKEN, f"OTP relay {n}")
                for n in range(OTP_RELAYS)
            ]
        tasks = [
            asyncio.create_task(relay.run(device.ws_url, device.device_token))
            for relay, device in zip(relays, devices, strict=True)
        ]
        stack.push_async_callback(_cancel, tasks)
        for relay, task in zip(relays, tasks, strict=True):
            await _welcomed(relay, task)

        numbers = itertools.count()
        verdicts: dict[str, int] = {}
        latencies: list[float] = []

        async def client_loop(deadline: float) -> None:
            conn = await Connection.open(HOST, hub.port)
            try:
                while time.perf_counter() < deadline:
                    began = time.perf_counter()
                    status = await _one_otp(conn, hub, inbox, f"+99890{next(numbers):07d}")
                    latencies.append(time.perf_counter() - began)
                    verdicts[status] = verdicts.get(status, 0) + 1
            finally:
                conn.close()

        cpu_before = cpu_seconds(hub.pid)
        async with profiled(hub, "otp"):
            began = time.perf_counter()
            await asyncio.gather(*(client_loop(began + OTP_SECONDS) for _ in range(OTP_CLIENTS)))
            elapsed = time.perf_counter() - began
        cpu = cpu_seconds(hub.pid) - cpu_before
        if set(verdicts) != {"verified"}:
            raise RuntimeError(f"every verify must say verified, not {verdicts}")
    pairs = verdicts["verified"]
    ordered = sorted(latencies)
    return {
        "otp_pairs_per_s": round(pairs / elapsed, 1),
        "otp_pair_p50_ms": round(ordered[len(ordered) // 2] * 1000, 2),
        "otp_pair_p99_ms": round(ordered[int(len(ordered) * 0.99)] * 1000, 2),
        "otp_hub_cpu_ms_per_pair": round(cpu * 1000 / pairs, 3),
    }


async def _welcomed(relay: InProcessRelay, task: asyncio.Task[None]) -> None:
    """Return once the relay is welcomed; raise if its socket ends first."""
    welcomed = asyncio.ensure_future(relay.welcomed.wait())
    try:
        async with asyncio.timeout(30):
            await asyncio.wait([welcomed, task], return_when=asyncio.FIRST_COMPLETED)
    finally:
        welcomed.cancel()
    if not relay.welcomed.is_set():
        crash = task.exception() if task.done() and not task.cancelled() else None
        raise RuntimeError("an OTP relay was not welcomed") from crash


async def _one_otp(conn: Connection, hub: BenchHub, inbox: Inbox, to: str) -> str:
    """Send a code to ``to``, read it from the relay's SMS, verify it; the verdict."""
    host = f"{HOST}:{hub.port}"
    body = json.dumps({"to": to, "purpose": "login"}).encode()
    status, answer = await conn.round_trip(build_request("/api/v1/otp/send", body, TOKEN, host))
    if status != 200:
        raise RuntimeError(f"otp/send answered {status}: {answer[:300]!r}")
    sent = json.loads(answer)
    text = await inbox.text_of(sent["request_id"])
    code = CODE.search(text)
    if code is None:
        raise RuntimeError(f"no code in the SMS {text!r}")
    body = json.dumps({"otp_id": sent["otp_id"], "code": code[1]}).encode()
    status, answer = await conn.round_trip(build_request("/api/v1/otp/verify", body, TOKEN, host))
    if status != 200:
        raise RuntimeError(f"otp/verify answered {status}: {answer[:300]!r}")
    verdict: str = json.loads(answer)["status"]
    return verdict


async def _cancel(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
