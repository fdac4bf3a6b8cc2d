"""What the frame tests share: one sample of every frame type in each direction,
and small helpers to turn a frame into JSON a test can break.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest

from protocol import frames as f

AT = datetime(2024, 5, 1, 12, 30, 15, tzinfo=UTC)

RELAY_SAMPLES: list[f.Frame] = [
    f.Hello(
        app_version="1.4.0",
        model="Pixel 7",
        os="Android 14",
        sims=[
            f.Sim(slot=0, carrier="Ucell", number="+998901234567"),
            f.Sim(slot=1, carrier="Beeline"),
        ],
        limits=f.Limits(parts_per_minute=30),
    ),
    f.Accepted(id="m1"),
    f.Rejected(id="m1", code="no_sim", message="no SIM in slot 1", retryable=False),
    f.Sent(seq=1, id="m1", at=AT, parts=2, sim_slot=0),
    f.Delivered(seq=2, id="m1", at=AT),
    f.Failed(
        seq=3,
        id="m2",
        at=AT,
        code="radio_off",
        message="airplane mode",
        retryable=True,
        android_result=2,
    ),
    f.Received(seq=4, from_="+998901234567", text="hello hub", at=AT, sim_slot=1),
    f.Heartbeat(battery=87, charging=True, signal=3, network="LTE", queue=2),
]

HUB_SAMPLES: list[f.Frame] = [
    f.Welcome(
        device_id="dev_1",
        session_id="ses_1",
        heartbeat_s=30,
        ack_timeout_s=10,
        max_inflight=4,
        server_time=AT,
    ),
    f.Send(id="m1", to="+998901234567", text="code 1234", expires_at=AT, attempt=1, sim_slot=1),
    f.Cancel(id="m1"),
    f.Receipt(seq=7),
    f.Error(code="unknown_type", message="unknown frame type 'x'"),
]


def tag(frame: f.Frame) -> str:
    """The ``type`` a frame is written with."""
    return str(frame.__struct_config__.tag)


SAMPLES: dict[str, f.Frame] = {tag(frame): frame for frame in RELAY_SAMPLES + HUB_SAMPLES}


def as_dict(frame: f.Frame) -> dict[str, Any]:
    """The JSON object of a frame, ready to be broken by a test."""
    data: dict[str, Any] = msgspec.json.decode(f.encode(frame))
    return data


def decode_any(data: bytes | str | dict[str, Any]) -> object:
    """Decode with the decoder of the frame's own direction."""
    raw = msgspec.json.encode(data) if isinstance(data, dict) else data
    frame_type = data.get("type") if isinstance(data, dict) else None
    if frame_type in f.HUB_FRAME_TYPES:
        return f.decode_hub_frame(raw)
    return f.decode_relay_frame(raw)


def required_fields(cls: type[msgspec.Struct]) -> list[str]:
    return [
        field.encode_name
        for field in msgspec.structs.fields(cls)
        if field.default is msgspec.NODEFAULT and field.default_factory is msgspec.NODEFAULT
    ]


DECODERS = [
    pytest.param(f.decode_relay_frame, id="relay_decoder"),
    pytest.param(f.decode_hub_frame, id="hub_decoder"),
]


def pop_path(data: dict[str, Any], path: tuple[str | int, ...]) -> None:
    target: Any = data
    for key in path[:-1]:
        target = target[key]
    target.pop(path[-1])


def set_path(data: dict[str, Any], path: tuple[str | int, ...], value: object) -> None:
    target: Any = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value


def get_path(obj: object, path: tuple[str | int, ...]) -> object:
    for key in path:
        name = "from_" if key == "from" else key
        obj = obj[key] if isinstance(key, int) else getattr(obj, str(name))  # type: ignore[index]
    return obj
