"""Tests for ``protocol/frames.py``: which fields each frame has, as the tables of
PROTOCOL.md say, and what a missing, null or omitted one means.
"""

from __future__ import annotations

import msgspec
import pytest

from protocol import frames as f
from tests.protocol.frame_samples import (
    AT,
    HUB_SAMPLES,
    RELAY_SAMPLES,
    SAMPLES,
    as_dict,
    decode_any,
    get_path,
    pop_path,
    required_fields,
    set_path,
    tag,
)

# --- optional fields -------------------------------------------------------------

OPTIONAL_FIELDS = [
    pytest.param("send", ("sim_slot",), id="send.sim_slot"),
    pytest.param("failed", ("android_result",), id="failed.android_result"),
    pytest.param("hello", ("sims", 0, "number"), id="hello.sims.number"),
]


@pytest.mark.parametrize(("frame_type", "path"), OPTIONAL_FIELDS)
def test_decoder_reads_none_when_optional_field_is_omitted(
    frame_type: str, path: tuple[str | int, ...]
) -> None:
    data = as_dict(SAMPLES[frame_type])
    pop_path(data, path)
    assert get_path(decode_any(data), path) is None


@pytest.mark.parametrize(("frame_type", "path"), OPTIONAL_FIELDS)
def test_decoder_reads_none_when_optional_field_is_null(
    frame_type: str, path: tuple[str | int, ...]
) -> None:
    data = as_dict(SAMPLES[frame_type])
    set_path(data, path, None)
    assert get_path(decode_any(data), path) is None


def test_encoder_omits_optional_fields_when_they_are_none() -> None:
    send = as_dict(f.Send(id="m1", to="+998901234567", text="t", expires_at=AT, attempt=1))
    failed = as_dict(f.Failed(seq=1, id="m1", at=AT, code="generic", message="", retryable=False))
    sim = msgspec.json.decode(msgspec.json.encode(f.Sim(slot=0, carrier="Ucell")))
    assert "sim_slot" not in send
    assert "android_result" not in failed
    assert sim == {"slot": 0, "carrier": "Ucell"}


def test_relay_decoder_reads_hello_when_it_has_no_sims() -> None:
    data = as_dict(SAMPLES["hello"]) | {"sims": []}
    frame = decode_any(data)
    assert isinstance(frame, f.Hello)
    assert frame.sims == []


# --- required fields -------------------------------------------------------------

REQUIRED_CASES = [
    *[
        pytest.param(tag(frame), (name,), id=f"{tag(frame)}.{name}")
        for frame in RELAY_SAMPLES + HUB_SAMPLES
        for name in required_fields(type(frame))
    ],
    *[pytest.param("hello", ("sims", 0, n), id=f"sims.{n}") for n in required_fields(f.Sim)],
    *[pytest.param("hello", ("limits", n), id=f"limits.{n}") for n in required_fields(f.Limits)],
]


# The tables of PROTOCOL.md: (required fields, optional `?` fields) of every frame.
PROTOCOL_TABLE: dict[type[msgspec.Struct], tuple[list[str], list[str]]] = {
    f.Hello: (["app_version", "model", "os", "sims", "limits"], []),
    f.Sim: (["slot", "carrier"], ["number"]),
    f.Limits: (["parts_per_minute"], []),
    f.Accepted: (["id"], []),
    f.Rejected: (["id", "code", "message", "retryable"], []),
    f.Sent: (["seq", "id", "at", "parts", "sim_slot"], []),
    f.Delivered: (["seq", "id", "at"], []),
    f.Failed: (["seq", "id", "at", "code", "message", "retryable"], ["android_result"]),
    f.Received: (["seq", "from", "text", "at", "sim_slot"], []),
    f.Heartbeat: (["battery", "charging", "signal", "network", "queue"], []),
    f.Welcome: (
        [
            *("device_id", "session_id", "heartbeat_s"),
            *("ack_timeout_s", "max_inflight", "server_time"),
        ],
        [],
    ),
    f.Send: (["id", "to", "text", "expires_at", "attempt"], ["sim_slot"]),
    f.Cancel: (["id"], []),
    f.Receipt: (["seq"], []),
    f.Error: (["code", "message"], []),
}


@pytest.mark.parametrize("cls", PROTOCOL_TABLE, ids=lambda cls: cls.__name__)
def test_frame_has_the_fields_of_the_protocol_table_when_defined(
    cls: type[msgspec.Struct],
) -> None:
    required, optional = PROTOCOL_TABLE[cls]
    names = [field.encode_name for field in msgspec.structs.fields(cls)]
    assert required_fields(cls) == required
    assert sorted(names) == sorted(required + optional)
    for field in msgspec.structs.fields(cls):
        if field.encode_name in optional:
            assert field.default is None


def test_required_cases_cover_every_required_field_of_the_protocol_table() -> None:
    assert len(REQUIRED_CASES) == sum(len(req) for req, _ in PROTOCOL_TABLE.values())


@pytest.mark.parametrize(("frame_type", "path"), REQUIRED_CASES)
def test_decoder_fails_when_required_field_is_missing(
    frame_type: str, path: tuple[str | int, ...]
) -> None:
    data = as_dict(SAMPLES[frame_type])
    pop_path(data, path)
    with pytest.raises(f.FrameError) as info:
        decode_any(data)
    assert f"missing required field `{path[-1]}`" in str(info.value)
    assert info.value.unknown_type is False


@pytest.mark.parametrize(("frame_type", "path"), REQUIRED_CASES)
def test_decoder_fails_when_required_field_is_null(
    frame_type: str, path: tuple[str | int, ...]
) -> None:
    data = as_dict(SAMPLES[frame_type])
    set_path(data, path, None)
    with pytest.raises(f.FrameError) as info:
        decode_any(data)
    assert info.value.unknown_type is False
