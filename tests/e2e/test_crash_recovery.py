"""SIGKILL the hub while it accepts sends: every 202 still reaches a relay, none twice."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from pathlib import Path

import httpx
import pytest

from relay_sim.pairing import pair_device
from relay_sim.relay import SimRelay
from tests.e2e.conftest import ADMIN_TOKEN, delivered_ids, send_until, sent_ids, wait_any
from tests.e2e.hub_process import HubProcess, free_port
from tests.e2e.stored import stored_rows

pytestmark = pytest.mark.both_backends  # a route or a state change (conftest.py)

CLIENTS = 8
KILL_AFTER_ACCEPTED = 100
KILLS = 3


async def test_hub_killed_while_accepting_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    hub = HubProcess(tmp_path / "data", free_port(), ADMIN_TOKEN)
    await hub.start()
    relays: list[SimRelay] = []
    acknowledged: set[str] = set()
    async with httpx.AsyncClient(timeout=10) as client:
        try:
            for n in range(2):
                device = await pair_device(client, hub.base_url, ADMIN_TOKEN, f"Relay {n}")
                relay = SimRelay(device, seed=n)
                relays.append(relay)
                await relay.start()
                await relay.wait_welcomed()

            for _ in range(KILLS):
                acknowledged |= await _accept_then_kill(client, hub, relays)
                await hub.start()  # same data and port: the relays reconnect by themselves

            def all_delivered() -> bool:
                done = {i for r in relays for i in delivered_ids(r)}
                return acknowledged <= done and all(r.outbox_size == 0 for r in relays)

            await wait_any(relays, all_delivered, timeout=30)
            sends = Counter(sent_ids(relays))
            twice = {mid: n for mid, n in sends.items() if n > 1}
            assert twice == {}, f"sent more than once: {twice}"
            assert acknowledged <= set(sends)
        finally:
            for relay in relays:
                with contextlib.suppress(Exception):
                    await relay.stop()
            await hub.stop()

    # The relays hold receipts for every report, so storage must say delivered.
    states = dict(stored_rows(tmp_path / "data", "SELECT id, state FROM messages"))
    assert {states.get(i) for i in acknowledged} == {"delivered"}


async def _accept_then_kill(
    client: httpx.AsyncClient, hub: HubProcess, relays: list[SimRelay]
) -> set[str]:
    """Send from several clients at once, SIGKILL the hub mid-stream; return the 202s."""
    accepted: list[str] = []
    url = f"{hub.base_url}/api/v1/sms/send"
    stop = asyncio.Event()
    senders = [
        asyncio.create_task(send_until(stop, client, url, accepted, "crash test"))
        for _ in range(CLIENTS)
    ]
    await wait_any(relays, lambda: len(accepted) >= KILL_AFTER_ACCEPTED, timeout=30)
    await hub.kill()
    stop.set()
    await asyncio.gather(*senders)
    return set(accepted)
