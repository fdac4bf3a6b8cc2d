"""Hypothesis against the hub's session and ``protocol/lifecycle.py``: a rule-based
machine feeds long sequences of valid relay frames, repeated and out of order,
and checks the invariants of PROTOCOL.md "Delivery guarantees" and "Message states".
"""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
)

from protocol import frames as f
from protocol.close_codes import CloseCode
from protocol.hub_session import (
    AckReceived,
    HeartbeatReceived,
    HelloReceived,
    HubSession,
    ReportReceived,
)
from protocol.lifecycle import (
    ACCEPTED_OR_LATER,
    LOCAL_EVENTS,
    TERMINAL,
    TRANSITIONS,
    Decision,
    Event,
    InvalidTransition,
    State,
    decide,
    report_event,
)
from tests.protocol.fuzz_settings import DEVICES, HELLO, MACHINE, MAX_SEQ, MESSAGE_IDS, WELCOME
from tests.protocol.strategies import frames

# --- the hub side under long sequences of frames -------------------------------------


def _retarget(frame: f.RelayFrame, message_id: str, seq: int) -> f.RelayFrame:
    """The frame about one of a few messages, with a small seq, so that they collide."""
    changes: dict[str, Any] = {}
    if "id" in frame.__struct_fields__:
        changes["id"] = message_id
    if "seq" in frame.__struct_fields__:
        changes["seq"] = seq
    return msgspec.structs.replace(frame, **changes)


machine_relay_frames = st.builds(
    _retarget,
    frames(f.RelayFrame),
    st.sampled_from(MESSAGE_IDS),
    st.integers(1, MAX_SEQ),
)

_RANK = {s: n for n, s in enumerate((State.QUEUED, State.DISPATCHED, State.ACCEPTED, State.SENT))}
_RANK[State.DELIVERED] = len(_RANK)
_RETRYABLE = frozenset({Event.REJECTED_RETRYABLE, Event.FAILED_RETRYABLE})


