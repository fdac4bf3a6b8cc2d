"""Presence events on several nodes: each device.online and device.offline once, cluster-wide.

Real node processes on one PostgreSQL and relay_sim relays. What the nodes
announce is read where a customer reads it: the event stream.
"""

from __future__ import annotations

import asyncio

from tests.cluster.conftest import Cluster
from tests.cluster.event_stream import stream_on
from tests.e2e.hub_process import HubProcess
from tests.e2e.sse import Message

PRESENCE = "device.online,device.offline,message.sent"
SHORT_GRACE = "offline_grace_s = 0.3\nsweep_interval_s = 0.1\n"  # [relay]


async def first_log(node: HubProcess, *texts: str) -> str:
    """The first of ``texts`` the node logs."""
    waits = [asyncio.ensure_future(node.wait_log(text)) for text in texts]
    try:
        done, _ = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        return done.pop().result()
    finally:
        for wait in waits:
            wait.cancel()


def presence(message: Message) -> tuple[str, str]:
    return message.event, message.body["data"].get("device_id", "")


async def test_a_hello_on_a_for_a_device_whose_node_died_announces_no_second_online(
    cluster: Cluster,
) -> None:
    a = await cluster.start_node()
    device = await cluster.pair(a, "phone")
    b = await cluster.start_node()
    async with stream_on(cluster, a, PRESENCE) as stream:
        on_b = await cluster.relay_on(b, device)
        async with asyncio.timeout(10):
            announced = await stream.next()
        await b.kill()  # B dies holding the device's session
        await on_b.stop()
        on_a = await cluster.relay_on(a, device, ledger=on_b.ledger)
        await a.wait_log(f"device {device.device_id}: online already announced")
        # Something that comes after: a second online would be read before it.
        sent = await cluster.send(a)
        await on_a.wait_until(lambda: on_a.sms_sent[sent] == 1)
        async with asyncio.timeout(10):
            after = await stream.next()

    assert presence(announced) == ("device.online", device.device_id)
    assert (after.event, after.body["data"]["request_id"]) == ("message.sent", sent)
    assert cluster.query("SELECT count(*) FROM events WHERE type = 'device.online'") == [(1,)]


async def test_an_offline_on_the_old_node_is_not_announced_once_the_device_is_on_another(
    cluster: Cluster,
) -> None:
    cluster.extra_toml = SHORT_GRACE
    a = await cluster.start_node()
    device = await cluster.pair(a, "phone")
    b = await cluster.start_node()
    async with stream_on(cluster, a, PRESENCE) as stream:
        on_a = await cluster.relay_on(a, device)
        async with asyncio.timeout(10):
            online = await stream.next()
        on_b = await cluster.relay_on(b, device, ledger=on_a.ledger)  # the phone moved to B
        await b.wait_log(f"device {device.device_id}: online already announced")
        await on_a.stop()  # A's socket ends after B's hello
        # A decides without announcing: either B's hello told it the phone moved
        # (4409, its jobs handed over), or its socket ended first and its grace
        # ran out with the device already online elsewhere.
        await first_log(
            a, f"relay {device.device_id} moved to", f"device {device.device_id}: offline already"
        )
        await on_b.stop()  # now it is offline for real
        async with asyncio.timeout(10):
            offline = await stream.next()

    assert presence(online) == ("device.online", device.device_id)
    assert presence(offline) == ("device.offline", device.device_id)
    counts = cluster.query("SELECT type, count(*) FROM events GROUP BY type ORDER BY type")
    assert counts == [("device.offline", 1), ("device.online", 1)]


async def test_a_device_whose_node_died_and_that_never_came_back_is_announced_offline_once(
    cluster: Cluster,
) -> None:
    cluster.cluster_extra = "lease_s = 2.0\nrenew_every_s = 0.5\nreap_every_s = 0.25"
    cluster.extra_toml = SHORT_GRACE
    a = await cluster.start_node()
    device = await cluster.pair(a, "phone")
    b = await cluster.start_node()
    await cluster.start_node()  # C: A and C both sweep for it
    async with stream_on(cluster, a, PRESENCE) as stream:
        on_b = await cluster.relay_on(b, device)
        async with asyncio.timeout(10):
            online = await stream.next()
        await b.kill()  # B dies holding the device's session
        await on_b.stop()  # and the phone never comes back
        async with asyncio.timeout(15):  # B's lease (2 s) and the grace (0.3 s)
            offline = await stream.next()
        # Something that comes after: a second offline would be read before it.
        await cluster.relay_on(a, device, ledger=on_b.ledger)  # the phone is back, on A
        async with asyncio.timeout(10):
            back = await stream.next()

    assert presence(online) == ("device.online", device.device_id)
    assert presence(offline) == ("device.offline", device.device_id)
    assert presence(back) == ("device.online", device.device_id)
    counts = cluster.query("SELECT type, count(*) FROM events GROUP BY type ORDER BY type")
    assert counts == [("device.offline", 1), ("device.online", 2)]
