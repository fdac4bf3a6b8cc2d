"""Opaque, time-sortable ids with a type prefix (``req_``, ``dev_``, ``tok_`` …).

ULID layout: 48 bits of milliseconds then 80 random bits, in Crockford base32,
so ids sort by creation time and cursors can page by id.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


def new_id(prefix: str, now: datetime) -> str:
    # Integer arithmetic: float seconds times 1000 can round down to the previous ms.
    millis = (now - _EPOCH) // _MS
    value = (millis << 80) | secrets.randbits(80)
    chars = []
    for _ in range(26):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return f"{prefix}_{''.join(reversed(chars))}"