class HubSideMachine(RuleBasedStateMachine):
    """Two devices' hub sessions over one set of messages whose lifecycle the events drive.

    The relays are played by the fuzzer: any valid frame, about any message,
    with any small seq, repeated, and both devices reporting on the same
    message. The hub is played as ``hub/relay/endpoint.py`` and
    ``hub/messaging/`` does: reports are stored later (``report_stored``), a
    reconnect opens a session from the stored seq, and every ack or report
    goes through ``lifecycle.decide``.
    """

    def __init__(self) -> None:
        super().__init__()
        self.stored = dict.fromkeys(DEVICES, 0)  # what storage holds, across sockets
        self.sessions: dict[str, HubSession] = {}
        self.last_event_seq: dict[str, int] = {}
        self.last_receipt: dict[str, int] = {}
        self.messages: dict[str, tuple[State, str | None]] = dict.fromkeys(
            MESSAGE_IDS, (State.QUEUED, None)
        )
        # The device that the hub recorded as having accepted the job, until
        # that same device gives it back with a retryable rejection or failure.
        self.accepted_by: dict[str, str | None] = dict.fromkeys(MESSAGE_IDS)

    def _connect(self, device: str) -> None:
        hub = HubSession(stored_seq=self.stored[device])
        hub.receive_text(f.encode(HELLO))
        assert hub.events_received() == [HelloReceived(HELLO)]
        hub.send_welcome(WELCOME)
        assert [f.decode_hub_frame(d) for d in hub.data_to_send()] == [WELCOME]
        self.sessions[device] = hub
        self.last_event_seq[device] = hub.stored_seq
        self.last_receipt[device] = 0

    @initialize()
    def connect_both(self) -> None:
        for device in DEVICES:
            self._connect(device)

    @rule(
        device=st.sampled_from(DEVICES),
        frame=machine_relay_frames,
        times=st.integers(1, 3),
        attempts_left=st.booleans(),
    )
    def relay_sends(
        self, device: str, frame: f.RelayFrame, times: int, attempts_left: bool
    ) -> None:
        hub = self.sessions[device]
        for _ in range(times):  # at-least-once: the same frame may come again
            seen_before = hub.seen_seq
            hub.receive_text(f.encode(frame))
            assert hub.close_code is None, hub.close_reason  # a valid frame never closes
            events = hub.events_received()
            out = [f.decode_hub_frame(d) for d in hub.data_to_send()]
            for frame_out in out:
                self._check_frame_out(device, frame_out)
            match frame:
                case f.Sent() | f.Delivered() | f.Failed() | f.Received():
                    is_new = frame.seq > seen_before
                    assert events == ([ReportReceived(frame)] if is_new else [])
                    # Already stored: receipted again at once; seen, not stored: on its way.
                    stored = frame.seq <= hub.stored_seq
                    assert out == ([f.Receipt(seq=hub.stored_seq)] if stored else [])
                case f.Accepted() | f.Rejected():
                    assert (events, out) == ([AckReceived(frame)], [])
                case f.Heartbeat():
                    assert (events, out) == ([HeartbeatReceived(frame)], [])
                case f.Hello():
                    assert events == [] and [e.code for e in out] == ["unexpected_hello"]
            for event in events:
                self._handle(device, event, attempts_left)

    def _check_frame_out(self, device: str, frame: f.HubFrame) -> None:
        match frame:
            case f.Receipt(seq=seq):
                assert seq >= self.last_receipt[device], "a receipt never goes back"
                assert seq == self.sessions[device].stored_seq, "only stored reports are receipted"
                self.last_receipt[device] = seq
            case f.Error(code=code):
                assert code == "unexpected_hello"
            case _:
                raise AssertionError(f"the hub answered a relay frame with {frame!r}")

    def _handle(self, device: str, event: object, attempts_left: bool) -> None:
        match event:
            case AckReceived(frame):
                self._apply_report(device, frame, attempts_left)
            case ReportReceived(report):
                assert report.seq > self.last_event_seq[device], "report seqs only grow"
                self.last_event_seq[device] = report.seq
                if not isinstance(report, f.Received):
                    self._apply_report(device, report, attempts_left)
            case HeartbeatReceived():
                pass
            case _:
                raise AssertionError(f"unexpected event {event!r}")

    def _apply_report(
        self, device: str, frame: f.Accepted | f.Rejected | f.MessageReport, attempts_left: bool
    ) -> None:
        state, holder = self.messages[frame.id]
        event, _ = report_event(frame)
        decision = decide(state, holder, event, device=device, attempts_left=attempts_left)
        self._check_report_decision(state, holder, event, device, decision)
        # A repeated report is already applied: it changes nothing.
        again = decide(
            decision.state, decision.holder, event, device=device, attempts_left=attempts_left
        )
        assert not again.changed and again.state is decision.state
        self._record(frame.id, decision)
        if decision.state is State.QUEUED and state is not State.QUEUED:
            # Only the device that held it gives it back, and only when retryable.
            assert device == holder and event in _RETRYABLE
            if self.accepted_by[frame.id] == device:
                self.accepted_by[frame.id] = None

    def _check_report_decision(
        self, state: State, holder: str | None, event: Event, device: str, decision: Decision
    ) -> None:
        if state in TERMINAL:
            assert not decision.changed and decision.state is state, "terminal states are final"
            return
        if not decision.changed:
            assert decision.state is state and decision.holder == holder
            return
        assert decision.path[-1] is decision.state
        new = decision.state
        if new in _RANK and new is not State.QUEUED:
            # Forward only, filling in the implied steps in order.
            ranks = [_RANK[s] for s in decision.path]
            assert ranks == sorted(set(ranks)) and ranks[0] > _RANK[state]
        if state in (State.ACCEPTED, State.SENT):
            # Accepted by a device: no other device may take it over.
            assert device == holder
        if decision.cancel_device is not None:
            assert decision.cancel_device == holder != device

    def _record(self, message_id: str, decision: Decision) -> None:
        self.messages[message_id] = (decision.state, decision.holder)
        if decision.state in ACCEPTED_OR_LATER and self.accepted_by[message_id] is None:
            self.accepted_by[message_id] = decision.holder

    @rule(
        message_id=st.sampled_from(MESSAGE_IDS),
        event=st.sampled_from(sorted(LOCAL_EVENTS)),
        device=st.sampled_from(DEVICES),
        attempts_left=st.booleans(),
    )
    def hub_decides(self, message_id: str, event: Event, device: str, attempts_left: bool) -> None:
        state, holder = self.messages[message_id]
        if event not in TRANSITIONS[state]:
            with pytest.raises(InvalidTransition):
                decide(state, holder, event, device=device, attempts_left=attempts_left)
            return
        if event is Event.DISPATCH:
            # Never send twice: an accepted job is handed out again only after
            # the device that accepted it gave it back as retryable.
            assert self.accepted_by[message_id] is None
        decision = decide(state, holder, event, device=device, attempts_left=attempts_left)
        assert state not in TERMINAL
        assert decision.state is TRANSITIONS[state][event] or (
            decision.state is State.FAILED and not attempts_left
        )
        self._record(message_id, decision)

    @rule(device=st.sampled_from(DEVICES), data=st.data())
    def hub_stores_reports(self, device: str, data: st.DataObject) -> None:
        hub = self.sessions[device]
        if hub.seen_seq == 0:
            return
        seq = data.draw(st.integers(1, hub.seen_seq))
        before = hub.stored_seq
        hub.report_stored(seq)
        assert hub.stored_seq == max(before, seq), "the stored seq never goes back"
        self.stored[device] = hub.stored_seq
        out = [f.decode_hub_frame(d) for d in hub.data_to_send()]
        assert out == [f.Receipt(seq=hub.stored_seq)]
        self._check_frame_out(device, out[0])

    @rule(device=st.sampled_from(DEVICES))
    def socket_drops(self, device: str) -> None:
        self.sessions[device].fail(CloseCode.GOING_AWAY, "socket closed")
        self._connect(device)

    @invariant()
    def terminal_messages_have_no_holder_change(self) -> None:
        for state, holder in self.messages.values():
            if state is State.QUEUED:
                assert holder is None or holder in DEVICES
            if state in (State.ACCEPTED, State.SENT, State.DELIVERED):
                assert holder in DEVICES

    @invariant()
    def sessions_never_close_on_valid_frames(self) -> None:
        for hub in self.sessions.values():
            assert hub.close_code is None and hub.stored_seq <= hub.seen_seq


TestHubSideMachine = HubSideMachine.TestCase
TestHubSideMachine.settings = MACHINE
