"""Hypothesis against the receive path of both session ends, fed anything at all.

It must keep the promise of ``protocol/session.py``'s module docstring: a peer
that breaks the protocol never makes ``receive_text`` raise; it becomes an
``error`` frame or a close with the code PROTOCOL.md names.
"""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol import frames as f
from protocol.close_codes import CloseCode
from protocol.hub_session import (
    AckReceived,
    HeartbeatReceived,
    HelloReceived,
    HubSession,
    ReportReceived,
)
from protocol.relay_session import (
    ErrorReceived,
    JobReceived,
    ReceiptReceived,
    RelayLedger,
    RelaySession,
    Welcomed,
)
from protocol.session import CLOSE_REASON_MAX_BYTES, Phase
from tests.protocol.fuzz_settings import FUZZ, HELLO, WELCOME
from tests.protocol.strategies import frames, hostile_text, json_values, mutated_frame_json

# --- the receive path, fed anything -------------------------------------------------


def anything(union: Any) -> st.SearchStrategy[bytes | str]:
    """What may arrive on a socket: garbage, broken frames, and frames of either direction."""
    return st.one_of(
        st.binary(max_size=200),
        hostile_text(max_size=100),
        json_values.map(msgspec.json.encode),
        mutated_frame_json(union),
        frames(f.RelayFrame).map(f.encode),
        frames(f.HubFrame).map(lambda frame: f.encode(frame).decode()),
    )


def outcome(decode: Any, data: bytes | str) -> f.Frame | f.FrameError:
    try:
        frame: f.Frame = decode(data)
    except f.FrameError as exc:
        return exc
    return frame


def size_of(data: bytes | str) -> int:
    return len(data) if isinstance(data, bytes) else len(data.encode("utf-8", "surrogatepass"))


def assert_close_reason_fits(session: HubSession | RelaySession) -> None:
    assert len(session.close_reason.encode()) <= CLOSE_REASON_MAX_BYTES


def hub_reaction(frame: f.Frame, stored_seq: int) -> tuple[list[Any], list[f.HubFrame]]:
    """What a hub session past hello does with one valid relay frame: events, frames out."""
    match frame:
        case f.Hello():
            return [], [f.Error(code="unexpected_hello", message="hello was already received")]
        case f.Accepted() | f.Rejected():
            return [AckReceived(frame)], []
        case f.Heartbeat():
            return [HeartbeatReceived(frame)], []
        case f.Sent() | f.Delivered() | f.Failed() | f.Received() if frame.seq <= stored_seq:
            return [], [f.Receipt(seq=stored_seq)]  # stored already: receipted again
        case f.Sent() | f.Delivered() | f.Failed() | f.Received():
            return [ReportReceived(frame)], []
    raise AssertionError(f"not a relay frame: {frame!r}")


def relay_reaction(frame: f.Frame, phase: str) -> list[Any]:
    """The events a relay session holding no job makes of one valid hub frame."""
    match frame:
        case f.Welcome():
            return [Welcomed(frame)] if phase == "awaiting_welcome" else []
        case f.Send():
            return [JobReceived(frame)]
        case f.Cancel():
            return []  # nothing held to cancel
        case f.Receipt():
            return [ReceiptReceived(frame.seq)]
        case f.Error():
            return [ErrorReceived(frame)]
    raise AssertionError(f"not a hub frame: {frame!r}")


def hub_in_phase(phase: str, limit: int) -> HubSession:
    hub = HubSession(stored_seq=2, max_frame_bytes=limit)
    if phase != "fresh":
        hub.max_frame_bytes = 10_000  # let the hello in
        hub.receive_text(f.encode(HELLO))
        assert hub.events_received() == [HelloReceived(HELLO)]
        hub.max_frame_bytes = limit
    if phase == "open":
        hub.send_welcome(WELCOME)
        hub.data_to_send()
    return hub


@pytest.mark.parametrize("phase", ["fresh", "after_hello", "open"])
@FUZZ
@given(data=anything(f.RelayFrame), limit=st.sampled_from([40, 300, 64 * 1024]))
def test_hub_session_turns_any_input_into_an_event_error_frame_or_documented_close(
    phase: str, data: bytes | str, limit: int
) -> None:
    hub = hub_in_phase(phase, limit)

    hub.receive_text(data)  # must not raise, whatever arrived

    events, out = hub.events_received(), [f.decode_hub_frame(d) for d in hub.data_to_send()]
    assert_close_reason_fits(hub)
    result = outcome(f.decode_relay_frame, data)
    if size_of(data) > limit:
        assert (hub.close_code, events, out) == (CloseCode.TOO_BIG, [], [])
    elif phase == "fresh":
        if isinstance(result, f.Hello):
            assert (hub.close_code, events, out) == (None, [HelloReceived(result)], [])
        else:
            assert (hub.close_code, events, out) == (CloseCode.POLICY, [], [])
            assert hub.close_reason.startswith("the first frame must be hello")
    elif isinstance(result, f.FrameError) and result.unknown_type:
        assert (hub.close_code, events) == (None, [])
        assert [type(e) for e in out] == [f.Error] and out[0].code == "unknown_type"
    elif isinstance(result, f.FrameError):
        assert (hub.close_code, events, out) == (CloseCode.INVALID_DATA, [], [])
    else:
        assert hub.close_code is None
        assert (events, out) == hub_reaction(result, stored_seq=2)
    if hub.close_code is not None:
        assert hub.phase is Phase.CLOSED
        hub.receive_text(data)  # a closed session takes nothing more
        assert hub.events_received() == [] and hub.data_to_send() == []


