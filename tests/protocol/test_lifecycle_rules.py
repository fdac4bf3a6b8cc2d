"""Tests for ``protocol/lifecycle.py``: the rules written beside the table (implied
steps, only the holder moves a message, no attempt left, a retryable failure
after sent is final) and the local events.
"""

from __future__ import annotations

import pytest

from protocol.lifecycle import (
    ATTEMPTS_EXHAUSTED,
    HELD,
    TAKEOVER_EVENTS,
    TAKEOVER_FROM,
    TRANSITIONS,
    Decision,
    Event,
    InvalidTransition,
    State,
    decide,
)
from tests.protocol.lifecycle_cases import (
    HOLDER,
    OTHER,
    REPORTS,
    REQUEUE_LOCAL,
    RETRYABLE_REPORTS,
    E,
    S,
    holder_in,
)

# --- rule 2: implied steps ----------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "event", "path"),
    [
        (S.QUEUED, E.ACCEPTED, (S.ACCEPTED,)),
        (S.QUEUED, E.SENT, (S.ACCEPTED, S.SENT)),
        (S.QUEUED, E.DELIVERED, (S.ACCEPTED, S.SENT, S.DELIVERED)),
        (S.DISPATCHED, E.ACCEPTED, (S.ACCEPTED,)),
        (S.DISPATCHED, E.SENT, (S.ACCEPTED, S.SENT)),
        (S.DISPATCHED, E.DELIVERED, (S.ACCEPTED, S.SENT, S.DELIVERED)),
        (S.ACCEPTED, E.SENT, (S.SENT,)),
        (S.ACCEPTED, E.DELIVERED, (S.SENT, S.DELIVERED)),
        (S.SENT, E.DELIVERED, (S.DELIVERED,)),
    ],
    ids=lambda value: "-".join(value) if isinstance(value, tuple) else str(value),
)
def test_decide_lists_implied_states_in_path_when_report_skips_steps(
    state: State, event: Event, path: tuple[State, ...]
) -> None:
    decision = decide(state, holder_in(state), event, device=HOLDER)
    assert decision.path == path
    assert decision.state is path[-1]
    assert S.DISPATCHED not in decision.path


@pytest.mark.parametrize(
    ("state", "event"),
    [(S.DISPATCHED, E.REJECTED), (S.DISPATCHED, E.FAILED), (S.ACCEPTED, E.FAILED)],
    ids=str,
)
def test_decide_goes_straight_to_failed_when_report_is_final_failure(
    state: State, event: Event
) -> None:
    decision = decide(state, HOLDER, event, device=HOLDER)
    assert decision == Decision(S.FAILED, (S.FAILED,), holder=HOLDER)


# --- rule 3: only the holder moves a message, except a takeover ---------------------

NON_HOLDER_IGNORED = [
    (state, event)
    for state in sorted(HELD)
    for event in sorted(REPORTS)
    if event in TRANSITIONS[state] and not (state in TAKEOVER_FROM and event in TAKEOVER_EVENTS)
]


def test_non_holder_cases_cover_every_held_state_when_built() -> None:
    assert {state for state, _ in NON_HOLDER_IGNORED} == HELD
    assert (S.DISPATCHED, E.FAILED_RETRYABLE) in NON_HOLDER_IGNORED
    assert (S.ACCEPTED, E.SENT) in NON_HOLDER_IGNORED
    assert (S.SENT, E.DELIVERED) in NON_HOLDER_IGNORED


@pytest.mark.parametrize(("state", "event"), NON_HOLDER_IGNORED, ids=str)
@pytest.mark.parametrize("attempts_left", [True, False])
def test_decide_ignores_report_when_device_is_not_the_holder(
    state: State, event: Event, attempts_left: bool
) -> None:
    decision = decide(state, HOLDER, event, device=OTHER, attempts_left=attempts_left)
    assert decision == Decision(state, holder=HOLDER, ignored="not the holder")


@pytest.mark.parametrize("event", sorted(TAKEOVER_EVENTS), ids=str)
def test_decide_hands_message_to_reporter_and_cancels_holder_when_taking_over_dispatched(
    event: Event,
) -> None:
    decision = decide(S.DISPATCHED, HOLDER, event, device=OTHER)
    assert decision.state is TRANSITIONS[S.DISPATCHED][event]
    assert decision.holder == OTHER
    assert decision.cancel_device == HOLDER
    assert decision.ignored is None
    assert decision.path[0] is S.ACCEPTED


@pytest.mark.parametrize("event", sorted(TAKEOVER_EVENTS), ids=str)
def test_decide_hands_message_to_reporter_without_cancel_when_taking_over_queued(
    event: Event,
) -> None:
    decision = decide(S.QUEUED, None, event, device=OTHER)
    assert decision.state is TRANSITIONS[S.QUEUED][event]
    assert decision.holder == OTHER
    assert decision.cancel_device is None
    assert decision.path[0] is S.ACCEPTED


@pytest.mark.parametrize("event", sorted(TAKEOVER_EVENTS), ids=str)
def test_decide_cancels_last_holder_when_queued_message_still_names_one(event: Event) -> None:
    decision = decide(S.QUEUED, HOLDER, event, device=OTHER)
    assert decision.holder == OTHER
    assert decision.cancel_device == HOLDER


