"""Tests for ``hub/messaging/moves.py`` and ``message.new_message``: local events
follow the lifecycle table, and every send kind is built the same way."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hub.clock import ManualClock
from hub.messaging.dispatcher import Dispatcher
from hub.messaging.message import LiveMessage, new_message
from hub.messaging.moves import Moves
from protocol.lifecycle import LOCAL_EVENTS, TRANSITIONS, Event, State

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
TIMER_EVENTS = sorted(LOCAL_EVENTS - {Event.DISPATCH})


def in_state(state: State) -> LiveMessage:
    message = new_message("acc_1", "+998901234567", "hi", now=NOW, ttl_s=3600)
    message.state = state
    message.device_id = "dev_A" if state is not State.QUEUED else None
    return message


@pytest.mark.parametrize("state", list(State))
@pytest.mark.parametrize("event", TIMER_EVENTS)
def test_a_local_event_moves_a_message_only_where_the_lifecycle_table_allows_it(
    state: State, event: Event
) -> None:
    moves = Moves(ManualClock(NOW), Dispatcher(max_inflight=4), max_attempts=3)
    message = in_state(state)

    moved = moves.local(message, event, event.value, "dev_A")

    assert moved == (event in TRANSITIONS[state])
    if moved:
        assert message.state is not state
    else:
        assert message.state is state  # a race (a late answer won), not a bug: untouched


def test_new_message_measures_the_text_and_sets_the_expiry_for_every_kind() -> None:
    plain = new_message("acc_1", "+998901234567", "Salom", now=NOW, ttl_s=600)
    otp = new_message(
        "acc_1", "+998901234567", "Kod: 1234", now=NOW, ttl_s=300, kind="otp",
        message_id="req_given", sealed=b"sealed", device_id="dev_A",
    )  # fmt: skip
    unicode = new_message("acc_1", "+998901234567", "Привет", now=NOW, ttl_s=60, kind="list")

    assert (plain.parts, plain.encoding, plain.kind) == (1, "gsm7", "sms")
    assert plain.id.startswith("req_") and plain.expires_at == NOW + timedelta(seconds=600)
    assert (otp.id, otp.text_sealed, otp.requested_device_id) == ("req_given", b"sealed", "dev_A")
    assert otp.priority < plain.priority < unicode.priority  # OTP first, list sends last
    assert unicode.encoding == "ucs2" and unicode.state is State.QUEUED
