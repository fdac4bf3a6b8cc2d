"""Tests for ``protocol/frames.py``: every frame of both directions, as JSON."""

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


# --- optional fields -------------------------------------------------------------

OPTIONAL_FIELDS = [
    pytest.param("send", ("sim_slot",), id="send.sim_slot"),
    pytest.param("failed", ("android_result",), id="failed.android_result"),
    pytest.param("hello", ("sims", 0, "number"), id="hello.sims.number"),
]


def _pop_path(data: dict[str, Any], path: tuple[str | int, ...]) -> None:
    target: Any = data
    for key in path[:-1]:
        target = target[key]
    target.pop(path[-1])


def _set_path(data: dict[str, Any], path: tuple[str | int, ...], value: object) -> None:
    target: Any = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value


def _get_path(obj: object, path: tuple[str | int, ...]) -> object:
    for key in path:
        name = "from_" if key == "from" else key
        obj = obj[key] if isinstance(key, int) else getattr(obj, str(name))  # type: ignore[index]
    return obj


@pytest.mark.parametrize(("frame_type", "path"), OPTIONAL_FIELDS)
def test_decoder_reads_none_when_optional_field_is_omitted(
    frame_type: str, path: tuple[str | int, ...]
) -> None:
    data = as_dict(SAMPLES[frame_type])
    _pop_path(data, path)
    assert _get_path(decode_any(data), path) is None


@pytest.mark.parametrize(("frame_type", "path"), OPTIONAL_FIELDS)
def test_decoder_reads_none_when_optional_field_is_null(
    frame_type: str, path: tuple[str | int, ...]
) -> None:
    data = as_dict(SAMPLES[frame_type])
    _set_path(data, path, None)
    assert _get_path(decode_any(data), path) is None


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
    _pop_path(data, path)
    with pytest.raises(f.FrameError) as info:
        decode_any(data)
    assert f"missing required field `{path[-1]}`" in str(info.value)
    assert info.value.unknown_type is False


@pytest.mark.parametrize(("frame_type", "path"), REQUIRED_CASES)
def test_decoder_fails_when_required_field_is_null(
    frame_type: str, path: tuple[str | int, ...]
) -> None:
    data = as_dict(SAMPLES[frame_type])
    _set_path(data, path, None)
    with pytest.raises(f.FrameError) as info:
        decode_any(data)
    assert info.value.unknown_type is False


# --- out-of-range and badly shaped values --------------------------------------

REPORT_TYPES = ("sent", "delivered", "failed", "received")
TIMESTAMP_FIELDS = [
    ("sent", "at"),
    ("delivered", "at"),
    ("failed", "at"),
    ("received", "at"),
    ("welcome", "server_time"),
    ("send", "expires_at"),
]
SLOT_FIELDS = [
    ("sent", ("sim_slot",)),
    ("received", ("sim_slot",)),
    ("send", ("sim_slot",)),
    ("hello", ("sims", 0, "slot")),
]
BAD_E164 = [
    "998901234567",  # no plus
    "+0998901234567",  # country code starts with 0
    "+123456",  # too short
    "+1234567890123456",  # 16 digits
    "+99890 1234567",  # space
    "+99890-123-4567",  # dashes
    "+99890123456a",  # letter
    "++998901234567",
    "+",
    "",
    "tel:+998901234567",
]

