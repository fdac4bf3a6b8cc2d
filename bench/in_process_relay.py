"""A relay in the orchestrator's own process, built on ``RelaySession`` directly.

Scenarios that must see the moment a ``send`` frame arrives (push latency) or
the text it carries (an OTP's code) run one of these instead of a ``relay_sim``
process; it costs little beside the load that shares the process. It answers
every job accepted → sent → delivered at once, like a phone with a perfect
radio, and tells ``on_job`` of each one first.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

from websockets.asyncio.client import connect
from websockets.typing import Subprotocol

from protocol import frames as f
from protocol.relay_session import JobReceived, RelayLedger, RelaySession, Welcomed


class InProcessRelay:
    def __init__(self, on_job: Callable[[f.Send], None]) -> None:
        self.on_job = on_job
        self.welcomed = asyncio.Event()

    async def run(self, ws_url: str, token: str) -> None:
        session = RelaySession(RelayLedger())
        async with connect(
            ws_url, additional_headers={"Authorization": f"Bearer {token}"},
            subprotocols=[Subprotocol(f.SUBPROTOCOL)], compression=None,
        ) as ws:  # fmt: skip
            session.send_hello(f.Hello(
                app_version="bench", model="bench", os="bench",
                sims=[f.Sim(slot=0, carrier="bench")], limits=f.Limits(parts_per_minute=10_000),
            ))  # fmt: skip
            for data in session.data_to_send():
                await ws.send(data.decode())
            async for frame in ws:
                session.receive_text(frame)
                for event in session.events_received():
                    if isinstance(event, Welcomed):
                        self.welcomed.set()
                    elif isinstance(event, JobReceived):
                        job, now = event.job, datetime.now(UTC)
                        self.on_job(job)
                        session.accept(job.id)
                        session.report_sent(job.id, now, 1, 0)
                        session.report_delivered(job.id, now)
                for data in session.data_to_send():
                    await ws.send(data.decode())