@pytest.mark.parametrize(
    ("state", "event"),
    [
        (S.QUEUED, E.REJECTED),
        (S.QUEUED, E.REJECTED_RETRYABLE),
        (S.QUEUED, E.FAILED),
        (S.QUEUED, E.FAILED_RETRYABLE),
    ],
    ids=str,
)
def test_decide_ignores_failure_report_when_message_is_back_in_queue(
    state: State, event: Event
) -> None:
    decision = decide(state, None, event, device=OTHER)
    assert decision == Decision(state, holder=None, ignored="repeated or backwards")


def test_decide_moves_message_when_report_comes_from_holder() -> None:
    decision = decide(S.ACCEPTED, HOLDER, E.SENT, device=HOLDER)
    assert decision == Decision(S.SENT, (S.SENT,), holder=HOLDER)


# --- rule 4: no attempt left ---------------------------------------------------------


@pytest.mark.parametrize("event", REQUEUE_LOCAL, ids=str)
def test_decide_fails_with_attempts_exhausted_when_local_requeue_has_no_attempt_left(
    event: Event,
) -> None:
    decision = decide(S.DISPATCHED, HOLDER, event, attempts_left=False)
    assert decision == Decision(S.FAILED, (S.FAILED,), holder=None, error_code=ATTEMPTS_EXHAUSTED)


@pytest.mark.parametrize("event", REQUEUE_LOCAL, ids=str)
def test_decide_requeues_when_local_requeue_has_attempts_left(event: Event) -> None:
    decision = decide(S.DISPATCHED, HOLDER, event, attempts_left=True)
    assert decision == Decision(S.QUEUED, (S.QUEUED,), holder=None)


@pytest.mark.parametrize("state", [S.DISPATCHED, S.ACCEPTED], ids=str)
@pytest.mark.parametrize("event", RETRYABLE_REPORTS, ids=str)
def test_decide_fails_with_attempts_exhausted_when_retryable_report_has_no_attempt_left(
    state: State, event: Event
) -> None:
    decision = decide(state, HOLDER, event, device=HOLDER, attempts_left=False)
    assert decision == Decision(S.FAILED, (S.FAILED,), holder=None, error_code=ATTEMPTS_EXHAUSTED)


@pytest.mark.parametrize("state", [S.DISPATCHED, S.ACCEPTED], ids=str)
@pytest.mark.parametrize("event", RETRYABLE_REPORTS, ids=str)
def test_decide_requeues_without_holder_when_retryable_report_has_attempts_left(
    state: State, event: Event
) -> None:
    decision = decide(state, HOLDER, event, device=HOLDER, attempts_left=True)
    assert decision == Decision(S.QUEUED, (S.QUEUED,), holder=None)


def test_attempts_exhausted_is_the_error_code_string_when_read() -> None:
    assert ATTEMPTS_EXHAUSTED == "attempts_exhausted"


# --- rule 5: a retryable failure after sent is final --------------------------------


@pytest.mark.parametrize("attempts_left", [True, False])
def test_decide_fails_finally_when_retryable_failure_comes_after_sent(
    attempts_left: bool,
) -> None:
    decision = decide(
        S.SENT, HOLDER, E.FAILED_RETRYABLE, device=HOLDER, attempts_left=attempts_left
    )
    assert decision == Decision(S.FAILED, (S.FAILED,), holder=HOLDER)
    assert decision.error_code is None


# --- local events ---------------------------------------------------------------------


def test_decide_gives_message_to_device_when_dispatching() -> None:
    decision = decide(S.QUEUED, None, E.DISPATCH, device=HOLDER)
    assert decision == Decision(S.DISPATCHED, (S.DISPATCHED,), holder=HOLDER)


def test_decide_raises_invalid_transition_when_dispatching_without_device() -> None:
    with pytest.raises(InvalidTransition, match="dispatch needs a device"):
        decide(S.QUEUED, None, E.DISPATCH)


@pytest.mark.parametrize(
    ("state", "event", "target"),
    [
        (S.QUEUED, E.EXPIRE, S.EXPIRED),
        (S.QUEUED, E.CANCEL, S.CANCELLED),
        (S.DISPATCHED, E.CANCEL, S.CANCELLED),
    ],
    ids=str,
)
@pytest.mark.parametrize("attempts_left", [True, False])
def test_decide_takes_message_from_holder_when_expiring_or_cancelling(
    state: State, event: Event, target: State, attempts_left: bool
) -> None:
    decision = decide(state, holder_in(state), event, attempts_left=attempts_left)
    assert decision == Decision(target, (target,), holder=None)


@pytest.mark.parametrize(
    ("state", "event"),
    [
        (S.ACCEPTED, E.CANCEL),
        (S.SENT, E.CANCEL),
        (S.ACCEPTED, E.EXPIRE),
        (S.ACCEPTED, E.ACK_TIMEOUT),
        (S.ACCEPTED, E.DISCONNECT),
        (S.QUEUED, E.ACK_TIMEOUT),
        (S.DISPATCHED, E.DISPATCH),
    ],
    ids=str,
)
def test_decide_raises_invalid_transition_when_local_event_comes_too_late_or_twice(
    state: State, event: Event
) -> None:
    with pytest.raises(InvalidTransition):
        decide(state, holder_in(state), event, device=HOLDER)
