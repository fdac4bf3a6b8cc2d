"""The message state sets have one source: the lifecycle table.

``protocol.lifecycle`` reads TERMINAL, LIVE and ENDED_UNDELIVERED off the
transition table; the hub's SQL literal, the API's status enum and the
dashboard's lists must say the same (issue 17 found them copied five times).
"""

from __future__ import annotations

import re
import sqlite3
import typing
from pathlib import Path

import pytest

from hub.api.schemas import MessageStatus
from hub.messaging.live import LIVE_SQL, sql_list
from protocol.lifecycle import ENDED_UNDELIVERED, LIVE, TERMINAL, TRANSITIONS, State

DASHBOARD = Path(__file__).resolve().parents[3] / "hub" / "web" / "dashboard"
S = State


def test_the_sets_read_off_the_table_are_the_documented_ones() -> None:
    assert {S.QUEUED, S.DISPATCHED, S.ACCEPTED} == LIVE
    assert {S.DELIVERED, S.FAILED, S.EXPIRED, S.CANCELLED} == TERMINAL
    assert {S.FAILED, S.EXPIRED, S.CANCELLED} == ENDED_UNDELIVERED
    # sent is neither: only reports follow it, none leads back to queued.
    assert set(State) == LIVE | TERMINAL | {S.SENT} and not LIVE & TERMINAL


def test_live_means_the_table_can_send_it_back_to_queued() -> None:
    for state in LIVE - {S.QUEUED}:
        assert S.QUEUED in TRANSITIONS[state].values(), state
    for state in set(State) - LIVE:
        assert S.QUEUED not in TRANSITIONS[state].values(), state


def _sql_values(literal: str) -> list[str]:
    """What SQLite itself reads from the list literal."""
    return [row[0] for row in sqlite3.connect(":memory:").execute(f"VALUES {_rows(literal)}")]


def _rows(literal: str) -> str:
    inner = literal.strip().removeprefix("(").removesuffix(")")
    return ", ".join(f"({value})" for value in inner.split(", "))


def test_the_sql_literal_of_live_states_is_the_set() -> None:
    values = _sql_values(LIVE_SQL)
    assert len(values) == len(set(values)) and set(values) == {s.value for s in LIVE}


def test_the_sql_literal_is_in_lifecycle_order_and_follows_its_set() -> None:
    assert sql_list({S.ACCEPTED, S.QUEUED}) == "('queued', 'accepted')"
    assert _sql_values(sql_list(TERMINAL)) == ["delivered", "failed", "expired", "cancelled"]


def test_the_api_status_enum_is_every_state_in_lifecycle_order() -> None:
    status = typing.get_type_hints(MessageStatus)["status"]
    assert typing.get_args(status) == tuple(s.value for s in State)


def _js_lists(pattern: str) -> list[tuple[str, list[str]]]:
    found = []
    for path in sorted(DASHBOARD.rglob("*.js")):
        for match in re.finditer(pattern, path.read_text()):
            found.append((path.name, re.findall(r'"([a-z_]+)"', match.group(1))))
    return found


def test_the_dashboard_lists_every_state_in_lifecycle_order() -> None:
    lists = _js_lists(r"\bSTATUSES = \[([^\]]*)\]")
    assert lists, "no STATUSES list in the dashboard; update this test to where it moved"
    for name, values in lists:
        assert values == [s.value for s in State], name


def test_the_dashboard_terminal_sets_are_the_lifecycle_s() -> None:
    sets = _js_lists(r"\bTERMINAL = new Set\(\[([^\]]*)\]\)")
    assert sets, "no TERMINAL set in the dashboard; update this test to where it moved"
    for name, values in sets:
        assert sorted(values) == sorted(s.value for s in TERMINAL), name


@pytest.mark.parametrize("copy", ['"failed", "expired", "cancelled"', "'queued', 'dispatched'"])
def test_no_hub_module_spells_a_state_list_again(copy: str) -> None:
    root = Path(__file__).resolve().parents[3] / "hub"
    holders = [p.name for p in root.rglob("*.py") if copy in p.read_text()]
    assert holders == []
