"""How many SMS parts a text takes, and in which encoding.

GSM-7 (GSM 03.38, via the ``gsm0338`` codec) when every character maps to it,
escape characters such as ``€`` or ``[`` counting as two septets; otherwise
UCS-2, where characters beyond the BMP (emoji) take two code units.
A single part holds 160 septets or 70 code units; a concatenated part 153 or 67.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import gsm0338  # noqa: F401  (registers the "gsm03.38" codec)

_LIMITS = {"gsm7": (160, 153), "ucs2": (70, 67)}


@dataclass(frozen=True, slots=True)
class TextSize:
    encoding: str  # "gsm7" or "ucs2"
    units: int  # septets or UTF-16 code units
    parts: int


def measure(text: str) -> TextSize:
    try:
        encoding, units = "gsm7", len(text.encode("gsm03.38"))
    except UnicodeEncodeError:
        encoding, units = "ucs2", len(text.encode("utf-16-le")) // 2
    single, multi = _LIMITS[encoding]
    parts = 1 if units <= single else math.ceil(units / multi)
    return TextSize(encoding, units, parts)
