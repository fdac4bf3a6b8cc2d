"""Tests for ``protocol/lifecycle.py``: the transition table, every cell in it and
out of it, terminal states, and ``Decision``."""

from __future__ import annotations

import pytest

from protocol import frames as f
from protocol.lifecycle import (
    ACCEPTED_OR_LATER,
    LOCAL_EVENTS,
    TERMINAL,
    TRANSITIONS,
    Decision,
    Event,
    InvalidTransition,
    State,
    decide,
    report_event,
)
from tests.protocol.lifecycle_cases import (
    AT,
    HOLDER,
    MISSING_CELLS,
    MISSING_LOCAL,
    MISSING_REPORTS,
    OTHER,
    REPORTS,
    TABLE_CELLS,
    E,
    S,
    holder_in,
)

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
    assert len(REPORTS) == 8
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
        E.RELAY_CANCELLED: S.CANCELLED,
    }
    assert TRANSITIONS[S.ACCEPTED] == {
        E.REJECTED: S.FAILED,
        E.REJECTED_RETRYABLE: S.QUEUED,
        E.SENT: S.SENT,
        E.DELIVERED: S.DELIVERED,
        E.FAILED: S.FAILED,
        E.FAILED_RETRYABLE: S.QUEUED,
        E.RELAY_CANCELLED: S.CANCELLED,
    }
    assert TRANSITIONS[S.SENT] == {
        E.DELIVERED: S.DELIVERED,
        E.FAILED: S.FAILED,
        E.FAILED_RETRYABLE: S.FAILED,
        E.RELAY_CANCELLED: S.FAILED,
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
        # rule 6: a job dropped on a `cancel` frame, before or after accepting it
        (f.Rejected(id="m", code="cancelled", message="c", retryable=False),
         Event.RELAY_CANCELLED, ("cancelled", "c")),
        (f.Failed(seq=1, id="m", at=AT, code="cancelled", message="c", retryable=True),
         Event.RELAY_CANCELLED, ("cancelled", "c")),
    ],
)  # fmt: skip
def test_report_event_maps_each_relay_frame_to_its_lifecycle_event(
    frame: f.Accepted | f.Rejected | f.MessageReport, event: Event, error: object
) -> None:
    assert report_event(frame) == (event, error)
