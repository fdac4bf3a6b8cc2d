"""Issue 16, finding 13: an id seen must not tell the ids made after it.

The attack: ids drawn from a Mersenne Twister expose its outputs, and each
output follows from three earlier ones (untempered). Read a run of ids, predict
the random bits of the next, and compare.
"""

from __future__ import annotations

from datetime import UTC, datetime

from hub.ids import new_id

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
NOW = datetime(2026, 3, 14, 15, 9, 26, tzinfo=UTC)
MASK32 = 0xFFFFFFFF


def random_bits(identifier: str) -> int:
    value = 0
    for char in identifier.split("_", 1)[1]:
        value = value * 32 + CROCKFORD.index(char)
    return value & ((1 << 80) - 1)


def untemper(y: int) -> int:
    """The generator's state word behind one 32-bit output."""
    y ^= y >> 18
    y ^= (y << 15) & 0xEFC60000
    x = y
    for _ in range(5):
        x = y ^ ((x << 7) & 0x9D2C5680)
    y = x & MASK32
    x = y
    for _ in range(3):
        x = y ^ (x >> 11)
    return x & MASK32


def temper(y: int) -> int:
    y ^= y >> 11
    y ^= (y << 7) & 0x9D2C5680
    y ^= (y << 15) & 0xEFC60000
    return (y ^ (y >> 18)) & MASK32


def predicted_low_word(ids: list[str]) -> int:
    """The low 32 random bits of the id after ``ids``, if a Mersenne Twister drew them.

    getrandbits(80) takes three outputs per id, lowest first: output n = 3k
    (the low word of id k) follows from outputs n-624, n-623 and n-227, which
    are full low or middle words of earlier ids.
    """
    state: dict[int, int] = {}
    for k, identifier in enumerate(ids):
        bits = random_bits(identifier)
        state[3 * k] = untemper(bits & MASK32)
        state[3 * k + 1] = untemper((bits >> 32) & MASK32)
    n = 3 * len(ids)
    y = (state[n - 624] & 0x80000000) | (state[n - 623] & 0x7FFFFFFF)
    word = state[n - 227] ^ (y >> 1) ^ (0x9908B0DF if y & 1 else 0)
    return temper(word)


def test_the_next_id_cannot_be_predicted_from_the_ids_before_it() -> None:
    hits = 0
    for _ in range(5):
        seen = [new_id("req", NOW) for _ in range(300)]
        following = new_id("req", NOW)
        hits += predicted_low_word(seen) == random_bits(following) & MASK32

    assert hits == 0  # by chance: 5 in 2**32
