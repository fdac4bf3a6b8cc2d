"""Tests for ``hub/messaging/dispatcher.py``: the waiting queue (expiry, stale entries,
lookahead past messages that fit nowhere, turns of returning messages, compaction),
with explicit times."""

from __future__ import annotations

from datetime import timedelta

import pytest

from hub.messaging.dispatcher import LOOKAHEAD, Dispatcher
from protocol.lifecycle import State
from tests.hub.messaging.dispatcher_rig import (
    ACCOUNT,
    PPM,
    SIMS,
    T0,
    WALL,
    message,
    place,
    queue_all,
    queued_ids,
)

# --- expiry and stale entries


def test_dispatcher_returns_messages_past_expires_at_as_expired_when_taking() -> None:
    d = Dispatcher(max_inflight=8)
    d.device_online(ACCOUNT, "dev_a", SIMS, PPM)
    stale = message(expires_at=WALL - timedelta(seconds=1))
    on_the_dot = message(expires_at=WALL)
    fresh = message()
    queue_all(d, stale, on_the_dot, fresh)

    assert place(d) == ([(fresh.id, "dev_a")], [stale.id, on_the_dot.id])
    assert queued_ids(d) == []
    assert d.held_by("dev_a") == {fresh.id}


def test_dispatcher_drops_messages_no_longer_queued_when_taking() -> None:
    d = Dispatcher(max_inflight=8)
    d.device_online(ACCOUNT, "dev_a", SIMS, PPM)
    cancelled, elsewhere, waiting = message(), message(), message()
    queue_all(d, cancelled, elsewhere, waiting)
    cancelled.state = State.CANCELLED
    elsewhere.state = State.DISPATCHED

    assert place(d) == ([(waiting.id, "dev_a")], [])
    assert queued_ids(d) == []


# --- lookahead and turns


def test_dispatcher_places_messages_behind_one_that_fits_nowhere() -> None:
    d = Dispatcher(max_inflight=8)
    d.device_online(ACCOUNT, "dev_a", frozenset({0}), PPM)
    stuck, behind = message(sim_slot=3), message()
    queue_all(d, stuck, behind)

    assert place(d) == ([(behind.id, "dev_a")], [])
    assert queued_ids(d) == [stuck.id]


def test_dispatcher_keeps_skipped_messages_in_order_when_looking_ahead() -> None:
    d = Dispatcher(max_inflight=8)
    d.device_online(ACCOUNT, "dev_a", frozenset({0}), PPM)
    stuck = [message(sim_slot=3) for _ in range(3)]
    tail = message(sim_slot=3)
    queue_all(d, *stuck, message(), tail)

    place(d)

    assert queued_ids(d) == [m.id for m in [*stuck, tail]]


def test_dispatcher_stops_looking_when_lookahead_messages_fit_nowhere() -> None:
    d = Dispatcher(max_inflight=8)
    d.device_online(ACCOUNT, "dev_a", frozenset({0}), 4)  # 4 parts a minute
    d.enqueue(message(parts=2))
    assert len(place(d)[0]) == 1  # 2 of the 4 parts used: 3-part messages wait
    queue_all(d, *(message(parts=3) for _ in range(LOOKAHEAD)))
    beyond = message()
    d.enqueue(beyond)

    assert place(d) == ([], [])
    assert queued_ids(d)[-1] == beyond.id


def test_dispatcher_places_other_messages_when_many_wait_for_a_missing_sim() -> None:
    d = Dispatcher(max_inflight=8)
    d.device_online(ACCOUNT, "dev_a", frozenset({0}), PPM)
    queue_all(d, *(message(sim_slot=3) for _ in range(LOOKAHEAD + 5)))
    beyond = message()
    d.enqueue(beyond)

    assert place(d) == ([(beyond.id, "dev_a")], [])


def test_dispatcher_never_queues_a_message_twice() -> None:
    d = Dispatcher(max_inflight=8)
    m = message()
    d.enqueue(m)
    d.enqueue(m, front=True)

    assert queued_ids(d) == [m.id]


