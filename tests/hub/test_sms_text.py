"""Tests for ``hub/sms_text.py``: encoding and SMS part counts at every boundary."""

from __future__ import annotations

import pytest

from hub.sms_text import TextSize, measure

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
