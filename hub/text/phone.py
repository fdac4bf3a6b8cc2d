"""Phone numbers in any common form → E.164, with ``phonenumbers``."""

from __future__ import annotations

import functools

import phonenumbers
from phonenumbers import PhoneNumberType

from hub.errors import InvalidNumber


@functools.lru_cache(maxsize=8192)  # the same numbers come back again and again
def to_e164(raw: str, default_region: str) -> str:
    """Normalise ``raw`` (``+998 90 123-45-67``, ``90 123 45 67`` …) to E.164.

    Raises ``InvalidNumber`` with a message fit for a client when the text is
    not a valid number for its region: it says which region was assumed and
    gives an example number, since a refusal is the moment a developer learns
    that numbers without ``+`` are read as the hub's region.
    """
    try:
        number = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException:
        raise InvalidNumber(f"is not a phone number; {_how_to_write(default_region)}") from None
    if phonenumbers.is_valid_number(number):
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if raw.lstrip().startswith(("+", "00")):  # the caller named the country
        code = number.country_code or 0
        region = phonenumbers.region_code_for_country_code(code)
        if region == phonenumbers.UNKNOWN_REGION:
            raise InvalidNumber(f"is not a valid phone number: +{code} is no country's code")
        raise InvalidNumber(
            f"is not a valid phone number for +{code} ({region}); e.g. {_example(region)[0]}"
        )
    trunk = _without_leading_zero(raw, default_region)
    if trunk is not None:
        raise InvalidNumber(
            f"is not a valid phone number in {default_region} (the region assumed for a number"
            f" without a + country code): its numbers have no leading 0; write {trunk}"
        )
    raise InvalidNumber(
        f"is not a valid phone number in {default_region}, the region assumed for a number"
        f" without a + country code; {_how_to_write(default_region)}"
    )


def _without_leading_zero(raw: str, region: str) -> str | None:
    """The E.164 form of ``raw`` without its leading 0, if that one is valid.

    Many people write a trunk 0 before a national number out of habit from
    other countries; in regions without one (Uzbekistan among them) the 0 makes
    the number invalid, and saying so beats a generic refusal.
    """
    digits = raw.strip()
    if not digits.startswith("0"):
        return None
    try:
        number = phonenumbers.parse(digits[1:], region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _how_to_write(region: str) -> str:
    e164, national = _example(region)
    return (
        f"write it in E.164 (+, country code, number) or in {region} national form,"
        f" e.g. {e164} or {national}; a number of another country needs its + code"
    )


@functools.cache
def _example(region: str) -> tuple[str, str]:
    """An example mobile number of ``region``: E.164 and national form."""
    number = phonenumbers.example_number_for_type(
        region, PhoneNumberType.MOBILE
    ) or phonenumbers.example_number(region)
    if number is None:  # a region phonenumbers has no example for
        return "+998901234567", "90 123 45 67"
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return e164, national
