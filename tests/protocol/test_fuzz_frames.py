"""Hypothesis against ``protocol/frames.py``: the decoders never fail with anything
but ``FrameError``, and every valid frame survives the wire unchanged."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocol import frames as f
from tests.protocol.strategies import (
    dumps,
    frame_fields,
    frames,
    hostile_text,
    json_values,
    mutated_frame_json,
    struct_strategy,
    union_members,
)

Decode = Callable[[bytes | str], object]
DIRECTIONS = [
    pytest.param(f.decode_relay_frame, f.RelayFrame, f.RELAY_FRAME_TYPES, id="relay_to_hub"),
    pytest.param(f.decode_hub_frame, f.HubFrame, f.HUB_FRAME_TYPES, id="hub_to_relay"),
]
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def decode_or_error(decode: Decode, data: bytes | str) -> object:
    """The frame, or the FrameError; any other exception fails the test."""
    try:
        return decode(data)
    except f.FrameError as exc:
        return exc


def assert_frame_of(result: object, union: Any) -> None:
    assert isinstance(result, (f.FrameError, *union_members(union))), result


# --- no exception but FrameError, whatever arrives -----------------------------------


@pytest.mark.parametrize(("decode", "union", "known"), DIRECTIONS)
@FUZZ
@given(data=st.binary(max_size=256))
def test_decoder_raises_only_frame_error_when_fed_arbitrary_bytes(
    decode: Decode, union: Any, known: frozenset[str], data: bytes
) -> None:
    assert_frame_of(decode_or_error(decode, data), union)


@pytest.mark.parametrize(("decode", "union", "known"), DIRECTIONS)
@FUZZ
@given(data=hostile_text(max_size=128))
def test_decoder_raises_only_frame_error_when_fed_arbitrary_text_with_lone_surrogates(
    decode: Decode, union: Any, known: frozenset[str], data: str
) -> None:
    assert_frame_of(decode_or_error(decode, data), union)


@pytest.mark.parametrize(("decode", "union", "known"), DIRECTIONS)
@FUZZ
@given(value=json_values, ascii_only=st.booleans())
def test_decoder_raises_only_frame_error_when_fed_arbitrary_json(
    decode: Decode, union: Any, known: frozenset[str], value: Any, ascii_only: bool
) -> None:
    result = decode_or_error(decode, dumps(value, ascii_only))
    assert_frame_of(result, union)
    if not isinstance(value, dict):
        assert isinstance(result, f.FrameError) and not result.unknown_type


@pytest.mark.parametrize(("decode", "union", "known"), DIRECTIONS)
@FUZZ
@given(data=st.data())
def test_decoder_flags_unknown_type_only_when_type_is_an_unknown_string(
    decode: Decode, union: Any, known: frozenset[str], data: st.DataObject
) -> None:
    text = data.draw(mutated_frame_json(union))
    result = decode_or_error(decode, text)
    assert_frame_of(result, union)
    try:
        body = json.loads(text, parse_constant=_refuse)
    except ValueError:  # NaN or Infinity: not JSON, so not a frame of any type
        body = None
    if isinstance(body, dict) and isinstance(body.get("type"), str) and body["type"] not in known:
        assert isinstance(result, f.FrameError) and result.unknown_type
    elif isinstance(result, f.FrameError):
        assert not result.unknown_type


def _refuse(constant: str) -> None:
    raise ValueError(constant)


@pytest.mark.parametrize(("decode", "union", "known"), DIRECTIONS)
@pytest.mark.parametrize("depth", [2_000, 30_000])
@pytest.mark.parametrize(
    "template",
    [
        "{open}",  # nothing but brackets, never closed
        "{open}{close}",
        '{{"type":"{tag}","extra":{open}{close}}}',  # an unknown field to skip
        '{{"extra":{open}{close},"type":"{tag}"}}',  # deep before the tag
        '{{"type":"no_such_type","extra":{open}{close}}}',
        '{{"type":{open}{close}}}',
    ],
)
def test_decoder_fails_with_frame_error_when_json_is_nested_deeply(
    decode: Decode, union: Any, known: frozenset[str], depth: int, template: str
) -> None:
    tag = sorted(known)[0]
    text = template.format(open="[" * depth, close="]" * depth, tag=tag)
    with pytest.raises(f.FrameError) as error:
        decode(text)
    assert not error.value.unknown_type


@pytest.mark.parametrize(("decode", "union", "known"), DIRECTIONS)
def test_decoder_fails_with_frame_error_when_str_has_lone_surrogate(
    decode: Decode, union: Any, known: frozenset[str]
) -> None:
    with pytest.raises(f.FrameError, match="not valid UTF-8"):
        decode('{"type":"' + sorted(known)[0] + '\ud800"}')


@pytest.mark.parametrize(("decode", "union", "known"), DIRECTIONS)
@FUZZ
@given(name=st.text(min_size=41, max_size=20_000))
def test_decoder_quotes_only_the_start_of_an_unknown_type_when_it_is_long(
    decode: Decode, union: Any, known: frozenset[str], name: str
) -> None:
    with pytest.raises(f.FrameError) as error:
        decode(dumps({"type": name}))
    assert error.value.unknown_type
    # repr() writes a character as at most 10 (\\U0001f600); 40 of them are quoted.
    assert len(str(error.value)) <= len("unknown frame type ''") + 10 * 40


# --- valid frames --------------------------------------------------------------------


@pytest.mark.parametrize(("decode", "union", "known"), DIRECTIONS)
@FUZZ
@given(data=st.data())
def test_decoder_round_trips_every_generated_frame_when_encoded(
    decode: Decode, union: Any, known: frozenset[str], data: st.DataObject
) -> None:
    frame = data.draw(frames(union))
    assert decode(f.encode(frame)) == frame
    assert decode(f.encode(frame).decode()) == frame  # str, as a WebSocket library hands it


@pytest.mark.parametrize(("decode", "union", "known"), DIRECTIONS)
@FUZZ
@given(data=st.data())
def test_decoder_ignores_unknown_fields_whatever_they_hold(
    decode: Decode, union: Any, known: frozenset[str], data: st.DataObject
) -> None:
    frame = data.draw(frames(union))
    body: dict[str, Any] = msgspec.to_builtins(frame)
    own = set(frame_fields(type(frame))) | {"type"}
    extra = data.draw(
        st.dictionaries(st.text(max_size=10).filter(lambda k: k not in own), json_values)
    )
    text = dumps({**body, **extra})
    if "NaN" in text or "Infinity" in text:  # not JSON at all: covered above
        return
    assert decode(text) == frame


@pytest.mark.parametrize("cls", [*union_members(f.RelayFrame), *union_members(f.HubFrame)])
@settings(max_examples=20, deadline=None)
@given(data=st.data())
def test_strategy_builds_frames_the_decoder_accepts_for_every_frame_type(
    cls: type[f.Frame], data: st.DataObject
) -> None:
    frame = data.draw(struct_strategy(cls))
    decode = f.decode_relay_frame if cls in union_members(f.RelayFrame) else f.decode_hub_frame
    assert decode(f.encode(frame)) == frame
