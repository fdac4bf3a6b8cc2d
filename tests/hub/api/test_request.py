"""Tests for ``hub/api/request.py`` ``parse_body``: every problem of a body at once."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
import pytest
from msgspec import Meta

from hub.api.errors import ApiError
from hub.api.request import parse_body


class Sim(msgspec.Struct):
    slot: int
    carrier: str


class Body(msgspec.Struct):
    to: str
    text: Annotated[str, Meta(min_length=1)]
    ttl_seconds: int | None = None
    sims: list[Sim] = msgspec.field(default_factory=list)


def problems(raw: bytes, check: Any = None) -> list[dict[str, str]]:
    with pytest.raises(ApiError) as caught:
        parse_body(raw, Body, check)
    error = caught.value
    assert (error.code, error.status) == ("validation_error", 422)
    assert error.errors is not None
    return error.errors


def fields(errors: list[dict[str, str]]) -> list[str]:
    return [e["field"] for e in errors]


def test_parse_body_returns_the_struct_when_the_body_is_valid() -> None:
    raw = b'{"to": "+998901234567", "text": "hi", "sims": [{"slot": 0, "carrier": "Ucell"}]}'

    assert parse_body(raw, Body) == Body("+998901234567", "hi", None, [Sim(0, "Ucell")])


def test_parse_body_lists_every_missing_and_mistyped_field_when_several_are_wrong() -> None:
    errors = problems(b'{"ttl_seconds": "soon", "sims": {}}')

    assert errors == [
        {"field": "to", "message": "is required (a string)"},
        {"field": "text", "message": "is required (a string)"},
        {"field": "ttl_seconds", "message": 'must be a whole number; got the string "soon"'},
        {"field": "sims", "message": "must be a list (each item an object); got an object"},
    ]


def test_parse_body_names_the_nested_path_when_an_item_of_a_list_is_wrong() -> None:
    errors = problems(b'{"to": "x", "text": "y", "sims": [{"slot": "one", "carrier": "c"}]}')

    assert errors == [
        {"field": "sims[0].slot", "message": 'must be a whole number; got the string "one"'}
    ]


def test_parse_body_names_the_missing_nested_field_when_an_item_lacks_one() -> None:
    errors = problems(
        b'{"to": "x", "text": "y", "sims": [{"slot": 0, "carrier": "c"}, {"slot": 1}]}'
    )

    assert errors == [{"field": "sims[1].carrier", "message": "is required (a string)"}]


def test_parse_body_reports_a_constraint_on_its_field_when_a_value_breaks_it() -> None:
    errors = problems(b'{"to": "x", "text": ""}')

    assert errors == [{"field": "text", "message": "must not be empty: write at least 1 character"}]


@pytest.mark.parametrize("raw", [b"", b"   ", b"\n\t"])
def test_parse_body_asks_for_a_json_object_when_the_body_is_empty(raw: bytes) -> None:
    assert problems(raw) == [{"field": "body", "message": "a JSON object is required"}]


@pytest.mark.parametrize("raw", [b'{"to": ', b"{to: 1}", b"\xff", b'{"to": "x",}'])
def test_parse_body_says_not_valid_json_when_the_body_is_malformed(raw: bytes) -> None:
    errors = problems(raw)

    assert fields(errors) == ["body"]
    assert errors[0]["message"].startswith("not valid JSON")


@pytest.mark.parametrize("raw", [b'{"to": "\xff", "text": "y"}', b'{"to": "x", "text": "\xc3"}'])
def test_parse_body_says_not_valid_json_when_a_string_is_not_utf8(raw: bytes) -> None:
    errors = problems(raw)

    assert fields(errors) == ["body"]
    assert errors[0]["message"].startswith("not valid JSON")


@pytest.mark.parametrize("raw", [b"[]", b'["to"]', b"null", b"42", b'"text"', b"true"])
def test_parse_body_says_must_be_an_object_when_the_json_is_not_an_object(raw: bytes) -> None:
    (problem,) = problems(raw)

    assert problem["field"] == "body"
    assert problem["message"].startswith("must be a JSON object of fields; got ")


def test_parse_body_passes_only_well_typed_fields_to_check_when_some_are_mistyped() -> None:
    seen: list[dict[str, Any]] = []

    def check(body: dict[str, Any]) -> list[dict[str, str]]:
        seen.append(dict(body))
        return []

    problems(b'{"to": 998901234567, "text": "hi", "ttl_seconds": 60}', check)

    assert seen == [{"text": "hi", "ttl_seconds": 60}]


def test_parse_body_adds_check_errors_after_type_errors_when_both_find_problems() -> None:
    def check(body: dict[str, Any]) -> list[dict[str, str]]:
        errors = []
        if "to" in body and not body["to"].startswith("+"):
            errors.append({"field": "to", "message": "not a phone number"})
        if "text" in body and len(body["text"]) > 3:
            errors.append({"field": "text", "message": "too long"})
        return errors

    errors = problems(b'{"to": "hello", "text": 5}', check)

    assert errors == [
        {"field": "text", "message": "must be a string; got a number (5)"},
        {"field": "to", "message": "not a phone number"},
    ]


def test_parse_body_fails_with_check_errors_when_types_are_all_right() -> None:
    def check(body: dict[str, Any]) -> list[dict[str, str]]:
        return [{"field": "to", "message": "not a phone number"}]

    assert problems(b'{"to": "hello", "text": "hi"}', check) == [
        {"field": "to", "message": "not a phone number"}
    ]


def test_parse_body_returns_the_struct_when_check_finds_nothing() -> None:
    assert parse_body(b'{"to": "+1", "text": "hi"}', Body, lambda body: []) == Body("+1", "hi")


def test_parse_body_names_every_problem_in_the_detail_when_several() -> None:
    with pytest.raises(ApiError) as caught:
        parse_body(b"{}", Body)

    assert caught.value.detail == "to: is required (a string); text: is required (a string)"


@pytest.mark.parametrize(
    "raw",
    [
        b"[" * 50_000,  # never closed
        b'{"to": "+998901234567", "text": "x", "extra": ' + b"[" * 30_000 + b"]" * 30_000 + b"}",
        b'{"sims": ' + b"[" * 30_000 + b"]" * 30_000 + b"}",
    ],
    ids=["open_brackets", "deep_unknown_field", "deep_known_field"],
)
def test_parse_body_says_nested_too_deeply_when_the_json_nests_past_the_decoder(raw: bytes) -> None:
    # A RecursionError used to escape: a 500 internal_error instead of a 422.
    assert problems(raw) == [
        {
            "field": "body",
            "message": "nested too deeply: a body is an object of fields, a few levels deep",
        }
    ]


def test_bearer_token_is_read_by_one_rule_for_the_api_and_the_relay_socket() -> None:
    from hub.accounts.tokens import bearer_token

    assert bearer_token("Bearer rh_abc") == "rh_abc"
    assert bearer_token("bearer  rh_abc ") == "rh_abc"  # the scheme is case-insensitive
    assert bearer_token("Basic dXNlcg==") is None
    assert bearer_token("Bearer ") is None
    assert bearer_token("rh_abc") is None
    assert bearer_token("") is None
