"""Tests for ``protocol/lifecycle.py``: every cell of the transition table, and the rules."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from protocol import frames as f
from protocol.lifecycle import (
    ACCEPTED_OR_LATER,
    ATTEMPTS_EXHAUSTED,
    HELD,
    LOCAL_EVENTS,
    TAKEOVER_EVENTS,
    TAKEOVER_FROM,
    TERMINAL,
    TRANSITIONS,
    Decision,
    Event,
    InvalidTransition,
    State,
    decide,
    report_event,
)

S, E = State, Event
AT = datetime(2026, 1, 1, tzinfo=UTC)
REPORTS = frozenset(Event) - LOCAL_EVENTS
REQUEUE_LOCAL = [E.ACK_TIMEOUT, E.DISCONNECT]
RETRYABLE_REPORTS = [E.REJECTED_RETRYABLE, E.FAILED_RETRYABLE]

HOLDER = "dev_a"
OTHER = "dev_b"


def holder_in(state: State) -> str | None:
    """Who holds a message in ``state`` in these tests: a device while held."""
    return HOLDER if state in HELD else None


TABLE_CELLS = [
    (state, event, target) for state, row in TRANSITIONS.items() for event, target in row.items()
]
MISSING_CELLS = [
    (state, event) for state in State for event in Event if event not in TRANSITIONS[state]
]
MISSING_LOCAL = [(s, e) for s, e in MISSING_CELLS if e in LOCAL_EVENTS]
MISSING_REPORTS = [(s, e) for s, e in MISSING_CELLS if e in REPORTS]


# --- the table itself ------------------------------------------------------------


def test_transitions_have_a_row_for_every_state_when_defined() -> None:
    assert set(TRANSITIONS) == set(State)
    assert len(TABLE_CELLS) + len(MISSING_CELLS) == len(State) * len(Event)


def test_transitions_have_empty_rows_when_state_is_terminal() -> None:
    assert {S.DELIVERED, S.FAILED, S.EXPIRED, S.CANCELLED} == TERMINAL
    for state in TERMINAL:
        assert TRANSITIONS[state] == {}


def test_transitions_split_events_into_local_and_reports_when_defined() -> None:
    assert {E.DISPATCH, E.ACK_TIMEOUT, E.DISCONNECT, E.EXPIRE, E.CANCEL} == LOCAL_EVENTS
    assert len(REPORTS) == 7
    assert {S.ACCEPTED, S.SENT, S.DELIVERED} == ACCEPTED_OR_LATER


def test_transitions_follow_the_protocol_diagram_when_read_row_by_row() -> None:
    assert TRANSITIONS[S.QUEUED] == {
        E.DISPATCH: S.DISPATCHED,
        E.EXPIRE: S.EXPIRED,
        E.CANCEL: S.CANCELLED,
        E.ACCEPTED: S.ACCEPTED,
        E.SENT: S.SENT,
        E.DELIVERED: S.DELIVERED,
    }
    assert TRANSITIONS[S.DISPATCHED] == {
        E.ACK_TIMEOUT: S.QUEUED,
        E.DISCONNECT: S.QUEUED,
        E.CANCEL: S.CANCELLED,
        E.ACCEPTED: S.ACCEPTED,
        E.REJECTED: S.FAILED,
        E.REJECTED_RETRYABLE: S.QUEUED,
        E.SENT: S.SENT,
        E.DELIVERED: S.DELIVERED,
        E.FAILED: S.FAILED,
        E.FAILED_RETRYABLE: S.QUEUED,
    }
    assert TRANSITIONS[S.ACCEPTED] == {
        E.REJECTED: S.FAILED,
        E.REJECTED_RETRYABLE: S.QUEUED,
        E.SENT: S.SENT,
        E.DELIVERED: S.DELIVERED,
        E.FAILED: S.FAILED,
        E.FAILED_RETRYABLE: S.QUEUED,
    }
    assert TRANSITIONS[S.SENT] == {
        E.DELIVERED: S.DELIVERED,
        E.FAILED: S.FAILED,
        E.FAILED_RETRYABLE: S.FAILED,
    }


# --- every cell in the table -------------------------------------------------------


@pytest.mark.parametrize(("state", "event", "target"), TABLE_CELLS, ids=str)
def test_decide_moves_to_table_target_when_cell_is_in_table(
    state: State, event: Event, target: State
) -> None:
    decision = decide(state, holder_in(state), event, device=HOLDER)
    assert decision.state is target
    assert decision.changed
    assert decision.path[-1] is target
    assert decision.ignored is None
    assert decision.error_code is None
    assert decision.cancel_device is None


@pytest.mark.parametrize(("state", "event", "target"), TABLE_CELLS, ids=str)
def test_decide_sets_holder_by_target_when_cell_is_in_table(
    state: State, event: Event, target: State
) -> None:
    decision = decide(state, holder_in(state), event, device=HOLDER)
    if event is E.DISPATCH:
        assert decision.holder == HOLDER  # the device it was dispatched to
    elif event in LOCAL_EVENTS or target is S.QUEUED:
        assert decision.holder is None  # taken away from the device
    else:
        assert decision.holder == HOLDER  # the reporting device


@pytest.mark.parametrize(
    ("state", "event", "target"),
    [cell for cell in TABLE_CELLS if cell[2] is not S.QUEUED],
    ids=str,
)
def test_decide_ignores_attempts_left_when_target_is_not_queued(
    state: State, event: Event, target: State
) -> None:
    with_attempts = decide(state, holder_in(state), event, device=HOLDER, attempts_left=True)
    without = decide(state, holder_in(state), event, device=HOLDER, attempts_left=False)
    assert without == with_attempts
    assert without.state is target


# --- every cell not in the table ---------------------------------------------------


@pytest.mark.parametrize(("state", "event"), MISSING_LOCAL, ids=str)
def test_decide_raises_invalid_transition_when_local_event_is_not_in_table(
    state: State, event: Event
) -> None:
    with pytest.raises(InvalidTransition, match=f"{event} is not allowed in state {state}"):
        decide(state, holder_in(state), event, device=HOLDER)


@pytest.mark.parametrize(("state", "event"), MISSING_REPORTS, ids=str)
def test_decide_ignores_report_with_reason_when_cell_is_not_in_table(
    state: State, event: Event
) -> None:
    decision = decide(state, holder_in(state), event, device=HOLDER)
    assert decision == Decision(
        state,
        holder=holder_in(state),
        ignored="terminal" if state in TERMINAL else "repeated or backwards",
    )
    assert not decision.changed


@pytest.mark.parametrize(
    ("state", "event"),
    [
        (S.SENT, E.SENT),
        (S.SENT, E.ACCEPTED),
        (S.ACCEPTED, E.ACCEPTED),
        (S.SENT, E.REJECTED),
        (S.SENT, E.REJECTED_RETRYABLE),
    ],
    ids=str,
)
def test_decide_never_moves_backwards_when_report_is_late_or_repeated(
    state: State, event: Event
) -> None:
    decision = decide(state, HOLDER, event, device=HOLDER)
    assert decision.state is state
    assert decision.path == ()
    assert decision.holder == HOLDER
    assert decision.ignored == "repeated or backwards"


# --- terminal states absorb everything ---------------------------------------------


@pytest.mark.parametrize("state", sorted(TERMINAL), ids=str)
@pytest.mark.parametrize("event", sorted(REPORTS), ids=str)
@pytest.mark.parametrize("device", [HOLDER, OTHER, None])
def test_decide_ignores_report_as_terminal_when_state_is_terminal(
    state: State, event: Event, device: str | None
) -> None:
    decision = decide(state, HOLDER, event, device=device, attempts_left=False)
    assert decision == Decision(state, holder=HOLDER, ignored="terminal")


@pytest.mark.parametrize("state", sorted(TERMINAL), ids=str)
@pytest.mark.parametrize("event", sorted(LOCAL_EVENTS), ids=str)
def test_decide_raises_invalid_transition_when_local_event_hits_terminal_state(
    state: State, event: Event
) -> None:
    with pytest.raises(InvalidTransition):
        decide(state, None, event, device=HOLDER)


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


# --- Decision ---------------------------------------------------------------------


def test_decision_reports_unchanged_when_path_is_empty() -> None:
    assert not Decision(S.SENT).changed
    assert Decision(S.SENT, (S.SENT,)).changed


@pytest.mark.parametrize(
    ("frame", "event", "error"),
    [
        (f.Accepted(id="m"), Event.ACCEPTED, None),
        (f.Rejected(id="m", code="busy", message="b", retryable=True),
         Event.REJECTED_RETRYABLE, ("busy", "b")),
        (f.Rejected(id="m", code="no_sim", message="n", retryable=False),
         Event.REJECTED, ("no_sim", "n")),
        (f.Sent(seq=1, id="m", at=AT, parts=1, sim_slot=0), Event.SENT, None),
        (f.Delivered(seq=1, id="m", at=AT), Event.DELIVERED, None),
        (f.Failed(seq=1, id="m", at=AT, code="radio_off", message="r", retryable=True),
         Event.FAILED_RETRYABLE, ("radio_off", "r")),
        (f.Failed(seq=1, id="m", at=AT, code="generic", message="g", retryable=False),
         Event.FAILED, ("generic", "g")),
    ],
)  # fmt: skip
def test_report_event_maps_each_relay_frame_to_its_lifecycle_event(
    frame: f.Accepted | f.Rejected | f.MessageReport, event: Event, error: object
) -> None:
    assert report_event(frame) == (event, error)
