"""Opaque, time-sortable ids with a type prefix (``req_``, ``dev_``, ``tok_`` …).

ULID layout: 48 bits of milliseconds then 80 random bits, in Crockford base32,
so ids sort by creation time and cursors can page by id. The random bits come
from the OS (``secrets``): an id seen once must not let anyone work out the
ids made before or after it.
"""

from __future__ import annotations

import base64
import secrets
from datetime import UTC, datetime, timedelta

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford's base32
_TO_CROCKFORD = bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", _ALPHABET.encode())
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


def new_id(prefix: str, now: datetime) -> str:
    # Lookups are scoped by account, but an id is also a name a client may hand
    # around: a Mersenne Twister's next outputs follow from 624 seen ones.
    return _encode(prefix, (_millis(now) << 80) | secrets.randbits(80))


def floor_id(prefix: str, moment: datetime) -> str:
    """The smallest id of that prefix made at ``moment``: ids made before it sort lower."""
    return _encode(prefix, _millis(moment) << 80)


def _millis(moment: datetime) -> int:
    # Integer arithmetic: float seconds times 1000 can round down to the previous ms.
    return (moment - _EPOCH) // _MS


def _encode(prefix: str, value: int) -> str:
    # 26 base32 digits hold 130 bits: encode 160 bits (32 digits) with the C
    # codec and drop the 6 leading digits, always zero. A loop of 26 Python
    # steps cost more than the rest of a send's validation.
    digits = base64.b32encode(value.to_bytes(20, "big")).translate(_TO_CROCKFORD)
    return f"{prefix}_{digits[6:].decode()}"
