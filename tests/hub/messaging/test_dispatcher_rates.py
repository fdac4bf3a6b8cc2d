"""Tests for ``hub/messaging/dispatcher.py``: how much a relay is given (``max_inflight``
jobs at once, ``parts_per_minute`` in a rate window, kept across reconnects), with
explicit times."""

from __future__ import annotations

import pytest

from hub.messaging.dispatcher import LOOKAHEAD, RATE_WINDOW_S, Dispatcher
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

# --- max_inflight


def test_dispatcher_gives_a_relay_at_most_max_inflight_jobs_when_more_are_queued() -> None:
    d = Dispatcher(max_inflight=2)
    d.device_online(ACCOUNT, "dev_a", SIMS, PPM)
    messages = [message() for _ in range(5)]
    queue_all(d, *messages)

    placed, _ = place(d)

    assert placed == [(messages[0].id, "dev_a"), (messages[1].id, "dev_a")]
    assert d.held_by("dev_a") == {messages[0].id, messages[1].id}
    assert queued_ids(d) == [m.id for m in messages[2:]]


def test_dispatcher_places_the_next_message_when_a_held_job_is_released() -> None:
    d = Dispatcher(max_inflight=2)
    d.device_online(ACCOUNT, "dev_a", SIMS, PPM)
    messages = [message() for _ in range(3)]
    queue_all(d, *messages)
    place(d)
    assert place(d) == ([], [])

    d.release(messages[0], "dev_a")

    assert place(d) == ([(messages[2].id, "dev_a")], [])


# --- parts_per_minute


def test_dispatcher_places_no_more_parts_than_parts_per_minute_within_the_window() -> None:
    d = Dispatcher(max_inflight=100)
    d.device_online(ACCOUNT, "dev_a", SIMS, 5)
    messages = [message() for _ in range(8)]
    queue_all(d, *messages)

    first, _ = place(d, T0)
    later, _ = place(d, T0 + RATE_WINDOW_S - 0.5)

    assert [mid for mid, _ in first] == [m.id for m in messages[:5]]
    assert later == []


def test_dispatcher_leaves_the_queue_untouched_while_every_relay_is_at_its_rate() -> None:
    """With no rate left anywhere, ``place`` looks at no queued message at all: a
    deep queue then costs nothing on each send and report."""
    d = Dispatcher(max_inflight=100)
    d.device_online(ACCOUNT, "dev_a", SIMS, 2)
    queue_all(d, message(), message())
    place(d, T0)
    waiting = [message() for _ in range(LOOKAHEAD + 10)]
    queue_all(d, *waiting)
    for m in waiting:
        m.in_queue = "untouched"  # type: ignore[assignment]  # place would reset it

    placed, expired = place(d, T0 + 1)

    assert (placed, expired) == ([], [])
    assert all(m.in_queue == "untouched" for m in waiting)
    assert queued_ids(d) == [m.id for m in waiting]


def test_dispatcher_counts_parts_not_messages_when_applying_parts_per_minute() -> None:
    d = Dispatcher(max_inflight=100)
    d.device_online(ACCOUNT, "dev_a", SIMS, 5)
    long_one, too_many, fits = message(parts=3), message(parts=3), message(parts=2)
    queue_all(d, long_one, too_many, fits)

    placed, _ = place(d)

    assert placed == [(long_one.id, "dev_a"), (fits.id, "dev_a")]
    assert queued_ids(d) == [too_many.id]


def test_dispatcher_places_again_when_the_rate_window_has_passed() -> None:
    d = Dispatcher(max_inflight=100)
    d.device_online(ACCOUNT, "dev_a", SIMS, 2)
    messages = [message() for _ in range(4)]
    queue_all(d, *messages)
    place(d, T0)

    placed, _ = place(d, T0 + RATE_WINDOW_S)

    assert placed == [(messages[2].id, "dev_a"), (messages[3].id, "dev_a")]


