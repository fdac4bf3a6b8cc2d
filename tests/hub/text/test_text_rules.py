"""The one rule for client text: which characters are refused, and where it says so."""

from __future__ import annotations

import msgspec
import pytest

from hub.text.rules import control_character, control_problems, may_hold_control


@pytest.mark.parametrize("char", ["\x00", "\x07", "\x1b", "\x7f", "\x85", "\x9f", "\n", "\t"])
def test_a_one_line_field_refuses_every_control_character(char: str) -> None:
    why = control_character(f"ab{char}c")

    assert why is not None
    assert why.startswith(f"has a control character (U+{ord(char):04X}) at position 2: remove it")


def test_a_text_that_spans_lines_keeps_newline_tab_and_cr_but_not_nul() -> None:
    assert control_character("a\r\n\tb", multiline=True) is None
    assert control_character("a\x00", multiline=True) == (
        "has a control character (U+0000) at position 1: remove it;"
        " only newline, tab and carriage return are allowed"
    )


def test_ordinary_text_in_any_script_passes() -> None:
    assert control_character("O\u02bbg\u02bbiloy Шерзод 😀 €") is None


class Inner(msgspec.Struct):
    note: str


class Body(msgspec.Struct):
    name: str
    text: str
    tags: list[str]
    metadata: dict[str, str]
    inner: Inner


def test_problems_name_each_field_by_its_json_path_and_allow_breaks_only_in_text() -> None:
    body = Body(
        name="a\x00",
        text="line\nline",
        tags=["ok", "b\x1b"],
        metadata={"city": "x\ny", "code": "\x00"},
        inner=Inner(note="n\n"),
    )

    fields = [p["field"] for p in control_problems(body, "")]

    assert fields == ["name", "tags[1]", "metadata.code", "inner.note"]


@pytest.mark.parametrize(
    ("raw", "suspect"),
    [(b'{"a": "plain"}', False), (b'{"a": "\\u0000"}', True), (b'{"a": "\xc2\x85"}', True),
     (b'{"a": "caf\xc3\xa9"}', False)],
)  # fmt: skip
def test_only_a_body_that_could_hold_a_control_character_is_walked(
    raw: bytes, suspect: bool
) -> None:
    assert may_hold_control(raw) is suspect
