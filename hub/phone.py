"""Phone numbers in any common form → E.164, with ``phonenumbers``."""

from __future__ import annotations

import functools

import phonenumbers


class InvalidNumber(ValueError):
    pass


@functools.lru_cache(maxsize=8192)  # the same numbers come back again and again
def to_e164(raw: str, default_region: str) -> str:
    """Normalise ``raw`` (``+998 90 123-45-67``, ``90 123 45 67`` …) to E.164.

    Raises ``InvalidNumber`` with a message fit for a client when the text is
    not a valid number for its region.
    """
    try:
        number = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException:
        raise InvalidNumber(
            f"not a phone number; write it as +998901234567 or in {default_region} national form"
        ) from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidNumber("not a valid phone number for its country")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
