"""Tests for ``hub/text/sms_text.py``: encoding and SMS part counts at every boundary."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.text.sms_text import TextSize, measure

CYRILLIC = "\u043f"  # п
MODIFIER_TURNED_COMMA = "\u02bb"  # the Uzbek Latin letter mark in o+U+02BB and g+U+02BB
EMOJI = "\U0001f600"  # 😀, outside the BMP: a surrogate pair in UTF-16
GSM_ESCAPED = "€[]{}^~|\\"


@pytest.mark.parametrize(
    ("length", "parts"), [(1, 1), (160, 1), (161, 2), (306, 2), (307, 3), (459, 3), (460, 4)]
)
def test_measure_counts_gsm7_parts_at_160_then_153_when_text_is_plain(
    length: int, parts: int
) -> None:
    assert measure("a" * length) == TextSize("gsm7", length, parts)


@pytest.mark.parametrize("char", list(GSM_ESCAPED))
def test_measure_counts_two_septets_when_a_gsm7_character_needs_an_escape(char: str) -> None:
    assert measure(char) == TextSize("gsm7", 2, 1)


@pytest.mark.parametrize(("count", "parts"), [(80, 1), (81, 2)])
def test_measure_counts_escaped_characters_double_at_the_single_part_boundary(
    count: int, parts: int
) -> None:
    assert measure("€" * count) == TextSize("gsm7", 2 * count, parts)


def test_measure_adds_a_part_when_one_escape_character_pushes_past_160() -> None:
    assert measure("a" * 159 + "€") == TextSize("gsm7", 161, 2)


def test_measure_keeps_gsm7_when_text_has_gsm_accented_letters() -> None:
    assert measure("Ça va? Ü é ñ Ø å @ £ $ ¥ §") == TextSize("gsm7", 26, 1)


@pytest.mark.parametrize(
    ("length", "parts"), [(1, 1), (70, 1), (71, 2), (134, 2), (135, 3), (201, 3), (202, 4)]
)
def test_measure_counts_ucs2_parts_at_70_then_67_when_text_is_cyrillic(
    length: int, parts: int
) -> None:
    assert measure(CYRILLIC * length) == TextSize("ucs2", length, parts)


def test_measure_switches_the_whole_text_to_ucs2_when_one_character_is_not_gsm7() -> None:
    assert measure("a" * 69 + CYRILLIC) == TextSize("ucs2", 70, 1)
    assert measure("a" * 70 + CYRILLIC) == TextSize("ucs2", 71, 2)


@pytest.mark.parametrize(
    ("text", "units", "parts"),
    [
        (f"O{MODIFIER_TURNED_COMMA}zbekiston", 11, 1),
        (f"o{MODIFIER_TURNED_COMMA}" * 35, 70, 1),
        (f"g{MODIFIER_TURNED_COMMA}" * 35 + "a", 71, 2),
        (f"o{MODIFIER_TURNED_COMMA}" * 67, 134, 2),
        (f"o{MODIFIER_TURNED_COMMA}" * 67 + "a", 135, 3),
    ],
)
def test_measure_counts_ucs2_when_uzbek_latin_uses_the_modifier_letter(
    text: str, units: int, parts: int
) -> None:
    assert measure(text) == TextSize("ucs2", units, parts)


def test_measure_keeps_gsm7_when_uzbek_latin_has_no_modifier_letter() -> None:
    assert measure("Salom, kod: 123456") == TextSize("gsm7", 18, 1)


@pytest.mark.parametrize(("count", "parts"), [(1, 1), (35, 1), (36, 2)])
def test_measure_counts_two_code_units_when_a_character_is_an_emoji(count: int, parts: int) -> None:
    assert measure(EMOJI * count) == TextSize("ucs2", 2 * count, parts)


def test_measure_adds_a_part_when_one_emoji_pushes_past_70() -> None:
    assert measure(CYRILLIC * 69 + EMOJI) == TextSize("ucs2", 71, 2)


def test_measure_adds_a_part_when_an_escape_pair_would_straddle_a_part_boundary() -> None:
    assert measure("a" * 152 + "€" + "a" * 152).parts == 3


def test_measure_adds_a_part_when_a_surrogate_pair_would_straddle_a_part_boundary() -> None:
    assert measure(CYRILLIC * 66 + EMOJI + CYRILLIC * 66).parts == 3


# --- every escape character, and the Uzbek apostrophes -------------------------------


@pytest.mark.parametrize("char", list(GSM_ESCAPED))
def test_measure_never_splits_an_escape_pair_when_it_falls_on_the_153rd_septet(char: str) -> None:
    # 152 + 2 would make 154: the pair moves whole to part 2, which then overflows.
    assert measure("a" * 152 + char + "a" * 152) == TextSize("gsm7", 306, 3)


@pytest.mark.parametrize("char", list(GSM_ESCAPED))
def test_measure_fills_a_part_exactly_when_an_escape_pair_ends_on_the_153rd_septet(
    char: str,
) -> None:
    assert measure("a" * 151 + char + "a" * 153) == TextSize("gsm7", 306, 2)


def test_measure_fills_a_part_exactly_when_a_surrogate_pair_ends_on_the_67th_unit() -> None:
    assert measure(CYRILLIC * 65 + EMOJI + CYRILLIC * 67) == TextSize("ucs2", 134, 2)


@pytest.mark.parametrize(
    "text",
    ["O'zbekiston", "g'alaba, o'qituvchi, Sog'liqni saqlash", "o'" * 80],
    ids=["word", "sentence", "160_septets"],
)
def test_measure_keeps_gsm7_when_uzbek_latin_uses_the_plain_apostrophe(text: str) -> None:
    assert measure(text) == TextSize("gsm7", len(text), 1)


@pytest.mark.parametrize(
    "mark",
    ["\u02bb", "\u02bc", "\u2018", "\u2019", "`"],
    ids=["turned_comma_02bb", "apostrophe_02bc", "left_quote_2018", "right_quote_2019", "grave"],
)
def test_measure_counts_ucs2_when_uzbek_latin_uses_a_mark_gsm7_lacks(mark: str) -> None:
    text = f"O{mark}zbekiston"
    assert measure(text) == TextSize("ucs2", 11, 1)


def test_measure_counts_ucs2_parts_at_70_then_67_when_text_is_uzbek_cyrillic() -> None:
    word = "\u040e\u0437\u0431\u0435\u043a\u0438\u0441\u0442\u043e\u043d"  # 10 letters: Ўзбекистон
    assert measure(word * 7) == TextSize("ucs2", 70, 1)
    assert measure(word * 7 + "!") == TextSize("ucs2", 71, 2)


# --- a reference written from GSM 03.38 and 3GPP TS 23.040 ---------------------------

# The GSM 7-bit default alphabet, 0x00-0x7F in order, without 0x1B (the escape
# to the extension table, not a character of its own).
GSM7_BASIC = frozenset(
    "@\u00a3$\u00a5\u00e8\u00e9\u00f9\u00ec\u00f2\u00c7\n\u00d8\u00f8\r\u00c5\u00e5"
    "\u0394_\u03a6\u0393\u039b\u03a9\u03a0\u03a8\u03a3\u0398\u039e\u00c6\u00e6\u00df\u00c9"
    " !\"#\u00a4%&'()*+,-./0123456789:;<=>?"
    "\u00a1ABCDEFGHIJKLMNOPQRSTUVWXYZ\u00c4\u00d6\u00d1\u00dc\u00a7"
    "\u00bfabcdefghijklmnopqrstuvwxyz\u00e4\u00f6\u00f1\u00fc\u00e0"
)
# The extension table: each is sent as 0x1B and a second septet.
GSM7_EXTENSION = frozenset("\f^{}\\[~]|\u20ac")


def reference_size(text: str) -> TextSize:
    """Encode to a list of units, each tagged with its character, then cut it into
    parts of 153 septets or 67 code units, moving a cut back by one when it
    would fall inside a character (3GPP TS 23.040: user data header of 6 octets)."""
    if set(text) <= GSM7_BASIC | GSM7_EXTENSION:
        encoding, single, multi = "gsm7", 160, 153
        units = [i for i, ch in enumerate(text) for _ in range(2 if ch in GSM7_EXTENSION else 1)]
    else:
        encoding, single, multi = "ucs2", 70, 67
        units = [i for i, ch in enumerate(text) for _ in range(2 if ord(ch) > 0xFFFF else 1)]
    if len(units) <= single:
        return TextSize(encoding, len(units), 1)
    parts, start = 0, 0
    while start < len(units):
        end = min(start + multi, len(units))
        if end < len(units) and units[end] == units[end - 1]:
            end -= 1  # the cut would split a character: it goes to the next part
        parts, start = parts + 1, end
    return TextSize(encoding, len(units), parts)


def test_reference_alphabet_has_127_basic_and_10_extension_characters() -> None:
    assert (len(GSM7_BASIC), len(GSM7_EXTENSION)) == (127, 10)
    assert not GSM7_BASIC & GSM7_EXTENSION


_some_chars = st.sampled_from(
    sorted(GSM7_BASIC) + sorted(GSM7_EXTENSION)
    + [CYRILLIC, EMOJI, MODIFIER_TURNED_COMMA, "\u00e7", "\u2019", "\U00010348", "\u00a0"]
)  # fmt: skip
# Runs of one character, often ending just before a part boundary (153 or 67
# units, or half of that for a two-unit character), then a few others.
_run_lengths = st.integers(0, 700) | st.builds(
    lambda parts, size, shift: max(0, parts * size + shift),
    st.integers(1, 4),
    st.sampled_from([153, 76, 67, 33]),
    st.integers(-2, 1),
)
_texts = st.builds(
    lambda fill, count, tail: fill * count + "".join(tail),
    _some_chars,
    _run_lengths,
    st.lists(_some_chars | st.characters(exclude_categories=("Cs",)), max_size=12),
)


@settings(max_examples=300, deadline=None)
@given(text=_texts.filter(bool))
def test_measure_agrees_with_an_independent_reference_for_any_text(text: str) -> None:
    assert measure(text) == reference_size(text)


def test_measure_counts_ucs2_when_text_has_a_bare_escape_control_character() -> None:
    assert measure("a\x1bb") == TextSize("ucs2", 3, 1)
