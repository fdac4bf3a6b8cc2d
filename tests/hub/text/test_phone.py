"""Tests for ``hub/text/phone.py``: any common way of writing a number → E.164."""

from __future__ import annotations

import pytest

from hub.errors import InvalidNumber
from hub.text.phone import to_e164


@pytest.mark.parametrize(
    "raw",
    [
        "901234567",
        "90 123 45 67",
        "90-123-45-67",
        "(90) 123-45-67",
        "+998901234567",
        "+998 90 123-45-67",
        "+998 (90) 123 45 67",
        "+998-90-123-45-67",
        "998901234567",
        "00998901234567",
        " +998 90 123 45 67 ",
    ],
)
def test_to_e164_normalises_an_uzbek_mobile_number_when_written_in_any_common_form(
    raw: str,
) -> None:
    assert to_e164(raw, "UZ") == "+998901234567"


@pytest.mark.parametrize(
    ("raw", "e164"),
    [("33 123 45 67", "+998331234567"), ("71 123 45 67", "+998711234567")],
)
def test_to_e164_normalises_other_uzbek_operator_and_city_codes_when_national(
    raw: str, e164: str
) -> None:
    assert to_e164(raw, "UZ") == e164


def test_to_e164_keeps_a_foreign_number_when_written_with_its_country_code() -> None:
    assert to_e164("+1 (202) 555-0143", "UZ") == "+12025550143"


@pytest.mark.parametrize(
    "raw",
    [
        "+99890123456",  # one digit short
        "+9989012345678",  # one digit long
        "12345",
        "+998 12 345 67 89",  # no such area code
        "0901234567",  # a trunk prefix Uzbekistan does not use
    ],
)
def test_to_e164_raises_invalid_number_when_digits_are_not_a_valid_number(raw: str) -> None:
    with pytest.raises(InvalidNumber, match="not a valid phone number"):
        to_e164(raw, "UZ")


@pytest.mark.parametrize("raw", ["", "   ", "hello", "+", "call me"])
def test_to_e164_raises_invalid_number_naming_the_expected_form_when_text_is_not_a_number(
    raw: str,
) -> None:
    with pytest.raises(InvalidNumber, match=r"UZ national form, e\.g\. \+998912345678 or 91 2"):
        to_e164(raw, "UZ")


def test_a_trunk_zero_the_region_does_not_use_is_named_with_the_number_meant() -> None:
    with pytest.raises(InvalidNumber, match=r"no leading 0; write \+998901234567$"):
        to_e164("0901234567", "UZ")


def test_invalid_number_is_a_value_error_when_caught_broadly() -> None:
    with pytest.raises(ValueError):
        to_e164("hello", "UZ")