OUT_OF_RANGE = [
    pytest.param("heartbeat", ("battery",), 101, id="battery=101"),
    pytest.param("heartbeat", ("battery",), -1, id="battery=-1"),
    pytest.param("heartbeat", ("signal",), 5, id="signal=5"),
    pytest.param("heartbeat", ("signal",), -1, id="signal=-1"),
    pytest.param("heartbeat", ("queue",), -1, id="queue=-1"),
    pytest.param("heartbeat", ("charging",), "yes", id="charging=str"),
    pytest.param("heartbeat", ("battery",), 50.5, id="battery=float"),
    *[pytest.param(t, ("seq",), 0, id=f"{t}.seq=0") for t in REPORT_TYPES],
    *[pytest.param(t, ("seq",), -3, id=f"{t}.seq=-3") for t in REPORT_TYPES],
    pytest.param("receipt", ("seq",), 0, id="receipt.seq=0"),
    *[pytest.param(t, p, -1, id=f"{t}.{p[-1]}=-1") for t, p in SLOT_FIELDS],
    *[pytest.param(t, p, 8, id=f"{t}.{p[-1]}=8") for t, p in SLOT_FIELDS],
    *[pytest.param("send", ("to",), bad, id=f"send.to={bad!r}") for bad in BAD_E164],
    pytest.param("hello", ("sims", 0, "number"), "998901234567", id="sim.number=no_plus"),
    *[
        pytest.param(t, (name,), "2024-05-01T12:30:15", id=f"{t}.{name}=naive")
        for t, name in TIMESTAMP_FIELDS
    ],
    *[
        pytest.param(t, (name,), "yesterday", id=f"{t}.{name}=not_a_time")
        for t, name in TIMESTAMP_FIELDS
    ],
    pytest.param("sent", ("parts",), 0, id="parts=0"),
    pytest.param("sent", ("parts",), 256, id="parts=256"),
    pytest.param("accepted", ("id",), "", id="id=empty"),
    pytest.param("accepted", ("id",), "x" * 65, id="id=65chars"),
    pytest.param("accepted", ("id",), 12, id="id=int"),
    pytest.param("rejected", ("code",), "", id="code=empty"),
    pytest.param("rejected", ("retryable",), 1, id="retryable=int"),
    pytest.param("rejected", ("message",), "x" * 1025, id="message=1025chars"),
    pytest.param("failed", ("android_result",), "4", id="android_result=str"),
    pytest.param("received", ("from",), "", id="from=empty"),
    pytest.param("received", ("from",), "x" * 33, id="from=33chars"),
    pytest.param("received", ("text",), "", id="received.text=empty"),
    pytest.param("send", ("text",), "", id="send.text=empty"),
    pytest.param("send", ("text",), "x" * 10_001, id="send.text=10001chars"),
    pytest.param("send", ("attempt",), 0, id="attempt=0"),
    pytest.param("welcome", ("heartbeat_s",), 0, id="heartbeat_s=0"),
    pytest.param("welcome", ("ack_timeout_s",), 0, id="ack_timeout_s=0"),
    pytest.param("welcome", ("max_inflight",), 0, id="max_inflight=0"),
    pytest.param("hello", ("limits", "parts_per_minute"), 0, id="parts_per_minute=0"),
    pytest.param("hello", ("limits", "parts_per_minute"), 10_001, id="parts_per_minute=10001"),
    pytest.param(
        "hello", ("sims",), [{"slot": i, "carrier": "c"} for i in range(8)] * 2, id="sims=16"
    ),
    pytest.param("hello", ("sims",), {"slot": 0, "carrier": "c"}, id="sims=object"),
    pytest.param("error", ("code",), "", id="error.code=empty"),
    # Integers past what JSON holds exactly or SQLite stores (issue 16: seq 2^63
    # failed the write and fenced the hub; 2^63 - 1 blocked the device's reports).
    *[pytest.param(t, ("seq",), 2**53, id=f"{t}.seq=2^53") for t in REPORT_TYPES],
    *[pytest.param(t, ("seq",), 2**63, id=f"{t}.seq=2^63") for t in REPORT_TYPES],
    *[pytest.param(t, ("seq",), 2**63 - 1, id=f"{t}.seq=2^63-1") for t in REPORT_TYPES],
    pytest.param("received", ("seq",), 2**64 + 5, id="seq=2^64+5"),
    pytest.param("receipt", ("seq",), 2**53, id="receipt.seq=2^53"),
    pytest.param("heartbeat", ("queue",), f.QUEUE_MAX + 1, id="queue=max+1"),
    pytest.param("heartbeat", ("queue",), 2**63, id="queue=2^63"),
    pytest.param("heartbeat", ("battery",), 2**63, id="battery=2^63"),
    pytest.param("failed", ("android_result",), 2**31, id="android_result=2^31"),
    pytest.param("failed", ("android_result",), -(2**31) - 1, id="android_result=-2^31-1"),
    pytest.param("send", ("attempt",), 2**53, id="attempt=2^53"),
    pytest.param("welcome", ("max_inflight",), 2**53, id="max_inflight=2^53"),
    # Ids and codes reach logs: printable, no spaces or line breaks (finding 8).
    *[
        pytest.param(t, ("id",), bad, id=f"{t}.id={bad!r}")
        for t in ("accepted", "rejected", "sent", "delivered", "failed")
        for bad in ("req_1\nINFO: forged", "req 1", "req_1\x00", "req_1\r", "req_\u0436")
    ],
    *[
        pytest.param(t, ("code",), bad, id=f"{t}.code={bad!r}")
        for t in ("rejected", "failed")
        for bad in ("no_sim\nforged", "no sim", "no_sim\t", "\u0436")
    ],
]


