"""How many SMS parts a text takes, and in which encoding.

GSM-7 (GSM 03.38, via the ``gsm0338`` codec) when every character maps to it,
escape characters such as ``€`` or ``[`` taking two septets; otherwise UCS-2,
where characters beyond the BMP (emoji) take two code units. A single part
holds 160 septets or 70 code units; a concatenated part 153 or 67, and phones
never split an escape pair or a surrogate pair across two parts, so parts are
counted by filling them character by character.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import gsm0338  # noqa: F401  (registers the "gsm03.38" codec)

from hub.text.rules import control_character

_LIMITS = {"gsm7": (160, 153), "ucs2": (70, 67)}


@dataclass(frozen=True, slots=True)
class TextSize:
    encoding: str  # "gsm7" or "ucs2"
    units: int  # septets or UTF-16 code units
    parts: int


def _encoding(text: str) -> tuple[str, int]:
    if "\x1b" in text:
        # The codec maps a bare ESC to the escape septet, but Android's GSM
        # alphabet cannot encode it on its own and sends such a text as UCS-2.
        return "ucs2", len(text.encode("utf-16-le")) // 2
    try:
        return "gsm7", len(text.encode("gsm03.38"))
    except UnicodeEncodeError:
        return "ucs2", len(text.encode("utf-16-le")) // 2


def _widths(text: str, encoding: str) -> list[int]:
    if encoding == "gsm7":
        return [len(ch.encode("gsm03.38")) for ch in text]
    return [len(ch.encode("utf-16-le")) // 2 for ch in text]


@functools.lru_cache(maxsize=256)
def measure(text: str) -> TextSize:
    encoding, units = _encoding(text)
    single, multi = _LIMITS[encoding]
    if units <= single:
        return TextSize(encoding, units, 1)
    widths = _widths(text, encoding)  # only long texts need the per-character walk
    parts, room = 1, multi
    for width in widths:
        if width > room:  # this character would straddle the boundary: start a new part
            parts, room = parts + 1, multi
        room -= width
    return TextSize(encoding, units, parts)


_NAMES = {"gsm7": "GSM-7", "ucs2": "UCS-2"}


def max_characters(encoding: str, max_parts: int) -> int:
    """The most units (GSM-7 septets or UCS-2 code units) ``max_parts`` parts hold."""
    single, multi = _LIMITS[encoding]
    return single if max_parts == 1 else multi * max_parts


def refusal(text: str, max_parts: int) -> str | None:
    """Why ``text`` cannot be sent as an SMS of at most ``max_parts`` parts, in words
    that say how to fix it; None if it can."""
    unfit = unsendable(text)
    if unfit is not None:
        return unfit
    size = measure(text)
    if size.parts <= max_parts:
        return None
    return _too_long(text, size, max_parts)


def unsendable(text: str) -> str | None:
    """Why ``text`` is no SMS at any length (blank, or with a control character)."""
    if not text.strip():
        return "is blank: write the words to send (a text of only spaces would arrive empty)"
    return control_character(text, multiline=True)


def _too_long(text: str, size: TextSize, max_parts: int) -> str:
    name = _NAMES[size.encoding]
    multi = _LIMITS[size.encoding][1]
    why = ""
    if size.encoding == "ucs2":
        odd = next((ch for ch in text if _encoding(ch)[0] == "ucs2"), None)
        why = f"; {name} because {odd!r} is not in GSM-7" if odd else ""
    counted = f"{len(text)} characters"
    if size.units != len(text):  # GSM-7 escapes (€, [ …) and emoji take two units
        doubles = "€, [ and the like" if size.encoding == "gsm7" else "emoji"
        counted += f" (counted as {size.units}: {doubles} count twice)"
    return (
        f"is too long: {counted} take {size.parts} SMS parts in {name}"
        f" ({multi} per part{why}), and this hub sends at most {max_parts} parts"
        f" ([sms] max_parts): at most {max_characters(size.encoding, max_parts)} {name} characters;"
        " shorten it or send it as several messages"
    )
