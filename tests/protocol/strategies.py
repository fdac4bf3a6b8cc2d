"""Hypothesis strategies for relay protocol frames, derived from the msgspec Structs.

``struct_strategy`` reads a Struct's fields and their constraints through
``msgspec.inspect`` (lengths, ranges, patterns, timezone-aware times, nested
Structs and lists), so a field added to ``protocol/frames.py`` is generated
without touching this file. The hostile side, ``json_values``,
``hostile_text`` and ``mutated_frame_json``, produces what a broken or
malicious peer might send.
"""

from __future__ import annotations

import functools
import json
import typing
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import msgspec
import msgspec.inspect as mi
from hypothesis import strategies as st

from protocol import frames as f

# Strings are kept short (drawing long ones is slow), except that a bounded
# string sometimes takes its longest allowed length: the edge a decoder must
# still accept.
_SHORT = 24
_EDGE_LENGTH_MAX = 1024
_INT64 = 2**63 - 1
_TIMEZONES = (UTC, timezone(timedelta(hours=5)), timezone(-timedelta(hours=3, minutes=30)))


def _int_strategy(t: mi.IntType) -> st.SearchStrategy[int]:
    lo = t.ge if t.ge is not None else (t.gt + 1 if t.gt is not None else -_INT64)
    hi = t.le if t.le is not None else (t.lt - 1 if t.lt is not None else _INT64)
    # Mostly near the lower bound, where seq numbers and counters live.
    return st.integers(lo, min(hi, lo + 50)) | st.integers(lo, hi)


def _str_strategy(t: mi.StrType) -> st.SearchStrategy[str]:
    if t.pattern is not None:
        return st.from_regex(t.pattern)
    lo = t.min_length or 0
    hi = t.max_length if t.max_length is not None else _SHORT
    short = st.text(min_size=lo, max_size=max(lo, min(hi, _SHORT)))
    if hi <= _EDGE_LENGTH_MAX:  # one character repeated: cheap to draw, any width in UTF-8
        return short | st.sampled_from("a\x00\u0436\U0001f600").map(lambda ch: ch * hi)
    return short


def type_strategy(t: mi.Type) -> st.SearchStrategy[Any]:
    """Values of the msgspec type ``t`` that satisfy every constraint it carries."""
    match t:
        case mi.IntType():
            return _int_strategy(t)
        case mi.BoolType():
            return st.booleans()
        case mi.NoneType():
            return st.none()
        case mi.StrType():
            return _str_strategy(t)
        case mi.DateTimeType():
            # The years a frame's time may carry (f.YEAR_MIN..f.YEAR_MAX in UTC),
            # a day inside them so that no offset moves one out.
            return st.datetimes(
                min_value=datetime(f.YEAR_MIN, 1, 2),
                max_value=datetime(f.YEAR_MAX, 12, 30),
                timezones=st.sampled_from(_TIMEZONES),
            )
        case mi.ListType():
            hi = t.max_length if t.max_length is not None else 3
            return st.lists(type_strategy(t.item_type), min_size=t.min_length or 0, max_size=hi)
        case mi.UnionType():
            return st.one_of(*(type_strategy(member) for member in t.types))
        case mi.StructType():
            return _struct_fields_strategy(t)
    raise NotImplementedError(f"no strategy for {t!r}: extend tests/protocol/strategies.py")


def _struct_fields_strategy(t: mi.StructType) -> st.SearchStrategy[Any]:
    fields = {field.name: type_strategy(field.type) for field in t.fields}
    return st.builds(t.cls, **fields)


@functools.cache
def struct_strategy(cls: type[msgspec.Struct]) -> st.SearchStrategy[Any]:
    """Valid instances of the Struct ``cls``, every field drawn within its constraints."""
    info = mi.type_info(cls)
    assert isinstance(info, mi.StructType)
    return _struct_fields_strategy(info)


def union_members(union: Any) -> tuple[type[f.Frame], ...]:
    return typing.get_args(union)


@functools.cache
def frames(union: Any) -> st.SearchStrategy[Any]:
    """Valid frames of any type in ``union`` (``f.RelayFrame`` or ``f.HubFrame``)."""
    return st.one_of(*(struct_strategy(cls) for cls in union_members(union)))


@functools.cache
def frame_fields(cls: type[f.Frame]) -> dict[str, mi.Type]:
    """A frame's fields by their name on the wire."""
    info = mi.type_info(cls)
    assert isinstance(info, mi.StructType)
    return {field.encode_name: field.type for field in info.fields}


# --- what a broken or hostile peer sends ---------------------------------------------


def hostile_text(max_size: int) -> st.SearchStrategy[str]:
    """Any str, lone surrogates included (``st.text()`` leaves those out, whatever its alphabet)."""
    alphabet = st.characters() | st.characters(categories=["Cs"])
    return st.lists(alphabet, max_size=max_size).map("".join)


json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()  # far past 64 bits too
    | st.floats()  # nan and infinity: json.dumps writes them, JSON has no such thing
    | st.text(max_size=_SHORT)
)

json_values: st.SearchStrategy[Any] = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


def dumps(value: Any, ascii_only: bool = False) -> str:
    return json.dumps(value, ensure_ascii=ascii_only)


@st.composite
def mutated_frame_json(draw: st.DrawFn, union: Any) -> str:
    """A valid frame of ``union`` as JSON, then broken in one or more ways."""
    frame = draw(frames(union))
    body: dict[str, Any] = msgspec.to_builtins(frame)
    known_types = sorted(f.RELAY_FRAME_TYPES | f.HUB_FRAME_TYPES)
    for _ in range(draw(st.integers(1, 3))):
        keys = sorted(body) or ["type"]
        match draw(st.sampled_from(["drop", "replace", "add", "retype", "wrap"])):
            case "drop":
                body.pop(draw(st.sampled_from(keys)), None)
            case "replace":
                body[draw(st.sampled_from(keys))] = draw(json_values)
            case "add":
                body[draw(st.text(max_size=8))] = draw(json_values)
            case "retype":
                body["type"] = draw(st.sampled_from(known_types) | st.text(max_size=12))
            case "wrap":  # a frame inside a list: valid JSON, not an object
                return dumps([body])
    return dumps(body, ascii_only=draw(st.booleans()))
