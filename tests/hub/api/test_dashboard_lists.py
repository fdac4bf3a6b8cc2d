"""The dashboard's scope and webhook-event lists are the hub's.

The dashboard offers a tick box per scope (tokens view) and per event type
(webhooks view), and calls an endpoint that gets every type "all events".
Those lists are JavaScript copies of ``hub.auth.SCOPES`` and
``hub.events.EVENT_TYPES``; a scope or event added to the hub and not to the
dashboard could never be granted or subscribed from it (issue 17, item 4).
Order is the dashboard's to choose, so the lists are compared as sets.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from hub.accounts.tokens import ADMIN_SCOPE, SCOPES
from hub.events.outbox import EVENT_TYPES

VIEWS = Path(__file__).resolve().parents[3] / "hub" / "web" / "dashboard" / "views"


def js_array(source: str, name: str) -> str:
    """The text between the brackets of ``export const NAME = [...];``."""
    match = re.search(rf"export const {name} = \[(.*?)\n?\];", source, re.DOTALL)
    assert match, f"no `export const {name} = [...]` in the dashboard; update this test"
    return match.group(1)


def js_strings(array: str) -> list[str]:
    """Every string of a flat array: ``["a", "b"]`` gives ``["a", "b"]``."""
    return re.findall(r'"([^"]*)"', array)


def js_first_strings(array: str) -> list[str]:
    """The first string of each pair: ``[["a", "x"], ["b", "y"]]`` gives ``["a", "b"]``."""
    return re.findall(r'\[\s*"([^"]*)"\s*,', array)


def assert_same_members(copy: list[str], source: tuple[str, ...]) -> None:
    assert len(copy) == len(set(copy)), f"duplicates in the dashboard's list: {copy}"
    assert set(copy) == set(source)


def test_the_tokens_view_offers_every_scope_of_the_hub() -> None:
    scopes = js_first_strings(js_array((VIEWS / "tokens.js").read_text(), "SCOPES"))
    assert_same_members(scopes, SCOPES)
    # admin is granted only by the operator's token, never from a tick box.
    assert ADMIN_SCOPE not in scopes


def test_the_webhooks_view_offers_every_event_type_of_the_hub() -> None:
    events = js_strings(js_array((VIEWS / "webhooks.js").read_text(), "EVENT_TYPES"))
    assert_same_members(events, EVENT_TYPES)


@pytest.mark.parametrize(
    ("source", "read", "expected"),
    [
        ('export const E = [\n  "a.b", "c.d",\n];', js_strings, ["a.b", "c.d"]),
        (
            'export const E = [\n  ["a.b", "Send, then read"],\n  ["c", "z"],\n];',
            js_first_strings,
            ["a.b", "c"],
        ),
    ],
)
def test_the_reader_takes_the_names_out_of_each_array_shape(
    source: str, read: Callable[[str], list[str]], expected: list[str]
) -> None:
    assert read(js_array(source, "E")) == expected


def test_a_missing_or_different_list_fails() -> None:
    with pytest.raises(AssertionError, match="no `export const SCOPES"):
        js_array("const SCOPES = [];", "SCOPES")
    with pytest.raises(AssertionError):
        assert_same_members(["sms.send", "sms.send"], ("sms.send",))
    with pytest.raises(AssertionError):
        assert_same_members(list(SCOPES[:-1]), SCOPES)
