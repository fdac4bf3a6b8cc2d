"""Tests for ``hub/messaging/dispatcher.py``: routing and flow control, with explicit times."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from hub.messaging.dispatcher import LOOKAHEAD, RATE_WINDOW_S, Dispatcher
from hub.messaging.message import LiveMessage
from protocol.lifecycle import State

ACCOUNT = "acc_1"
OTHER_ACCOUNT = "acc_2"
WALL = datetime(2026, 1, 1, tzinfo=UTC)
T0 = 1000.0  # monotonic seconds
SIMS = frozenset({0})
PPM = 1000  # a rate limit that never binds unless a test says so

_ids = itertools.count(1)


def message(
    *,
    account: str = ACCOUNT,
    parts: int = 1,
    device: str | None = None,
    sim_slot: int | None = None,
    expires_at: datetime | None = None,
) -> LiveMessage:
    return LiveMessage(
        id=f"req_{next(_ids):04d}",
        account_id=account,
        to="+998901234567",
        text="hello",
        parts=parts,
        encoding="gsm7",
        requested_device_id=device,
        sim_slot=sim_slot,
        queued_at=WALL,
        expires_at=expires_at or WALL + timedelta(hours=1),
    )


def queue_all(dispatcher: Dispatcher, *messages: LiveMessage) -> None:
    for m in messages:
        dispatcher.enqueue(m)


def place(
    dispatcher: Dispatcher, now: float = T0, wall: datetime = WALL, account: str = ACCOUNT
) -> tuple[list[tuple[str, str]], list[str]]:
    """``place`` with messages shown by id: ``([(message, device)], [expired])``."""
    placed, expired = dispatcher.place(account, now, wall)
    return [(m.id, d) for m, d in placed], [m.id for m in expired]


def queued_ids(dispatcher: Dispatcher, account: str = ACCOUNT) -> list[str]:
    return [m.id for m in dispatcher.queued(account)]


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

    assert dispatcher.due_to_expire(WALL + timedelta(days=1)) == [waiting]
    assert len(dispatcher._expiry) == 0


def test_dispatcher_expires_a_message_without_text_instead_of_placing_it() -> None:
    # An OTP whose text storage dropped once a relay accepted it, given back after
    # a restart: it has nothing left to send.
    dispatcher = Dispatcher(max_inflight=8)
    dispatcher.device_online(ACCOUNT, "dev_a", SIMS, PPM)
    textless, fine = message(), message()
    textless.text = ""
    queue_all(dispatcher, textless, fine)

    assert place(dispatcher) == ([(fine.id, "dev_a")], [textless.id])
