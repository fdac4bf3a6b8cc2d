"""Issue 16, finding 5: a phone cannot fill the shared disk with inbound SMS.

The attack: one paired phone reported 3,000 forged ``received`` SMS in 0.38 s
and every one was stored with its event. Now each device has a token bucket
(``[relay] inbound_per_minute`` / ``inbound_burst``) and each account a total
(``[limits] max_stored_inbound``); a report over either is receipted, so the
phone's outbox empties, but not stored. The hub runs on a ManualClock here, so
no bucket refills unless a test moves time.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from hub.clock import ManualClock
from relay_sim.pairing import pair_device
from relay_sim.relay import SimRelay
from tests.e2e.conftest import RunningHub, hub_config, serve_hub

pytestmark = pytest.mark.both_backends  # a route or a state change (conftest.py)

FLOOD = 300
BURST = 20


def limits_config(tmp_path: Path, **limits: Any) -> Any:
    return hub_config(
        tmp_path / "data",
        relay={"inbound_per_minute": 60, "inbound_burst": BURST},
        limits=limits,
    )


async def flood(relay: SimRelay, count: int, tag: str = "forged") -> None:
    """Report ``count`` inbound SMS at once; return once the hub has receipted them all."""
    for n in range(count):
        relay.receive_sms("+998935550101", f"{tag} {n} " + "x" * 1000)
    await relay.wait_until(lambda: relay.outbox_size == 0)


async def stored(hub: RunningHub, device_id: str) -> tuple[int, int]:
    """(inbound SMS stored for the device, message.received events of its account)."""
    await hub.hub.store.write(lambda conn: None)  # every queued write committed
    inbound = await hub.hub.store.fetchone(
        "SELECT COUNT(*) AS n FROM inbound_messages WHERE device_id = ?", (device_id,)
    )
    # The bodies are read and parsed here: JSON inside the database is each backend's own.
    bodies = await hub.hub.store.fetchall("SELECT body FROM events WHERE type = 'message.received'")
    events = sum(json.loads(row["body"])["data"]["device_id"] == device_id for row in bodies)
    assert inbound is not None
    return inbound["n"], events


async def test_a_flood_of_inbound_sms_stores_only_the_burst_and_is_receipted_whole(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with serve_hub(limits_config(tmp_path), ManualClock()) as hub:
        relay = await hub.relay("Forger")
        with caplog.at_level(logging.WARNING, logger="hub.limits.inbound"):
            await flood(relay, FLOOD)

        assert await stored(hub, relay.device_id) == (BURST, BURST)
        stored_seq = await hub.hub.devices.stored_seq(relay.device_id)
        assert stored_seq == relay.reports[-1].seq  # receipted: the outbox will not replay them
        warnings = [r for r in caplog.records if r.name == "hub.limits.inbound"]
        assert len(warnings) == 1  # once a minute, not once a frame
        assert relay.device_id in warnings[0].getMessage()


async def test_the_rate_is_per_device_and_refills_with_time(tmp_path: Path) -> None:
    clock = ManualClock()
    async with serve_hub(limits_config(tmp_path), clock) as hub:
        forger = await hub.relay("Forger")
        honest = await hub.relay("Honest")
        await flood(forger, FLOOD)

        await flood(honest, 3, "honest")
        assert await stored(hub, honest.device_id) == (3, 3)

        clock.advance(10)  # 60 a minute: 10 more
        await flood(forger, 50, "later")
        assert await stored(hub, forger.device_id) == (BURST + 10, BURST + 10)


async def test_an_account_over_its_inbound_quota_stores_no_more_even_after_a_restart(
    tmp_path: Path,
) -> None:
    config = hub_config(
        tmp_path / "data",
        relay={"inbound_per_minute": 6000, "inbound_burst": 1000},
        limits={"max_stored_inbound": 5},
    )
    async with serve_hub(config, ManualClock()) as hub:
        relay = await hub.relay("Chatty")
        await flood(relay, 8)
        assert await stored(hub, relay.device_id) == (5, 5)
        created = await hub.post("/api/v1/admin/accounts", {"name": "Other"})
        other_token = created.json()["token"]
        other = await hub.relay(
            "Other's", device=await pair_device(hub.client, hub.base_url, other_token, "O")
        )
        await flood(other, 2)
        assert await stored(hub, other.device_id) == (2, 2)  # a quota of its own account only

    async with serve_hub(config, ManualClock()) as hub:  # the count is loaded at start
        second = await hub.relay("Second phone of the same account")
        await flood(second, 3, "after restart")
        assert await stored(hub, second.device_id) == (0, 0)
