"""Every frame of relay protocol v1 as a msgspec Struct.

Frames are JSON objects tagged by their ``type`` field. Relay → hub frames form
the ``RelayFrame`` union, hub → relay frames the ``HubFrame`` union; each
direction has one decoder. Unknown fields are ignored and every field added
later must have a default, so old and new peers keep talking.

Value checks live in the type annotations (``Meta``) so that a frame that
breaks them fails decoding as a whole: the caller never sees half a frame.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Final, TypeVar

import msgspec
from msgspec import Meta

SUBPROTOCOL: Final = "sms-relay.v1"

# Field shapes shared by several frames. Every integer has an upper bound a
# JSON number holds exactly (2^53 - 1) and SQLite stores, so nothing a frame
# carries can fail a write or a conversion after it decoded: a value outside
# its range fails the whole frame (the hub closes that one socket with 1007).
JSON_SAFE_MAX: Final = 2**53 - 1
ID_MAX: Final = 64
# Ids and codes reach logs and the dashboard: printable ASCII only, no spaces
# or line breaks, so a relay cannot forge a log line with one.
ID_PATTERN: Final = r"^[A-Za-z0-9_.:-]+\Z"
CODE_PATTERN: Final = r"^[\x21-\x7e]+\Z"
Id = Annotated[str, Meta(min_length=1, max_length=ID_MAX, pattern=ID_PATTERN)]
Seq = Annotated[int, Meta(ge=1, le=JSON_SAFE_MAX)]
Slot = Annotated[int, Meta(ge=0, le=7)]
Timestamp = Annotated[datetime, Meta(tz=True)]
# Android result codes are Java ints.
AndroidResult = Annotated[int, Meta(ge=-(2**31), le=2**31 - 1)]
QUEUE_MAX: Final = 1_000_000
# A relay's time must be one the hub can turn into UTC and store: a phone with a
# reset clock says 1970, so that is the floor.
YEAR_MIN: Final = 1970
YEAR_MAX: Final = 9999
CODE_MAX: Final = 64
SHORT_TEXT_MAX: Final = 1024
Code = Annotated[str, Meta(min_length=1, max_length=CODE_MAX, pattern=CODE_PATTERN)]
ShortText = Annotated[str, Meta(max_length=SHORT_TEXT_MAX)]
# \Z, not $: msgspec searches the pattern, and $ would let a trailing newline in.
Phone = Annotated[str, Meta(pattern=r"^\+[1-9][0-9]{6,14}\Z")]
SmsText = Annotated[str, Meta(min_length=1, max_length=10_000)]
Seconds = Annotated[int, Meta(ge=1, le=JSON_SAFE_MAX)]


def _check_time(at: datetime) -> None:
    """Raise ValueError (a validation error on decode) for a time out of range."""
    try:
        year = at.astimezone(UTC).year
    except OverflowError:
        year = 0
    if not YEAR_MIN <= year <= YEAR_MAX:
        raise ValueError(f"`at` must be a time from {YEAR_MIN} to {YEAR_MAX} in UTC")


class Frame(msgspec.Struct, tag_field="type", omit_defaults=True):
    """Base of every frame; the subclass name's tag is the ``type`` field."""


# --- relay → hub -------------------------------------------------------------


class Sim(msgspec.Struct, frozen=True, omit_defaults=True):
    slot: Slot
    carrier: ShortText
    number: Phone | None = None


class Limits(msgspec.Struct, frozen=True, omit_defaults=True):
    parts_per_minute: Annotated[int, Meta(ge=1, le=10_000)]


class Hello(Frame, tag="hello"):
    app_version: ShortText
    model: ShortText
    os: ShortText
    sims: Annotated[list[Sim], Meta(max_length=8)]
    limits: Limits


class Accepted(Frame, tag="accepted"):
    id: Id


class Rejected(Frame, tag="rejected"):
    id: Id
    code: Code
    message: ShortText
    retryable: bool


class Sent(Frame, tag="sent"):
    seq: Seq
    id: Id
    at: Timestamp
    parts: Annotated[int, Meta(ge=1, le=255)]
    sim_slot: Slot

    def __post_init__(self) -> None:
        _check_time(self.at)


class Delivered(Frame, tag="delivered"):
    seq: Seq
    id: Id
    at: Timestamp

    def __post_init__(self) -> None:
        _check_time(self.at)


class Failed(Frame, tag="failed"):
    seq: Seq
    id: Id
    at: Timestamp
    code: Code
    message: ShortText
    retryable: bool
    android_result: AndroidResult | None = None

    def __post_init__(self) -> None:
        _check_time(self.at)


