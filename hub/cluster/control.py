"""Control messages between cluster nodes: what one node asks of another.

They travel as NOTIFY payloads on the receiving node's channel
(``rh_<node_id>``), sent in the transaction that causes them, so a node hears
only of what committed. A payload carries ids and an epoch, never a text or a
phone number, and stays far below PostgreSQL's 8000-byte limit.

The oldest payload, an account id alone, is still an ``Offer``: the shared
queue's wake-up and a stopping node's hand-back send it from SQL, where the
id is a column, not an encoded message.
"""

from __future__ import annotations

import enum
from typing import Final

import msgspec

# PostgreSQL refuses a NOTIFY payload of 8000 bytes or more.
MAX_PAYLOAD_BYTES: Final = 7999


class Why(enum.Enum):
    REPLACED = "replaced"  # a newer hello of the device on another node (4409)
    REVOKED = "revoked"  # the device was revoked or disabled (4403)


class Offer(msgspec.Struct, frozen=True, tag="offer", tag_field="k"):
    """The account's queued messages wait in the shared queue."""

    account: str


class CloseRelay(msgspec.Struct, frozen=True, tag="close", tag_field="k"):
    """Close the device's socket if it is older than ``epoch`` (the session
    epoch that replaced it); a revoke closes it whatever its epoch. ``node``:
    the node holding the newer socket, which the device's jobs follow."""

    device: str
    epoch: int
    why: Why
    node: str | None = None


class CancelJob(msgspec.Struct, frozen=True, tag="cancel", tag_field="k"):
    """Send the protocol's ``cancel`` frame for the message to the device."""

    message: str
    device: str


class Adopt(msgspec.Struct, frozen=True, tag="adopt", tag_field="k"):
    """The device's held jobs were handed to this node: load them."""

    device: str


class RelayAccepted(msgspec.Struct, frozen=True, tag="accepted", tag_field="k"):
    """The device, whose socket is on ``node``, answered ``accepted`` for a message
    this node owns: the owner decides (a late accept takes the job over)."""

    message: str
    device: str
    node: str


Control = Offer | CloseRelay | CancelJob | Adopt | RelayAccepted

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(Control)


class BadPayload(ValueError):
    """A payload no node of this version sends."""


def encode(message: Control) -> str:
    """The NOTIFY payload of ``message``; ``ValueError`` if it would be too long."""
    payload = _encoder.encode(message)
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise ValueError(f"a control payload is {len(payload)} bytes; the limit is 7999")
    return payload.decode()


def decode(payload: str) -> Control:
    """The message a payload holds; a bare id is an ``Offer`` (see above)."""
    if not payload.startswith("{"):
        if not payload or len(payload) > 200:
            raise BadPayload(f"not an account id: {payload[:40]!r}")
        return Offer(payload)
    try:
        return _decoder.decode(payload)
    except msgspec.ValidationError as exc:
        raise BadPayload(str(exc)) from None
    except msgspec.DecodeError as exc:
        raise BadPayload(str(exc)) from None
