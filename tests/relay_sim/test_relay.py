"""Tests for ``relay_sim/relay.py``: one SimRelay against the stub hub, over real sockets."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import relay_sim
from protocol import frames as f
from relay_sim.backoff import Backoff
from relay_sim.profiles import PROFILES, Profile
from relay_sim.relay import SimRelay
from tests.relay_sim.conftest import MakeRelay
from tests.relay_sim.stub_hub import BRAKED_TOKEN, DEVICE_ID, StubHub, job

PACKAGE_DIR = str(Path(relay_sim.__file__).parent)

# Long enough that a test always acts first; the task is cancelled at the end anyway.
FOREVER = (3600.0, 3600.0)


async def started(relay: SimRelay) -> SimRelay:
    await relay.start()
    await relay.wait_welcomed()
    return relay


async def test_relay_says_hello_and_goes_online_when_welcomed(
    hub: StubHub, make_relay: MakeRelay
) -> None:
    relay = await started(make_relay(sims=2, parts_per_minute=30))

    [hello] = hub.hellos
    assert hello.model == "relay-sim"
    assert [sim.slot for sim in hello.sims] == [0, 1]
    assert hello.limits.parts_per_minute == 30
    assert relay.online
    assert relay.welcome is not None and relay.welcome.device_id == DEVICE_ID


async def test_relay_accepts_sends_and_reports_a_job_in_seq_order(
    hub: StubHub, make_relay: MakeRelay
) -> None:
    relay = await started(make_relay())

    await hub.send_job(job("req_1", text="x" * 161, sim_slot=0))
    await relay.wait_until(lambda: len(relay.reports) == 2 and relay.outbox_size == 0)

    assert hub.acks == [f.Accepted(id="req_1")]
    sent, delivered = relay.reports
    assert isinstance(sent, f.Sent) and (sent.seq, sent.parts, sent.sim_slot) == (1, 2, 0)
    assert isinstance(delivered, f.Delivered) and delivered.seq == 2
    assert relay.sms_sent == {"req_1": 1}
    await hub.wait_until(lambda: len(hub.reports) == 2)
    assert hub.reports == relay.reports


async def test_relay_answers_a_repeated_job_again_without_sending_twice(
    hub: StubHub, make_relay: MakeRelay
) -> None:
    relay = await started(make_relay())

    await hub.send_job(job("req_1"))
    await relay.wait_until(lambda: len(relay.reports) == 2)
    await hub.send_job(job("req_1"))
    await hub.wait_until(lambda: len(hub.acks) == 2)

    assert hub.acks == [f.Accepted(id="req_1"), f.Accepted(id="req_1")]
    assert [send.id for send in relay.jobs_received] == ["req_1", "req_1"]
    assert relay.sms_sent == {"req_1": 1}


@pytest.mark.parametrize(
    ("send", "code"),
    [
        (job("req_old", expires_at=datetime.now(UTC) - timedelta(seconds=1)), "expired"),
        (job("req_slot", sim_slot=1), "no_sim"),
    ],
)
async def test_relay_rejects_a_job_it_cannot_send(
    hub: StubHub, make_relay: MakeRelay, send: f.Send, code: str
) -> None:
    relay = await started(make_relay(sims=1))

    await hub.send_job(send)
    await hub.wait_until(lambda: bool(hub.acks))

    [rejected] = hub.acks
    assert isinstance(rejected, f.Rejected)
    assert (rejected.id, rejected.code, rejected.retryable) == (send.id, code, False)
    assert relay.rejections == [rejected]
    assert not relay.sms_sent


async def test_relay_reports_cancelled_when_a_cancel_comes_before_sending(
    hub: StubHub, make_relay: MakeRelay
) -> None:
    relay = await started(make_relay(Profile("slow", send_latency_s=FOREVER)))

    await hub.send_job(job("req_1"))
    await hub.wait_until(lambda: hub.acks == [f.Accepted(id="req_1")])
    await hub.send_cancel("req_1")
    await hub.wait_until(lambda: bool(hub.reports))

    [failed] = hub.reports
    assert isinstance(failed, f.Failed)
    assert (failed.code, failed.retryable) == ("cancelled", False)
    assert not relay.sms_sent


async def test_relay_rejects_a_cancelled_job_it_has_not_accepted_yet(
    hub: StubHub, make_relay: MakeRelay
) -> None:
    relay = await started(make_relay(Profile("hesitant", ack_delay_s=FOREVER)))

    await hub.send_job(job("req_1"))
    await relay.wait_until(lambda: bool(relay.jobs_received))
    await hub.send_cancel("req_1")
    await hub.wait_until(lambda: bool(hub.acks))

    assert hub.acks == [
        f.Rejected(
            id="req_1", code="cancelled", message=relay.rejections[0].message, retryable=False
        )
    ]
    assert not relay.reports


async def test_relay_ignores_a_cancel_that_comes_after_sending(
    hub: StubHub, make_relay: MakeRelay
) -> None:
    relay = await started(make_relay())
    await hub.send_job(job("req_1"))
    await relay.wait_until(lambda: len(relay.reports) == 2)

    await hub.send_cancel("req_1")
    await hub.send_job(job("req_2"))  # frames are handled in order: a barrier
    await hub.wait_until(lambda: len(hub.reports) == 4)

    assert not any(isinstance(report, f.Failed) for report in hub.reports)
    assert relay.sms_sent == {"req_1": 1, "req_2": 1}


async def test_relay_reports_a_generic_failure_when_the_carrier_refuses(
    hub: StubHub, make_relay: MakeRelay
) -> None:
    relay = await started(make_relay(Profile("broken", send_failure_rate=1)))

    await hub.send_job(job("req_1"))
    await hub.wait_until(lambda: bool(hub.reports))

    [failed] = hub.reports
    assert isinstance(failed, f.Failed)
    assert (failed.code, failed.retryable, failed.android_result) == ("generic_failure", False, 1)
    assert relay.sms_sent == {"req_1": 1}  # it did reach the carrier


async def test_relay_reports_delivered_before_sent_when_out_of_order(
    hub: StubHub, make_relay: MakeRelay
) -> None:
    await started(make_relay(Profile("shuffled", out_of_order_rate=1)))

    await hub.send_job(job("req_1"))
    await hub.wait_until(lambda: len(hub.reports) == 2)

    assert [(type(r), r.seq) for r in hub.reports] == [(f.Delivered, 1), (f.Sent, 2)]


async def test_relay_sends_each_report_twice_when_duplicating(
    hub: StubHub, make_relay: MakeRelay
) -> None:
    await started(make_relay(Profile("echo", duplicate_report_rate=1)))

    await hub.send_job(job("req_1"))
    await hub.wait_until(lambda: hub.duplicate_reports == 2)

    assert [r.seq for r in hub.reports] == [1, 2]


async def test_relay_drops_the_socket_after_accepting_and_replays_its_reports(
    hub: StubHub, make_relay: MakeRelay
) -> None:
    relay = await started(make_relay(Profile("dropping", disconnect_rate=1)))

    await hub.send_job(job("req_1"))
    await relay.wait_until(lambda: relay.close_codes == [None] and relay.online)
    await hub.wait_until(lambda: len(hub.reports) == 2)

    assert hub.acks == [f.Accepted(id="req_1")]  # written before the socket went
    assert len(hub.hellos) == 2
    assert relay.sms_sent == {"req_1": 1}


async def test_relay_replays_unreceipted_reports_after_a_cut(make_relay: MakeRelay) -> None:
    async with StubHub(receipts=False) as hub:
        relay = SimRelay(hub.device(), seed=1)
        try:
            await started(relay)
            await hub.send_job(job("req_1"))
            await hub.wait_until(lambda: len(hub.reports) == 2)
            assert relay.outbox_size == 2

            hub.receipts = True
            await relay.cut()
            await relay.wait_until(lambda: relay.online and relay.outbox_size == 0)
        finally:
            await relay.stop()

    assert relay.close_codes[0] is None
    assert hub.duplicate_reports == 2  # the replay: already stored, receipted again


async def test_relay_cut_on_next_job_drops_the_socket_and_forgets_the_job(
    hub: StubHub, make_relay: MakeRelay
) -> None:
    relay = await started(make_relay())
    relay.cut_on_next_job = True

    await hub.send_job(job("req_1"))
    await relay.wait_until(lambda: relay.close_codes == [None] and relay.online)

    assert not relay.cut_on_next_job
    assert not hub.acks
    assert "req_1" not in relay.ledger.jobs
    await hub.send_job(job("req_1", attempt=2))
    await relay.wait_until(lambda: len(relay.reports) == 2)
    assert relay.sms_sent == {"req_1": 1}


async def test_relay_forgets_a_job_whose_socket_ended_before_it_answered(
    hub: StubHub, make_relay: MakeRelay
) -> None:
    relay = await started(make_relay(Profile("slow_ack", ack_delay_s=(0.2, 0.2))))

    await hub.send_job(job("req_1"))
    await relay.wait_until(lambda: bool(relay.jobs_received))
    await relay.cut()
    await relay.wait_until(lambda: "req_1" not in relay.ledger.jobs)

    assert not hub.acks
    assert not relay.sms_sent


async def test_relay_forgets_a_job_it_did_not_answer_within_ack_timeout_s() -> None:
    async with StubHub(ack_timeout_s=1) as hub:
        relay = SimRelay(hub.device(), Profile("sluggish", ack_delay_s=(1.2, 1.2)), seed=1)
        try:
            await started(relay)
            await hub.send_job(job("req_1"))
            await relay.wait_until(lambda: bool(relay.jobs_received))
            await relay.wait_until(lambda: "req_1" not in relay.ledger.jobs, timeout=5)
        finally:
            await relay.stop()

    assert not hub.acks
    assert not relay.sms_sent


async def test_relay_drop_reconnects_at_once_and_keeps_a_job_it_has_not_answered(
    hub: StubHub, make_relay: MakeRelay
) -> None:
    relay = await started(make_relay(PROFILES["stalled"]))
    # A backoff delay would outlast the test: only skipping it lets the relay back.
    relay._backoff = Backoff(random.Random(1), first=3600, maximum=3600)
    await hub.send_job(job("req_1"))
    await relay.wait_until(lambda: bool(relay.jobs_received))

    assert relay.drop()
    assert not relay.online
    await relay.wait_until(lambda: relay.close_codes == [None] and relay.online)
    await hub.send_job(job("req_1"))
    await relay.wait_until(lambda: len(relay.jobs_received) == 2)

    assert len(hub.hellos) == 2
    assert not hub.acks
    assert "req_1" in relay.ledger.jobs


async def test_relay_drop_without_a_socket_does_nothing(make_relay: MakeRelay) -> None:
    assert not make_relay().drop()


async def test_relay_reconnects_after_the_hub_closes_the_socket(
    hub: StubHub, make_relay: MakeRelay
) -> None:
    relay = await started(make_relay())

    await hub.close(4409)
    await relay.wait_until(lambda: relay.close_codes == [4409] and relay.online)

    assert len(hub.hellos) == 2


async def test_relay_stops_trying_and_says_so_when_its_token_is_refused(
    hub: StubHub,
) -> None:
    told: list[tuple[str, int, float | None]] = []
    relay = SimRelay(
        hub.device("dtok_revoked"),
        seed=7,
        on_refused=lambda relay, status, wait: told.append((relay.name, status, wait)),
    )
    try:
        await relay.start()
        await relay.wait_until(lambda: relay.refused is not None)
        running = relay.running  # the loop ended with the refusal: no handshake follows
    finally:
        await relay.stop()

    assert running is False
    assert relay.refused == 401 and relay.refusals == [401]
    assert told == [("Stub relay", 401, None)]
    assert not relay.online and not relay.close_codes and not hub.hellos


async def test_relay_braked_with_429_keeps_trying_and_says_so_once(hub: StubHub) -> None:
    told: list[tuple[int, float | None]] = []
    relay = SimRelay(
        hub.device(BRAKED_TOKEN),
        seed=7,
        on_refused=lambda relay, status, wait: told.append((status, wait)),
    )
    try:
        await relay.start()
        await relay.wait_until(lambda: len(relay.refusals) >= 3)
    finally:
        await relay.stop()

    assert set(relay.refusals) == {429}
    assert relay.refused is None  # braked is not refused: it waits and tries again
    assert told == [(429, 0.0)]


async def test_relay_sends_heartbeats_every_heartbeat_s(make_relay: MakeRelay) -> None:
    async with StubHub(heartbeat_s=1) as hub:
        relay = SimRelay(hub.device(), seed=1)
        try:
            await started(relay)
            await hub.wait_until(lambda: bool(hub.heartbeats), timeout=3)
        finally:
            await relay.stop()

    [heartbeat, *_] = hub.heartbeats
    assert 0 <= heartbeat.battery <= 100 and heartbeat.queue == 0


async def test_relay_reports_an_inbound_sms_made_offline_after_the_welcome(
    hub: StubHub, make_relay: MakeRelay
) -> None:
    relay = make_relay()
    received = relay.receive_sms("+998901112233", "hi there")
    assert relay.outbox_size == 1

    await started(relay)
    await relay.wait_until(lambda: relay.outbox_size == 0)

    assert hub.reports == [received]


async def test_wait_until_times_out_with_the_relay_state(make_relay: MakeRelay) -> None:
    relay = make_relay()

    with pytest.raises(TimeoutError, match="online=False"):
        await relay.wait_until(lambda: relay.online, timeout=0.01)


async def test_stop_leaves_no_relay_task_running(hub: StubHub, make_relay: MakeRelay) -> None:
    relay = await started(make_relay(Profile("slow", send_latency_s=FOREVER)))
    await hub.send_job(job("req_1"))
    await hub.wait_until(lambda: bool(hub.acks))

    await relay.stop()

    assert not [task for task in asyncio.all_tasks() if _runs_package_code(task)]
    assert relay.close_codes == [1001]


def _runs_package_code(task: asyncio.Task[object]) -> bool:
    code = getattr(task.get_coro(), "cr_code", None)
    return code is not None and code.co_filename.startswith(PACKAGE_DIR)