def test_dispatcher_prefers_another_relay_over_the_one_that_gave_a_message_back() -> None:
    d = Dispatcher(max_inflight=8)
    d.device_online(ACCOUNT, "dev_a", SIMS, PPM)
    d.device_online(ACCOUNT, "dev_b", SIMS, PPM)
    m = message()
    m.avoid_device = "dev_a"
    d.hold(message(), "dev_b")  # dev_a has more free capacity, yet is avoided
    d.enqueue(m)

    assert place(d) == ([(m.id, "dev_b")], [])


def test_dispatcher_retries_on_the_same_relay_only_after_not_before() -> None:
    d = Dispatcher(max_inflight=8)
    d.device_online(ACCOUNT, "dev_a", SIMS, PPM)
    m = message()
    m.avoid_device, m.not_before = "dev_a", T0 + 10
    d.enqueue(m)

    assert place(d, now=T0) == ([], [])
    assert d.next_room(ACCOUNT, T0) == pytest.approx(10)
    assert place(d, now=T0 + 10) == ([(m.id, "dev_a")], [])


def test_dispatcher_keeps_a_returning_messages_turn_when_enqueued_at_the_front() -> None:
    d = Dispatcher(max_inflight=1)
    d.device_online(ACCOUNT, "dev_a", SIMS, PPM)
    first, second = message(), message()
    queue_all(d, first, second)
    assert place(d) == ([(first.id, "dev_a")], [])

    d.release(first, "dev_a")  # e.g. the ack timed out: it goes back to the queue
    d.enqueue(first, front=True)

    assert place(d, T0 + 1) == ([(first.id, "dev_a")], [])
    assert queued_ids(d) == [second.id]


# --- compaction


def test_dispatcher_forgets_queue_entries_that_left_queued_when_compacted() -> None:
    dispatcher = Dispatcher(max_inflight=4)
    waiting, expired, manual_expired = message(), message(), message(device="dev_off")
    queue_all(dispatcher, waiting, expired, manual_expired)
    expired.state = State.EXPIRED
    manual_expired.state = State.EXPIRED

    dispatcher.drop_finished()

    assert queued_ids(dispatcher) == [waiting.id]
    dispatcher.device_online(ACCOUNT, "dev_off", SIMS, PPM)
    assert queued_ids(dispatcher) == [waiting.id]  # the manual queue is gone, not just hidden


def test_dispatcher_returns_each_expired_queued_message_once_when_due() -> None:
    dispatcher = Dispatcher(max_inflight=4)
    soon = message(expires_at=WALL + timedelta(seconds=10))
    later = message(expires_at=WALL + timedelta(seconds=60))
    gone = message(expires_at=WALL + timedelta(seconds=5))
    queue_all(dispatcher, soon, later, gone)
    dispatcher.enqueue(soon, front=True)  # requeued: a second entry for the same message
    gone.state = State.DISPATCHED

    assert dispatcher.due_to_expire(WALL + timedelta(seconds=9)) == []
    assert dispatcher.due_to_expire(WALL + timedelta(seconds=30)) == [soon]
    assert dispatcher.due_to_expire(WALL + timedelta(seconds=30)) == []
    assert dispatcher.due_to_expire(WALL + timedelta(seconds=61)) == [later]


def test_dispatcher_compacts_expiry_index_when_stale_entries_pile_up() -> None:
    dispatcher = Dispatcher(max_inflight=4)
    finished = [message() for _ in range(1100)]
    queue_all(dispatcher, *finished)
    for m in finished:
        m.state = State.DELIVERED
    waiting = message()
    dispatcher.enqueue(waiting)

    dispatcher.compact(live_messages=1)

    assert dispatcher.expiry_entries() == 1  # only the waiting message's is left
    assert dispatcher.due_to_expire(WALL + timedelta(days=1)) == [waiting]
    assert dispatcher.expiry_entries() == 0


def test_dispatcher_expires_a_message_without_text_instead_of_placing_it() -> None:
    # An OTP whose text storage dropped once a relay accepted it, given back after
    # a restart: it has nothing left to send.
    dispatcher = Dispatcher(max_inflight=8)
    dispatcher.device_online(ACCOUNT, "dev_a", SIMS, PPM)
    textless, fine = message(), message()
    textless.text = ""
    queue_all(dispatcher, textless, fine)

    assert place(dispatcher) == ([(fine.id, "dev_a")], [textless.id])
