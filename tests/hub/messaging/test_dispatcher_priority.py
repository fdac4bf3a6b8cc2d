"""Tests for the priority lanes of ``hub/messaging/dispatcher.py``: OTP sends go ahead of
ordinary ones, oldest first within a lane, and a stuck lane holds up nothing else."""

from __future__ import annotations

import pytest

from hub.messaging.dispatcher import Dispatcher
from hub.messaging.message import PRIORITY, LiveMessage
from tests.hub.messaging.dispatcher_rig import ACCOUNT, PPM, SIMS, T0, WALL, message, queue_all


def otp(*, device: str | None = None, sim_slot: int | None = None) -> LiveMessage:
    return message(kind="otp", device=device, sim_slot=sim_slot)


def sms(*, device: str | None = None, sim_slot: int | None = None) -> LiveMessage:
    return message(kind="sms", device=device, sim_slot=sim_slot)


def placed_ids(dispatcher: Dispatcher, now: float = T0) -> list[str]:
    placed, expired = dispatcher.place(ACCOUNT, now, WALL)
    assert expired == []
    return [m.id for m, _ in placed]


def ids(*messages: LiveMessage) -> list[str]:
    return [m.id for m in messages]


def test_live_message_priority_puts_otp_in_the_most_urgent_lane_when_read() -> None:
    assert otp().priority == PRIORITY["otp"] == min(PRIORITY.values())
    assert sms().priority == PRIORITY["sms"] > otp().priority
    assert message(kind="unknown").priority == sms().priority  # goes with ordinary sends


@pytest.mark.parametrize("order", ["ssoo", "osos", "soso", "ooss", "sosso"])
def test_dispatcher_places_otps_first_whatever_order_they_were_queued_when_auto(
    order: str,
) -> None:
    d = Dispatcher(max_inflight=8)
    d.device_online(ACCOUNT, "dev_a", SIMS, PPM)
    messages = [otp() if c == "o" else sms() for c in order]
    queue_all(d, *messages)

    placed = placed_ids(d)

    otps = [m.id for m in messages if m.kind == "otp"]
    smss = [m.id for m in messages if m.kind == "sms"]
    assert placed == otps + smss


@pytest.mark.parametrize("order", ["ssoo", "osos", "soso"])
def test_dispatcher_places_otps_first_whatever_order_they_were_queued_when_manual(
    order: str,
) -> None:
    d = Dispatcher(max_inflight=8)
    d.device_online(ACCOUNT, "dev_a", SIMS, PPM)
    messages = [otp(device="dev_a") if c == "o" else sms(device="dev_a") for c in order]
    queue_all(d, *messages)

    placed = placed_ids(d)

    otps = [m.id for m in messages if m.kind == "otp"]
    smss = [m.id for m in messages if m.kind == "sms"]
    assert placed == otps + smss


def test_dispatcher_places_an_auto_otp_before_a_manual_sms_queued_earlier() -> None:
    d = Dispatcher(max_inflight=8)
    d.device_online(ACCOUNT, "dev_a", SIMS, PPM)
    manual_sms, auto_otp = sms(device="dev_a"), otp()
    queue_all(d, manual_sms, auto_otp)

    assert placed_ids(d) == ids(auto_otp, manual_sms)


def test_dispatcher_places_a_manual_otp_before_an_auto_sms_queued_earlier() -> None:
    d = Dispatcher(max_inflight=8)
    d.device_online(ACCOUNT, "dev_a", SIMS, PPM)
    auto_sms, manual_otp = sms(), otp(device="dev_a")
    queue_all(d, auto_sms, manual_otp)

    assert placed_ids(d) == ids(manual_otp, auto_sms)


def test_dispatcher_gives_the_last_free_slots_to_otps_when_capacity_is_short() -> None:
    d = Dispatcher(max_inflight=2)
    d.device_online(ACCOUNT, "dev_a", SIMS, PPM)
    bulk = [sms() for _ in range(3)]
    codes = [otp() for _ in range(2)]
    queue_all(d, *bulk, *codes)

    assert placed_ids(d) == ids(*codes)
    assert [m.id for m in d.queued(ACCOUNT)] == ids(*bulk)


