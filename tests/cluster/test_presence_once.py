"""Presence events on several nodes: each device.online and device.offline once, cluster-wide.

Real node processes on one PostgreSQL and relay_sim relays. What the nodes
announce is read where a customer reads it: the event stream.
"""

from __future__ import annotations

import asyncio

from tests.cluster.conftest import Cluster
from tests.cluster.event_stream import stream_on
from tests.e2e.sse import Message

PRESENCE = "device.online,device.offline,message.sent"
SHORT_GRACE = "offline_grace_s = 0.3\nsweep_interval_s = 0.1\n"  # [relay]


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
        await on_a.stop()  # A's socket ends after B's hello: A's grace runs out
        await a.wait_log(f"device {device.device_id}: offline already announced")
        await on_b.stop()  # now it is offline for real
        async with asyncio.timeout(10):
            offline = await stream.next()

    assert presence(online) == ("device.online", device.device_id)
    assert presence(offline) == ("device.offline", device.device_id)
    counts = cluster.query("SELECT type, count(*) FROM events GROUP BY type ORDER BY type")
    assert counts == [("device.offline", 1), ("device.online", 1)]
