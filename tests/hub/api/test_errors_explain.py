"""Tests for ``hub/api/explain.py`` and the text/number refusals: the hub's words, not msgspec's."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
import pytest
from msgspec import Meta

from hub.api.errors import DETAIL_PROBLEMS, validation_error
from hub.api.explain import explain, struct_info, suggest
from hub.text.sms_text import refusal


class Item(msgspec.Struct, forbid_unknown_fields=True):
    to: str
    count: Annotated[int, Meta(ge=1, le=5)] = 1


class Order(msgspec.Struct, forbid_unknown_fields=True):
    items: list[Item]
    mode: Literal["fast", "slow"] = "fast"
    ratio: float | None = None


def words(value: object) -> list[dict[str, str]]:
    return explain("", value, struct_info(Order))


def test_explain_names_the_json_path_of_a_nested_item_when_it_is_wrong() -> None:
    assert words({"items": [{"to": "a"}, {"to": "b"}, {"to": 5}]}) == [
        {"field": "items[2].to", "message": "must be a string; got a number (5)"}
    ]


def test_explain_lists_the_allowed_values_when_a_literal_is_wrong() -> None:
    (problem,) = words({"items": [], "mode": "Fast"})

    assert problem["message"] == 'must be one of "fast", "slow"; got the string "Fast"' + (
        ' (did you mean "fast"?)'
    )


def test_explain_gives_the_range_when_a_number_is_outside_it() -> None:
    (problem,) = words({"items": [{"to": "a", "count": 9}]})

    assert problem == {
        "field": "items[0].count",
        "message": "must be a whole number from 1 to 5; got 9",
    }


def test_explain_refuses_true_where_a_number_is_wanted() -> None:
    (problem,) = words({"items": [], "ratio": True})

    assert problem["message"] == "must be a number; got true"


def test_explain_names_an_unknown_nested_field_with_the_one_probably_meant() -> None:
    problems = words({"items": [{"phone": "+998901234567"}]})

    assert [p["field"] for p in problems] == ["items[0].to", "items[0].phone"]
    assert "you sent `phone`" in problems[0]["message"]
    assert "did you mean `to`?" in problems[1]["message"]


@pytest.mark.parametrize(
    ("key", "names", "meant"),
    [("message", ["to", "text"], "text"), ("TEXT", ["to", "text"], "text"),
     ("txet", ["to", "text"], "text"), ("to", ["phone", "name"], "phone"),
     ("colour", ["to", "text"], None)],
)  # fmt: skip
def test_suggest_finds_the_field_meant_by_alias_case_or_spelling(
    key: str, names: list[str], meant: str | None
) -> None:
    assert suggest(key, names, {key: 1}) == meant


def test_validation_error_detail_names_the_first_problems_and_counts_the_rest() -> None:
    problems = [{"field": f"f{i}", "message": "is required"} for i in range(DETAIL_PROBLEMS + 2)]

    error = validation_error(problems)

    assert error.detail.startswith("f0: is required; f1: is required")
    assert error.detail.endswith("; and 2 more, all listed in errors")
    assert error.errors == problems


@pytest.mark.parametrize("text", [" ", "\n\t ", "\u00a0\u3000"])
def test_refusal_calls_a_whitespace_only_text_blank(text: str) -> None:
    assert (refusal(text, 10) or "").startswith("is blank")


@pytest.mark.parametrize("text", ["a\x00b", "a\x1bb", "a\x7f"])
def test_refusal_names_a_control_character_and_where_it_is(text: str) -> None:
    assert f"U+{ord(text[1]):04X}) at position 1" in (refusal(text, 10) or "")


def test_refusal_accepts_newline_tab_and_carriage_return() -> None:
    assert refusal("line one\r\n\tline two", 10) is None


def test_refusal_of_a_long_ucs2_text_names_the_character_that_forced_ucs2() -> None:
    message = refusal("salom ё" + "a" * 700, 10) or ""

    assert "in UCS-2 (67 per part; UCS-2 because 'ё' is not in GSM-7)" in message
    assert "at most 670 UCS-2 characters" in message
