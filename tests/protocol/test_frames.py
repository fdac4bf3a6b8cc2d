"""Tests for ``protocol/frames.py``: every frame of both directions, as JSON; round
trips, unknown fields, broken frames and unknown types.
"""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from protocol import frames as f
from tests.protocol.frame_samples import (
    AT,
    DECODERS,
    HUB_SAMPLES,
    RELAY_SAMPLES,
    SAMPLES,
    as_dict,
    decode_any,
    tag,
)

# --- the samples cover every frame type ----------------------------------------


def test_samples_cover_every_frame_type_when_both_directions_are_listed() -> None:
    assert {tag(frame) for frame in RELAY_SAMPLES} == f.RELAY_FRAME_TYPES
    assert {tag(frame) for frame in HUB_SAMPLES} == f.HUB_FRAME_TYPES


def test_subprotocol_names_sms_relay_v1_when_read() -> None:
    assert f.SUBPROTOCOL == "sms-relay.v1"


# --- round trips ---------------------------------------------------------------


@pytest.mark.parametrize("frame", RELAY_SAMPLES, ids=tag)
def test_relay_decoder_round_trips_frame_when_encoded(frame: f.Frame) -> None:
    data = f.encode(frame)
    assert isinstance(data, bytes)
    assert f.decode_relay_frame(data) == frame
    assert f.decode_relay_frame(data.decode()) == frame  # text frames arrive as str


@pytest.mark.parametrize("frame", HUB_SAMPLES, ids=tag)
def test_hub_decoder_round_trips_frame_when_encoded(frame: f.Frame) -> None:
    data = f.encode(frame)
    assert isinstance(data, bytes)
    assert f.decode_hub_frame(data) == frame
    assert f.decode_hub_frame(data.decode()) == frame


@pytest.mark.parametrize("frame", RELAY_SAMPLES + HUB_SAMPLES, ids=tag)
def test_encoder_writes_type_field_when_encoding(frame: f.Frame) -> None:
    data = as_dict(frame)
    assert data["type"] == tag(frame)
    assert next(iter(data)) == "type"


def test_encoder_writes_times_as_rfc3339_utc_when_encoding() -> None:
    assert as_dict(f.Delivered(seq=1, id="m1", at=AT))["at"] == "2024-05-01T12:30:15Z"


def test_relay_decoder_reads_rfc3339_offsets_when_time_is_not_utc() -> None:
    data = as_dict(SAMPLES["delivered"]) | {"at": "2024-05-01T17:30:15+05:00"}
    frame = decode_any(data)
    assert isinstance(frame, f.Delivered)
    assert frame.at == AT


# --- the `from` field of `received` --------------------------------------------


def test_encoder_names_sender_from_when_encoding_received() -> None:
    data = as_dict(f.Received(seq=1, from_="Bank", text="hi", at=AT, sim_slot=0))
    assert data["from"] == "Bank"
    assert "from_" not in data


def test_relay_decoder_reads_from_field_when_decoding_received() -> None:
    raw = (
        b'{"type":"received","seq":9,"from":"+998901234567","text":"hi",'
        b'"at":"2024-05-01T12:30:15Z","sim_slot":0}'
    )
    frame = f.decode_relay_frame(raw)
    assert frame == f.Received(seq=9, from_="+998901234567", text="hi", at=AT, sim_slot=0)


def test_relay_decoder_fails_when_received_uses_python_name_from_() -> None:
    data = as_dict(SAMPLES["received"])
    data["from_"] = data.pop("from")
    with pytest.raises(f.FrameError) as info:
        decode_any(data)
    assert "from" in str(info.value)
    assert info.value.unknown_type is False


# --- unknown fields --------------------------------------------------------------


@pytest.mark.parametrize("frame", RELAY_SAMPLES + HUB_SAMPLES, ids=tag)
def test_decoder_ignores_unknown_fields_when_decoding(frame: f.Frame) -> None:
    data = as_dict(frame) | {"added_in_v2": {"nested": [1, 2, 3]}, "zz": None}
    assert decode_any(data) == frame