def relay_in_phase(phase: str, limit: int) -> RelaySession:
    relay = RelaySession(RelayLedger(), max_frame_bytes=10_000)
    relay.send_hello(HELLO)
    relay.data_to_send()
    if phase == "open":
        relay.receive_text(f.encode(WELCOME))
        assert relay.events_received() == [Welcomed(WELCOME)]
    relay.max_frame_bytes = limit
    return relay


@pytest.mark.parametrize("phase", ["awaiting_welcome", "open"])
@FUZZ
@given(data=anything(f.HubFrame), limit=st.sampled_from([40, 300, 64 * 1024]))
def test_relay_session_turns_any_input_into_an_event_or_documented_close(
    phase: str, data: bytes | str, limit: int
) -> None:
    relay = relay_in_phase(phase, limit)

    relay.receive_text(data)  # must not raise, whatever arrived

    events, out = relay.events_received(), [f.decode_relay_frame(d) for d in relay.data_to_send()]
    assert_close_reason_fits(relay)
    result = outcome(f.decode_hub_frame, data)
    if size_of(data) > limit:
        assert (relay.close_code, events, out) == (CloseCode.TOO_BIG, [], [])
    elif isinstance(result, f.FrameError):
        # A newer hub's frame type is ignored; anything else unusable closes.
        expected = None if result.unknown_type else CloseCode.INVALID_DATA
        assert (relay.close_code, events, out) == (expected, [], [])
    elif phase == "awaiting_welcome" and not isinstance(result, f.Welcome | f.Error):
        assert (relay.close_code, events, out) == (CloseCode.POLICY, [], [])
    else:
        assert relay.close_code is None
        assert (events, out) == (relay_reaction(result, phase), [])  # no job held: no answer


@FUZZ
@given(
    name=(st.text(min_size=1, max_size=2000) | st.text(min_size=1100, max_size=1200)).filter(
        lambda name: name not in f.RELAY_FRAME_TYPES
    )
)
def test_hub_session_error_frame_decodes_at_the_relay_when_unknown_type_is_long(
    name: str,
) -> None:
    # Regression: the error quoted the whole type, over the 1024 characters an
    # error message may have, so the relay's decoder refused it and closed 1007.
    hub = hub_in_phase("open", 64 * 1024)
    hub.receive_text(msgspec.json.encode({"type": name}))
    relay = relay_in_phase("open", 64 * 1024)
    for data in hub.data_to_send():
        relay.receive_text(data)
    assert relay.close_code is None
    assert [type(e) for e in relay.events_received()] == [ErrorReceived]


@pytest.mark.parametrize(
    "data",
    [
        pytest.param('{"type":"' + "\u0436" * 500 + '"}', id="cyrillic_unknown_type"),
        # msgspec quotes the whole bad tag when the rest is broken too
        pytest.param('{"type":"' + "\U0001f600" * 400 + '",', id="emoji_tag_then_garbage"),
        pytest.param("\ud800", id="lone_surrogate"),
        pytest.param("[" * 50_000, id="deep_nesting"),
    ],
)
def test_hub_session_closes_with_reason_under_123_bytes_when_first_frame_is_hostile(
    data: str,
) -> None:
    # Regression: reasons were cut at 120 characters, up to 480 bytes: a close
    # frame that the WebSocket library refuses to build.
    hub = HubSession()
    hub.receive_text(data)
    assert hub.close_code == CloseCode.POLICY
    assert len(hub.close_reason.encode()) <= CLOSE_REASON_MAX_BYTES


@pytest.mark.parametrize(
    "data",
    [
        pytest.param("\ud800", id="lone_surrogate"),
        pytest.param('{"type":"accepted","id":"\ud83d"}', id="half_emoji"),
        pytest.param('{"type":"zz","x":' + "[" * 30_000 + "]" * 30_000 + "}", id="deep_unknown"),
        pytest.param('{"type":"sent","x":' + "[" * 50_000, id="deep_unknown_field"),
    ],
)
def test_hub_session_closes_1007_without_raising_when_open_and_fed_hostile_text(data: str) -> None:
    # Regression: lone surrogates raised UnicodeEncodeError and deep nesting
    # RecursionError out of receive_text (the hub closed with 1011 and logged a traceback).
    hub = hub_in_phase("open", 128 * 1024)
    hub.receive_text(data)
    assert hub.close_code == CloseCode.INVALID_DATA
    assert hub.events_received() == []
