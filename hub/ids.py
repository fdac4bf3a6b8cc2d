"""Opaque, time-sortable ids with a type prefix (``req_``, ``dev_``, ``tok_`` …).

ULID layout: 48 bits of milliseconds then 80 random bits, in Crockford base32,
so ids sort by creation time and cursors can page by id.
"""

from __future__ import annotations

import secrets
from datetime import datetime

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_id(prefix: str, now: datetime) -> str:
    value = (int(now.timestamp() * 1000) << 80) | secrets.randbits(80)
    chars = []
    for _ in range(26):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return f"{prefix}_{''.join(reversed(chars))}"