def test_relay_decoder_ignores_unknown_fields_when_nested_in_hello() -> None:
    data = as_dict(SAMPLES["hello"])
    data["sims"][0]["esim"] = True
    data["limits"]["parts_per_hour"] = 500
    assert decode_any(data) == SAMPLES["hello"]


# --- broken frames and unknown types -------------------------------------------

BROKEN = [
    pytest.param(b"{bad", id="malformed"),
    pytest.param(b"", id="empty"),
    pytest.param(b'{"type":"accepted","id":"m1"', id="truncated"),
    pytest.param(b'{"type":"accepted","id":"m1"} x', id="trailing_garbage"),
    pytest.param(b"\xff\xfe", id="invalid_utf8_outside_strings"),
    pytest.param(b"[1, 2]", id="array"),
    pytest.param(b'"hello"', id="string"),
    pytest.param(b"42", id="number"),
    pytest.param(b"null", id="null"),
    pytest.param(b"{}", id="no_type"),
    pytest.param(b'{"id":"m1"}', id="no_type_with_fields"),
    pytest.param(b'{"type":null}', id="type_null"),
    pytest.param(b'{"type":5}', id="type_int"),
    pytest.param(b'{"type":["hello"]}', id="type_list"),
]


@pytest.mark.parametrize("decode", DECODERS)
@pytest.mark.parametrize("data", BROKEN)
def test_decoder_fails_without_unknown_type_when_frame_is_broken(decode: Any, data: bytes) -> None:
    with pytest.raises(f.FrameError) as info:
        decode(data)
    assert info.value.unknown_type is False
    assert str(info.value)


@pytest.mark.parametrize(
    ("decode", "data"),
    [
        pytest.param(f.decode_relay_frame, b'{"type":"\xff"}', id="relay_type"),
        pytest.param(f.decode_hub_frame, b'{"type":"\xff"}', id="hub_type"),
        pytest.param(f.decode_relay_frame, b'{"type":"accepted","id":"m\xff"}', id="relay_id"),
        pytest.param(f.decode_hub_frame, b'{"type":"cancel","id":"m\xff"}', id="hub_id"),
    ],
)
def test_decoder_fails_with_frame_error_when_string_is_invalid_utf8(
    decode: Any, data: bytes
) -> None:
    with pytest.raises(f.FrameError) as info:
        decode(data)
    assert info.value.unknown_type is False


@pytest.mark.parametrize("decode", DECODERS)
@pytest.mark.parametrize("frame_type", ["bogus", "", "HELLO", "hello_v2"])
def test_decoder_flags_unknown_type_when_type_is_not_known(decode: Any, frame_type: str) -> None:
    data = msgspec.json.encode({"type": frame_type, "id": "m1"})
    with pytest.raises(f.FrameError) as info:
        decode(data)
    assert info.value.unknown_type is True
    assert repr(frame_type) in str(info.value)


@pytest.mark.parametrize("frame", HUB_SAMPLES, ids=tag)
def test_relay_decoder_flags_unknown_type_when_fed_a_hub_frame(frame: f.Frame) -> None:
    with pytest.raises(f.FrameError) as info:
        f.decode_relay_frame(f.encode(frame))
    assert info.value.unknown_type is True


@pytest.mark.parametrize("frame", RELAY_SAMPLES, ids=tag)
def test_hub_decoder_flags_unknown_type_when_fed_a_relay_frame(frame: f.Frame) -> None:
    with pytest.raises(f.FrameError) as info:
        f.decode_hub_frame(f.encode(frame))
    assert info.value.unknown_type is True


def test_decoder_keeps_unknown_type_false_when_known_type_fails_validation() -> None:
    with pytest.raises(f.FrameError) as info:
        f.decode_relay_frame(b'{"type":"heartbeat","battery":101}')
    assert info.value.unknown_type is False


def test_frame_error_defaults_unknown_type_to_false_when_not_given() -> None:
    assert f.FrameError("x").unknown_type is False
    assert f.FrameError("x", unknown_type=True).unknown_type is True
