"""What the lifecycle tests share: the cells of the transition table, the cells it
leaves out, and who holds a message in each state.
"""

from __future__ import annotations

from datetime import UTC, datetime

from protocol.lifecycle import (
    HELD,
    LOCAL_EVENTS,
    TRANSITIONS,
    Event,
    State,
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
