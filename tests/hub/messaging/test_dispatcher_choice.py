"""Tests for ``hub/messaging/dispatcher.py``: which relay a message goes to (auto and
manual mode, the account's relays, SIM slots), with explicit times."""

from __future__ import annotations

from hub.messaging.dispatcher import Dispatcher
from tests.hub.messaging.dispatcher_rig import (
    ACCOUNT,
    OTHER_ACCOUNT,
    PPM,
    SIMS,
    T0,
    message,
    place,
    queue_all,
    queued_ids,
)

# --- devices


def test_dispatcher_places_nothing_when_no_relay_of_the_account_is_online() -> None:
    d = Dispatcher(max_inflight=8)
    m = message()
    d.enqueue(m)
    d.device_online(OTHER_ACCOUNT, "dev_other", SIMS, PPM)

    assert place(d) == ([], [])
    assert queued_ids(d) == [m.id]


def test_dispatcher_counts_online_relays_when_devices_come_and_go() -> None:
    d = Dispatcher(max_inflight=8)
    d.device_online(ACCOUNT, "dev_a", SIMS, PPM)
    d.device_online(ACCOUNT, "dev_b", SIMS, PPM)
    d.device_online(OTHER_ACCOUNT, "dev_c", SIMS, PPM)
    d.device_offline(ACCOUNT, "dev_b")

    assert (d.online_count(ACCOUNT), d.online_count(OTHER_ACCOUNT), d.online_count()) == (1, 1, 2)


# --- auto mode


def test_dispatcher_picks_the_relay_with_most_free_capacity_when_auto() -> None:
    d = Dispatcher(max_inflight=8)
    d.device_online(ACCOUNT, "dev_a", SIMS, PPM)
    d.device_online(ACCOUNT, "dev_b", SIMS, PPM)
    for held in (message(), message()):
        d.hold(held, "dev_a")
    d.hold(message(), "dev_b")
    m = message()
    d.enqueue(m)

    assert place(d) == ([(m.id, "dev_b")], [])


def test_dispatcher_spreads_a_burst_over_relays_when_auto() -> None:
    d = Dispatcher(max_inflight=8)
    d.device_online(ACCOUNT, "dev_a", SIMS, PPM)
    d.device_online(ACCOUNT, "dev_b", SIMS, PPM)
    queue_all(d, *(message() for _ in range(6)))

    placed, _ = place(d)

    assert len(placed) == 6
    assert (len(d.held_by("dev_a")), len(d.held_by("dev_b"))) == (3, 3)


def test_dispatcher_prefers_the_relay_with_more_rate_room_when_free_capacity_ties() -> None:
    d = Dispatcher(max_inflight=8)
    d.device_online(ACCOUNT, "dev_a", SIMS, 10)
    first = message(parts=3)
    d.enqueue(first)
    assert place(d) == ([(first.id, "dev_a")], [])
    d.release(first, "dev_a")  # dev_a holds nothing again, but used 3 parts of its minute
    d.device_online(ACCOUNT, "dev_b", SIMS, 10)
    m = message()
    d.enqueue(m)

    assert place(d, T0 + 1) == ([(m.id, "dev_b")], [])


def test_dispatcher_places_a_message_only_on_relays_of_its_account_when_auto() -> None:
    d = Dispatcher(max_inflight=8)
    d.device_online(OTHER_ACCOUNT, "dev_other", SIMS, PPM)
    mine = message()
    d.enqueue(mine)

    assert place(d, account=OTHER_ACCOUNT) == ([], [])
    d.device_online(ACCOUNT, "dev_mine", SIMS, PPM)
    assert place(d) == ([(mine.id, "dev_mine")], [])


def test_dispatcher_keeps_queue_order_when_placing_auto_messages() -> None:
    d = Dispatcher(max_inflight=8)
    d.device_online(ACCOUNT, "dev_a", SIMS, PPM)
    messages = [message() for _ in range(5)]
    queue_all(d, *messages)

    placed, _ = place(d)

    assert [mid for mid, _ in placed] == [m.id for m in messages]


# --- manual mode


def test_dispatcher_sends_a_manual_message_only_to_its_device_when_others_have_more_room() -> None:
    d = Dispatcher(max_inflight=8)
    d.device_online(ACCOUNT, "dev_a", SIMS, PPM)
    d.device_online(ACCOUNT, "dev_b", SIMS, PPM)
    for _ in range(5):
        d.hold(message(), "dev_b")
    m = message(device="dev_b")
    d.enqueue(m)

    assert place(d) == ([(m.id, "dev_b")], [])


def test_dispatcher_keeps_a_manual_message_waiting_while_its_device_is_offline() -> None:
    d = Dispatcher(max_inflight=8)
    d.device_online(ACCOUNT, "dev_a", SIMS, PPM)
    m = message(device="dev_b")
    d.enqueue(m)

    assert place(d) == ([], [])
    assert d.held_by("dev_a") == set()

    d.device_online(ACCOUNT, "dev_b", SIMS, PPM)
    assert place(d) == ([(m.id, "dev_b")], [])


def test_dispatcher_keeps_a_manual_message_waiting_when_its_device_is_full() -> None:
    d = Dispatcher(max_inflight=1)
    d.device_online(ACCOUNT, "dev_a", SIMS, PPM)
    d.device_online(ACCOUNT, "dev_b", SIMS, PPM)
    busy = message()
    d.hold(busy, "dev_b")
    m = message(device="dev_b")
    d.enqueue(m)

    assert place(d) == ([], [])
    d.release(busy, "dev_b")
    assert place(d) == ([(m.id, "dev_b")], [])


# --- SIM slots


def test_dispatcher_sends_a_sim_slot_message_only_to_a_relay_with_that_sim() -> None:
    d = Dispatcher(max_inflight=8)
    d.device_online(ACCOUNT, "dev_a", frozenset({0}), PPM)
    d.device_online(ACCOUNT, "dev_b", frozenset({0, 1}), PPM)
    for _ in range(3):
        d.hold(message(), "dev_b")  # dev_a has more free capacity
    m = message(sim_slot=1)
    d.enqueue(m)

    assert place(d) == ([(m.id, "dev_b")], [])


def test_dispatcher_keeps_a_sim_slot_message_queued_when_no_online_relay_has_that_sim() -> None:
    d = Dispatcher(max_inflight=8)
    d.device_online(ACCOUNT, "dev_a", frozenset({0}), PPM)
    m = message(sim_slot=1)
    d.enqueue(m)

    assert place(d) == ([], [])
    assert queued_ids(d) == [m.id]


def test_dispatcher_sends_a_sim_slot_message_only_to_a_relay_with_that_sim_when_one_has_none() -> (
    None
):
    d = Dispatcher(max_inflight=8)
    d.device_online(ACCOUNT, "dev_nosim", frozenset(), PPM)
    d.device_online(ACCOUNT, "dev_b", frozenset({0, 1}), PPM)
    d.hold(message(), "dev_b")  # dev_nosim has more free capacity
    m = message(sim_slot=1)
    d.enqueue(m)

    assert place(d) == ([(m.id, "dev_b")], [])
