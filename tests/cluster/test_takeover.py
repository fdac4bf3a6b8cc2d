"""Takeover across nodes: a relay's newer socket on one node closes its older
socket on another with 4409, fenced by the session epoch."""

from __future__ import annotations

from hub.cluster.control import CancelJob, CloseRelay, Why
from protocol import frames as f
from protocol.close_codes import CloseCode
from tests.cluster.conftest import Cluster, stored
from tests.cluster.control_helpers import closed_with, session_held, socket_at, tell
from tests.e2e import raw_relay


async def test_a_hello_on_node_c_closes_the_older_socket_on_node_b_with_4409(
    cluster: Cluster,
) -> None:
    b = await cluster.start_node()
    c = await cluster.start_node()
    device = await cluster.pair(b, "moving-phone")
    older = await socket_at(b, device.device_token)
    assert await session_held(cluster, device.device_id, b) == 1

    newer = await socket_at(c, device.device_token)

    assert await closed_with(older) == CloseCode.REPLACED
    assert await session_held(cluster, device.device_id, c) == 2
    # The newer socket speaks for the device: a send on B reaches it on C.
    request_id = await cluster.send(b, "to the newer socket")
    assert (await raw_relay.next_job(newer)).id == request_id
    await newer.close()


async def test_a_close_for_an_older_epoch_leaves_the_newer_socket_open(cluster: Cluster) -> None:
    b = await cluster.start_node()
    c = await cluster.start_node()
    device = await cluster.pair(b, "fenced-phone")
    first = await socket_at(b, device.device_token)
    await session_held(cluster, device.device_id, b)
    newer = await socket_at(c, device.device_token)
    epoch = await session_held(cluster, device.device_id, c)
    await first.close()

    # A replace message from before C's hello (epoch not newer) arrives late;
    # the cancel after it, in the same transaction, shows it was read.
    stale = CloseRelay(device.device_id, epoch, Why.REPLACED)
    tell(cluster, c, stale, CancelJob("req_after_the_stale_close", device.device_id))

    frame = await raw_relay.next_frame(newer)
    assert frame == f.Cancel(id="req_after_the_stale_close")
    request_id = await cluster.send(c, "still here")
    assert (await raw_relay.next_job(newer)).id == request_id
    await newer.close()


async def test_a_close_for_a_newer_epoch_closes_the_socket_with_4409(cluster: Cluster) -> None:
    b = await cluster.start_node()
    device = await cluster.pair(b, "told-phone")
    ws = await socket_at(b, device.device_token)
    epoch = await session_held(cluster, device.device_id, b)

    tell(cluster, b, CloseRelay(device.device_id, epoch + 1, Why.REPLACED))

    assert await closed_with(ws) == CloseCode.REPLACED


async def until_state(cluster: Cluster, request_id: str, state: str) -> None:
    """Wait until the message's stored state is ``state`` (its write committed)."""
    sql = "SELECT state FROM messages WHERE id = %s"
    await stored(lambda: cluster.query(sql, request_id) == [(state,)], f"{request_id} {state}")


async def test_a_relay_that_moves_to_node_c_keeps_its_jobs_as_on_one_node(
    cluster: Cluster,
) -> None:
    """On one node a takeover leaves the device its jobs (the welcome re-sends the
    dispatched, same attempt). Across nodes they follow the socket to C."""
    b = await cluster.start_node()
    c = await cluster.start_node()
    device = await cluster.pair(b, "travelling-phone")
    older = await socket_at(b, device.device_token)
    await session_held(cluster, device.device_id, b)
    accepted, dispatched = await cluster.send(b, "one"), await cluster.send(b, "two")
    jobs = [await raw_relay.next_job(older), await raw_relay.next_job(older)]
    assert {j.id for j in jobs} == {accepted, dispatched}
    await older.send(f.encode(f.Accepted(id=accepted)).decode())
    await until_state(cluster, accepted, "accepted")

    newer = await socket_at(c, device.device_token)
    assert await closed_with(older) == CloseCode.REPLACED

    again = await raw_relay.next_job(newer)
    assert (again.id, again.attempt) == (dispatched, 1)  # re-sent, not a new attempt
    sent = f.Sent(seq=1, id=accepted, at=raw_relay.now(), parts=1, sim_slot=0)
    await newer.send(f.encode(sent).decode())
    assert await raw_relay.next_frame(newer) == f.Receipt(seq=1)
    assert (await cluster.status(b, accepted))["status"] == "sent"
    owners = cluster.query(
        "SELECT DISTINCT owner_node FROM messages WHERE id = ANY(%s)", [accepted, dispatched]
    )
    assert owners == [(cluster.node_id(c),)]
    await newer.send(f.encode(f.Accepted(id=dispatched)).decode())
    await until_state(cluster, dispatched, "accepted")
    assert (await cluster.status(c, dispatched))["attempts"] == 1
    await newer.close()


async def test_takeover_cancel_between_nodes(cluster: Cluster) -> None:
    """A relay's late ``accepted`` takes over a job that went to another relay
    through another node: the relay that lost it gets ``cancel``, as on one node,
    and the message follows the relay that kept it."""
    cluster.relay_extra = "requeue_grace_s = 0"  # a closed socket's jobs requeue at once
    b = await cluster.start_node()
    c = await cluster.start_node()
    late, other = await cluster.pair(b, "late-phone"), await cluster.pair(b, "other-phone")
    first = await socket_at(b, late.device_token)
    await session_held(cluster, late.device_id, b)
    request_id = await cluster.send(b, "who sends it")
    assert (await raw_relay.next_job(first)).attempt == 1
    second = await socket_at(c, other.device_token)
    await session_held(cluster, other.device_id, c)

    await first.close()  # unanswered: B requeues it; only C has a relay, and claims it
    job = await raw_relay.next_job(second)
    assert job.id == request_id
    assert job.attempt == 2
    # The late phone comes back to B and says it had accepted attempt 1 after all.
    back = await socket_at(b, late.device_token)
    await back.send(f.encode(f.Accepted(id=request_id)).decode())

    assert await raw_relay.next_frame(second) == f.Cancel(id=request_id)
    status = await cluster.status(c, request_id)
    assert (status["status"], status["device_id"]) == ("accepted", late.device_id)
    owners = cluster.query("SELECT owner_node FROM messages WHERE id = %s", request_id)
    assert owners == [(cluster.node_id(b),)]
    sent = f.Sent(seq=1, id=request_id, at=raw_relay.now(), parts=1, sim_slot=0)
    await back.send(f.encode(sent).decode())
    assert await raw_relay.next_frame(back) == f.Receipt(seq=1)
    assert (await cluster.status(b, request_id))["status"] == "sent"
    await back.close()
    await second.close()
