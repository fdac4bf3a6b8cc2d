"""Two figures of a node's death, for the tests and for the bench.

``rehome_s``: from the SIGKILL until every given relay has been welcomed again
(through the balancer, so by another node). ``node_death_detect_s``: from the
SIGKILL until a surviving node logs that it reaped the dead one. Both are
taken on this process's monotonic clock, when the event is seen (a relay's
welcome, a log line): never earlier than it happened.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from relay_sim.relay import SimRelay
from tests.e2e.hub_process import HubProcess


@dataclass(frozen=True)
class DeathTiming:
    rehome_s: float
    node_death_detect_s: float


async def kill_and_time(
    victim: HubProcess,
    victim_id: str,
    survivors: list[HubProcess],
    relays: list[SimRelay],
    timeout_s: float = 30.0,
) -> DeathTiming:
    """SIGKILL ``victim`` (cluster id ``victim_id``) and time its relays' return and its reap.

    ``relays``: those the victim held; each must say hello again elsewhere.
    """
    before = {id(relay): relay.welcome for relay in relays}
    started = time.monotonic()
    await victim.kill()

    async def welcomed_again(relay: SimRelay) -> float:
        await relay.wait_until(
            lambda: relay.online and relay.welcome is not before[id(relay)], timeout=timeout_s
        )
        return time.monotonic() - started

    async def reaped() -> float:
        seen = [
            asyncio.create_task(node.wait_log(f"reaped node {victim_id}")) for node in survivors
        ]
        try:
            done, _ = await asyncio.wait(seen, return_when=asyncio.FIRST_COMPLETED)
            done.pop().result()
        finally:
            for task in seen:
                task.cancel()
        return time.monotonic() - started

    async with asyncio.timeout(timeout_s):
        back, detected = await asyncio.gather(
            asyncio.gather(*(welcomed_again(relay) for relay in relays)), reaped()
        )
    return DeathTiming(rehome_s=max(back, default=0.0), node_death_detect_s=detected)