def test_dispatcher_places_a_new_otp_ahead_of_waiting_sms_when_room_frees() -> None:
    d = Dispatcher(max_inflight=1)
    d.device_online(ACCOUNT, "dev_a", SIMS, PPM)
    first, waiting = sms(), sms()
    queue_all(d, first, waiting)
    assert placed_ids(d) == ids(first)
    code = otp()
    d.enqueue(code)
    assert placed_ids(d) == []

    d.release(first, "dev_a")

    assert placed_ids(d) == ids(code)
    assert [m.id for m in d.queued(ACCOUNT)] == ids(waiting)


def test_dispatcher_keeps_fifo_within_each_lane_when_lanes_interleave() -> None:
    d = Dispatcher(max_inflight=100)
    d.device_online(ACCOUNT, "dev_a", SIMS, PPM)
    o1, s1, o2, s2, o3, s3 = otp(), sms(), otp(), sms(), otp(), sms()
    queue_all(d, o1, s1, o2, s2, o3, s3)

    assert [m.id for m in d.queued(ACCOUNT)] == ids(o1, o2, o3, s1, s2, s3)
    assert placed_ids(d) == ids(o1, o2, o3, s1, s2, s3)


def test_dispatcher_puts_a_returned_otp_back_at_the_head_of_its_lane() -> None:
    d = Dispatcher(max_inflight=1)
    d.device_online(ACCOUNT, "dev_a", SIMS, PPM)
    returned, later_otp, bulk = otp(), otp(), sms()
    queue_all(d, returned, later_otp, bulk)
    assert placed_ids(d) == ids(returned)

    d.release(returned, "dev_a")
    d.enqueue(returned, front=True)

    assert [m.id for m in d.queued(ACCOUNT)] == ids(returned, later_otp, bulk)
    assert placed_ids(d) == ids(returned)


def test_dispatcher_places_sms_when_the_otp_lane_needs_a_sim_slot_no_relay_has() -> None:
    d = Dispatcher(max_inflight=8)
    d.device_online(ACCOUNT, "dev_a", frozenset({0}), PPM)
    stuck = otp(sim_slot=1)
    bulk = [sms(), sms()]
    queue_all(d, stuck, *bulk)

    assert placed_ids(d) == ids(*bulk)
    assert [m.id for m in d.queued(ACCOUNT)] == ids(stuck)

    d.device_online(ACCOUNT, "dev_b", frozenset({1}), PPM)
    assert placed_ids(d) == ids(stuck)


def test_dispatcher_places_sms_in_the_same_slot_when_an_otp_of_another_slot_is_stuck() -> None:
    d = Dispatcher(max_inflight=8)
    d.device_online(ACCOUNT, "dev_a", frozenset({0}), PPM)
    stuck = otp(sim_slot=1)
    fits = sms(sim_slot=0)
    queue_all(d, stuck, fits)

    assert placed_ids(d) == ids(fits)


def test_dispatcher_places_auto_sms_when_a_manual_otp_waits_for_an_offline_device() -> None:
    d = Dispatcher(max_inflight=8)
    d.device_online(ACCOUNT, "dev_a", SIMS, PPM)
    waiting = otp(device="dev_b")
    bulk = sms()
    queue_all(d, waiting, bulk)

    assert placed_ids(d) == ids(bulk)

    d.device_online(ACCOUNT, "dev_b", SIMS, PPM)
    assert placed_ids(d) == ids(waiting)


def test_dispatcher_places_sms_behind_an_otp_lane_that_has_only_unplaceable_messages() -> None:
    d = Dispatcher(max_inflight=100)
    d.device_online(ACCOUNT, "dev_a", frozenset({0}), PPM)
    stuck = [otp(sim_slot=1) for _ in range(3)]
    placeable_otp = otp()
    bulk = [sms() for _ in range(3)]
    queue_all(d, *stuck, *bulk, placeable_otp)

    assert placed_ids(d) == ids(placeable_otp, *bulk)
    assert [m.id for m in d.queued(ACCOUNT)] == ids(*stuck)