def test_dispatcher_next_room_says_when_a_full_window_frees_room() -> None:
    d = Dispatcher(max_inflight=100)
    d.device_online(ACCOUNT, "dev_a", SIMS, 2)
    queue_all(d, *(message() for _ in range(3)))
    place(d, T0)

    wait = d.next_room(ACCOUNT, T0 + 10)

    assert wait == pytest.approx(RATE_WINDOW_S - 10)
    assert place(d, T0 + 10 + wait - 0.5)[0] == []
    assert len(place(d, T0 + 10 + wait)[0]) == 1


def test_dispatcher_next_room_names_the_soonest_window_when_several_relays_are_full() -> None:
    d = Dispatcher(max_inflight=100)
    d.device_online(ACCOUNT, "dev_a", SIMS, 1)
    d.enqueue(message())
    place(d, T0)
    d.device_online(ACCOUNT, "dev_b", SIMS, 1)
    d.enqueue(message())
    place(d, T0 + 20)
    d.enqueue(message())

    assert place(d, T0 + 30) == ([], [])
    assert d.next_room(ACCOUNT, T0 + 30) == pytest.approx(RATE_WINDOW_S - 30)


def test_dispatcher_next_room_is_zero_when_the_window_has_already_passed() -> None:
    d = Dispatcher(max_inflight=100)
    d.device_online(ACCOUNT, "dev_a", SIMS, 1)
    queue_all(d, message(), message())
    place(d, T0)

    assert d.next_room(ACCOUNT, T0 + RATE_WINDOW_S + 5) == 0.0


def test_dispatcher_next_room_is_none_when_no_relay_has_sent_within_the_window() -> None:
    d = Dispatcher(max_inflight=100)
    d.device_online(ACCOUNT, "dev_a", SIMS, 1)

    assert d.next_room(ACCOUNT, T0) is None
    assert d.next_room(OTHER_ACCOUNT, T0) is None


def test_dispatcher_next_room_is_none_when_the_rate_limited_relay_is_also_full() -> None:
    d = Dispatcher(max_inflight=1)
    d.device_online(ACCOUNT, "dev_a", SIMS, 1)
    queue_all(d, message(), message())
    place(d, T0)  # holds its one job and used its one part: only a report frees it

    assert d.next_room(ACCOUNT, T0 + 1) is None


def test_dispatcher_lets_a_message_longer_than_the_allowance_into_an_empty_window() -> None:
    d = Dispatcher(max_inflight=100)
    d.device_online(ACCOUNT, "dev_a", SIMS, 2)
    huge, small = message(parts=5), message()
    queue_all(d, huge, small)

    assert place(d, T0) == ([(huge.id, "dev_a")], [])
    assert place(d, T0 + RATE_WINDOW_S - 1) == ([], [])
    assert place(d, T0 + RATE_WINDOW_S) == ([(small.id, "dev_a")], [])


# --- load across reconnects


def test_dispatcher_keeps_held_jobs_when_a_device_goes_offline_and_back_online() -> None:
    d = Dispatcher(max_inflight=2)
    d.device_online(ACCOUNT, "dev_a", SIMS, PPM)
    messages = [message() for _ in range(3)]
    queue_all(d, *messages)
    place(d)

    d.device_offline(ACCOUNT, "dev_a")
    d.device_online(ACCOUNT, "dev_a", SIMS, PPM)

    assert d.held_by("dev_a") == {messages[0].id, messages[1].id}
    assert place(d) == ([], [])


def test_dispatcher_keeps_the_rate_window_when_a_device_goes_offline_and_back_online() -> None:
    d = Dispatcher(max_inflight=8)
    d.device_online(ACCOUNT, "dev_a", SIMS, 1)
    first, second = message(), message()
    queue_all(d, first, second)
    place(d, T0)
    d.release(first, "dev_a")

    d.device_offline(ACCOUNT, "dev_a")
    d.device_online(ACCOUNT, "dev_a", SIMS, 1)

    assert place(d, T0 + 10) == ([], [])
    assert d.next_room(ACCOUNT, T0 + 10) == pytest.approx(RATE_WINDOW_S - 10)
    assert place(d, T0 + RATE_WINDOW_S) == ([(second.id, "dev_a")], [])