class Received(Frame, tag="received"):
    seq: Seq
    from_: Annotated[str, Meta(min_length=1, max_length=32)] = msgspec.field(name="from")
    text: SmsText
    at: Timestamp
    sim_slot: Slot

    def __post_init__(self) -> None:
        _check_time(self.at)


class Heartbeat(Frame, tag="heartbeat"):
    battery: Annotated[int, Meta(ge=0, le=100)]
    charging: bool
    signal: Annotated[int, Meta(ge=0, le=4)]
    network: ShortText
    queue: Annotated[int, Meta(ge=0, le=QUEUE_MAX)]


# --- hub → relay -------------------------------------------------------------


class Welcome(Frame, tag="welcome"):
    device_id: Id
    session_id: Id
    heartbeat_s: Seconds
    ack_timeout_s: Seconds
    max_inflight: Annotated[int, Meta(ge=1, le=JSON_SAFE_MAX)]
    server_time: Timestamp


class Send(Frame, tag="send"):
    id: Id
    to: Phone
    text: SmsText
    expires_at: Timestamp
    attempt: Annotated[int, Meta(ge=1, le=JSON_SAFE_MAX)]
    sim_slot: Slot | None = None


class Cancel(Frame, tag="cancel"):
    id: Id


class Receipt(Frame, tag="receipt"):
    seq: Seq


class Error(Frame, tag="error"):
    code: Code
    message: ShortText


# Reports carry a seq: the relay keeps them in its outbox until a receipt covers them.
Report = Sent | Delivered | Failed | Received
MessageReport = Sent | Delivered | Failed
RelayFrame = Hello | Accepted | Rejected | Sent | Delivered | Failed | Received | Heartbeat
HubFrame = Welcome | Send | Cancel | Receipt | Error

RELAY_FRAME_TYPES: Final = frozenset(
    ("hello", "accepted", "rejected", "sent", "delivered", "failed", "received", "heartbeat")
)
HUB_FRAME_TYPES: Final = frozenset(("welcome", "send", "cancel", "receipt", "error"))

_encoder = msgspec.json.Encoder()
relay_frame_decoder: Final = msgspec.json.Decoder(RelayFrame)
hub_frame_decoder: Final = msgspec.json.Decoder(HubFrame)


class _Envelope(msgspec.Struct):
    type: object = None


_envelope_decoder = msgspec.json.Decoder(_Envelope)
_QUOTED_TYPE_MAX: Final = 40


def encode(frame: Frame) -> bytes:
    """Serialise a frame to the UTF-8 JSON bytes of one text frame."""
    return _encoder.encode(frame)


class FrameError(Exception):
    """A frame from the peer could not be used.

    ``unknown_type`` is True when the JSON was a well-formed object whose
    ``type`` this side does not know: the protocol answers that with an
    ``error`` frame instead of closing the socket.
    """

    def __init__(self, message: str, *, unknown_type: bool = False) -> None:
        super().__init__(message)
        self.unknown_type = unknown_type


_T = TypeVar("_T")


def _decode(data: bytes | str, decoder: msgspec.json.Decoder[_T], known: frozenset[str]) -> _T:
    try:
        return decoder.decode(data)
    except (UnicodeDecodeError, UnicodeEncodeError) as exc:
        # Invalid UTF-8 inside a JSON string, or a str holding lone surrogates.
        raise FrameError(f"frame is not valid UTF-8: {exc.reason}") from None
    except RecursionError:  # msgspec nests as deep as the JSON does, skipped fields too
        raise FrameError("frame is nested too deeply") from None
    except msgspec.DecodeError as exc:
        # Tell an unknown type apart from a broken frame of a known type.
        try:
            envelope = _envelope_decoder.decode(data)
        except msgspec.DecodeError:
            raise FrameError(str(exc)) from None
        except RecursionError:
            raise FrameError("frame is nested too deeply") from None
        if isinstance(envelope.type, str) and envelope.type not in known:
            # The type is the peer's own text: quote only its start.
            name = envelope.type[:_QUOTED_TYPE_MAX]
            raise FrameError(f"unknown frame type {name!r}", unknown_type=True) from None
        raise FrameError(str(exc)) from None


def decode_relay_frame(data: bytes | str) -> RelayFrame:
    """Decode one frame sent by a relay; raise ``FrameError`` if it is unusable."""
    return _decode(data, relay_frame_decoder, RELAY_FRAME_TYPES)


def decode_hub_frame(data: bytes | str) -> HubFrame:
    """Decode one frame sent by the hub; raise ``FrameError`` if it is unusable."""
    return _decode(data, hub_frame_decoder, HUB_FRAME_TYPES)
