"""Never send twice: a job a relay has accepted is never handed to another relay.

PROTOCOL.md: "once a relay has accepted a message, the hub never gives it to
another device, unless that relay itself reports failed/rejected with
retryable: true". Here the relay that accepted vanishes without a word, the
ack timeout and the offline grace pass (the clock is moved), and another relay
is online with room: it gets the next message, never the accepted one.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from hub.clock import ManualClock
from protocol import frames as f
from tests.e2e import raw_relay
from tests.e2e.conftest import RunningHub, delivered_ids, hub_config, serve_hub

pytestmark = pytest.mark.both_backends  # a route or a state change (conftest.py)


async def status_becomes(hub: RunningHub, request_id: str, state: str) -> None:
    async with asyncio.timeout(10):
        while (await hub.status(request_id))["status"] != state:
            await hub.hub.store.write(lambda conn: None)  # one more commit has landed


async def test_job_accepted_by_a_relay_that_vanished_is_never_handed_to_another(
    tmp_path: Path,
) -> None:
    clock = ManualClock()
    async with serve_hub(hub_config(tmp_path), clock) as hub:
        device = await hub.pair("Accepts, then vanishes")
        ws = await hub.open_socket(device.device_token)
        welcome = await raw_relay.hello(ws)
        accepted = await hub.send(text="only one phone may send me")
        assert (await raw_relay.next_job(ws)).id == accepted
        await ws.send(f.encode(f.Accepted(id=accepted)).decode())
        await status_becomes(hub, accepted, "accepted")
        await ws.close()

        backup = await hub.relay("Backup")
        swept = asyncio.create_task(hub.hub.swept())
        clock.advance(welcome.ack_timeout_s + 2 * welcome.heartbeat_s + 60)
        await swept
        later = await hub.send(text="the next one")  # queued behind it, were it requeued
        await backup.wait_until(lambda: later in delivered_ids(backup))

        assert [job.id for job in backup.jobs_received] == [later]
        status = await hub.status(accepted)
        assert (status["status"], status["device_id"], status["attempts"]) == (
            "accepted", device.device_id, 1)  # fmt: skip