@pytest.mark.parametrize(("frame_type", "path", "value"), OUT_OF_RANGE)
def test_decoder_fails_when_value_is_out_of_range(
    frame_type: str, path: tuple[str | int, ...], value: object
) -> None:
    data = as_dict(SAMPLES[frame_type])
    _set_path(data, path, value)
    with pytest.raises(f.FrameError) as info:
        decode_any(data)
    assert info.value.unknown_type is False
    assert f"`$.{path[0]}" in str(info.value)


IN_RANGE = [
    pytest.param("heartbeat", ("battery",), 0, id="battery=0"),
    pytest.param("heartbeat", ("battery",), 100, id="battery=100"),
    pytest.param("heartbeat", ("signal",), 0, id="signal=0"),
    pytest.param("heartbeat", ("signal",), 4, id="signal=4"),
    pytest.param("sent", ("seq",), 1, id="seq=1"),
    pytest.param("sent", ("sim_slot",), 7, id="sim_slot=7"),
    pytest.param("send", ("sim_slot",), 0, id="send.sim_slot=0"),
    pytest.param("send", ("to",), "+1234567", id="to=7digits"),
    pytest.param("send", ("to",), "+123456789012345", id="to=15digits"),
    pytest.param("accepted", ("id",), "x" * 64, id="id=64chars"),
    pytest.param("received", ("from",), "BANK-UZ", id="from=alphanumeric"),
    pytest.param("sent", ("parts",), 255, id="parts=255"),
    pytest.param("rejected", ("message",), "", id="message=empty"),
    pytest.param("failed", ("android_result",), -1, id="android_result=-1"),
    *[pytest.param(t, ("seq",), f.JSON_SAFE_MAX, id=f"{t}.seq=2^53-1") for t in REPORT_TYPES],
    pytest.param("receipt", ("seq",), f.JSON_SAFE_MAX, id="receipt.seq=2^53-1"),
    pytest.param("heartbeat", ("queue",), f.QUEUE_MAX, id="queue=max"),
    pytest.param("failed", ("android_result",), 2**31 - 1, id="android_result=2^31-1"),
    pytest.param("failed", ("android_result",), -(2**31), id="android_result=-2^31"),
    pytest.param("accepted", ("id",), "req_01HX:a.b-C", id="id=every_allowed_sign"),
    pytest.param("rejected", ("code",), "no_sim", id="code=no_sim"),
    pytest.param("failed", ("code",), "RESULT_ERROR_GENERIC_FAILURE", id="code=android_name"),
]


@pytest.mark.parametrize(("frame_type", "path", "value"), IN_RANGE)
def test_decoder_accepts_value_when_it_is_on_the_edge_of_its_range(
    frame_type: str, path: tuple[str | int, ...], value: object
) -> None:
    data = as_dict(SAMPLES[frame_type])
    _set_path(data, path, value)
    assert _get_path(decode_any(data), path) == value


@pytest.mark.parametrize("frame_type", REPORT_TYPES)
@pytest.mark.parametrize(
    ("at", "year"), [("1970-01-01T00:00:00Z", 1970), ("9999-12-31T23:59:59Z", 9999)]
)
def test_decoder_accepts_report_time_when_it_is_on_the_edge_of_its_years(
    frame_type: str, at: str, year: int
) -> None:
    data = as_dict(SAMPLES[frame_type])
    data["at"] = at
    assert decode_any(data).at.year == year


TIME_OUT_OF_RANGE = [
    "1969-12-31T23:59:59Z",  # before the floor a reset phone clock gives
    "0001-01-01T00:00:00+14:00",  # no UTC time: converting it overflowed
    "9999-12-31T23:00:00-14:00",  # in UTC it is in year 10000
]


@pytest.mark.parametrize("frame_type", REPORT_TYPES)
@pytest.mark.parametrize("at", TIME_OUT_OF_RANGE)
def test_decoder_fails_when_report_time_has_no_storable_utc_value(frame_type: str, at: str) -> None:
    # Regression (issue 16): such a time decoded, then failed its conversion to
    # UTC in the hub's handler.
    data = as_dict(SAMPLES[frame_type])
    data["at"] = at
    with pytest.raises(f.FrameError) as info:
        decode_any(data)
    assert info.value.unknown_type is False
    assert "`at` must be a time from 1970 to 9999" in str(info.value)


@pytest.mark.parametrize(
    ("frame_type", "path"),
    [
        pytest.param("send", ("to",), id="send.to"),
        pytest.param("hello", ("sims", 0, "number"), id="sim.number"),
    ],
)
def test_decoder_fails_when_phone_number_ends_with_newline(
    frame_type: str, path: tuple[str | int, ...]
) -> None:
    data = as_dict(SAMPLES[frame_type])
    _set_path(data, path, "+998901234567\n")
    with pytest.raises(f.FrameError):
        decode_any(data)


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
