"""Hypothesis against the sessions (``protocol/session.py``, ``hub_session.py``,
``relay_session.py``) and ``protocol/lifecycle.py``.

The receive path of both roles is fed anything at all and must keep its
promise (module docstring of ``protocol/session.py``): a peer that breaks the
protocol never makes ``receive_text`` raise; it becomes an ``error`` frame or
a close with the code PROTOCOL.md names. Two rule-based machines then feed
long sequences of valid frames, repeated and out of order, and check the
invariants of PROTOCOL.md "Delivery guarantees" and "Message states".
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
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
from protocol.relay_session import (
    CancelRequested,
    ErrorReceived,
    JobReceived,
    JobStatus,
    ReceiptReceived,
    RelayLedger,
    RelaySession,
    Welcomed,
)
from protocol.session import CLOSE_REASON_MAX_BYTES, Phase
from tests.protocol.strategies import frames, hostile_text, json_values, mutated_frame_json

AT = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
HELLO = f.Hello(
    app_version="1", model="m", os="a", sims=[f.Sim(slot=0, carrier="c")],
    limits=f.Limits(parts_per_minute=30),
)  # fmt: skip
WELCOME = f.Welcome(
    device_id="dev_a", session_id="ses_1", heartbeat_s=30, ack_timeout_s=10, max_inflight=4,
    server_time=AT,
)  # fmt: skip
DEVICES = ("dev_a", "dev_b")
MESSAGE_IDS = ("m1", "m2", "m3")
MAX_SEQ = 8
FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MACHINE = settings(
    max_examples=60,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


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
    ``hub/delivery.py`` do: reports are stored later (``report_stored``), a
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


# --- the relay side under long sequences of hub frames -------------------------------


def _retarget_hub(frame: f.HubFrame, message_id: str, number: int) -> f.HubFrame:
    match frame:
        case f.Send():
            return msgspec.structs.replace(frame, id=message_id, attempt=number)
        case f.Cancel():
            return msgspec.structs.replace(frame, id=message_id)
        case f.Receipt():
            return msgspec.structs.replace(frame, seq=number)
    return frame


machine_hub_frames = st.builds(
    _retarget_hub,
    frames(f.HubFrame),
    st.sampled_from(MESSAGE_IDS),
    st.integers(1, 4),
)


class RelaySideMachine(RuleBasedStateMachine):
    """A relay's ledger across sockets, fed any sequence of valid hub frames,
    with the app answering jobs and reporting on them in between."""

    def __init__(self) -> None:
        super().__init__()
        self.ledger = RelayLedger()
        self.session = RelaySession(self.ledger)
        self.issued: list[int] = []  # every seq the relay gave a report
        self.new_jobs: dict[str, list[int]] = {}  # id → attempts reported as new

    def _open(self) -> None:
        self.session = RelaySession(self.ledger)
        self.session.send_hello(HELLO)
        assert [f.decode_relay_frame(d) for d in self.session.data_to_send()] == [HELLO]
        self.session.receive_text(f.encode(WELCOME))
        assert self.session.events_received() == [Welcomed(WELCOME)]
        replay = [f.decode_relay_frame(d) for d in self.session.data_to_send()]
        assert replay == self.ledger.outbox, "after welcome, the outbox goes first, in order"

    @initialize()
    def connect(self) -> None:
        self._open()

    @rule(frame=machine_hub_frames, times=st.integers(1, 2))
    def hub_sends(self, frame: f.HubFrame, times: int) -> None:
        for _ in range(times):
            held = self.ledger.jobs.get(frame.id) if isinstance(frame, f.Send) else None
            before = (held.status, held.retryable_end, held.send.attempt) if held else None
            self.session.receive_text(f.encode(frame))
            assert self.session.close_code is None
            events = self.session.events_received()
            out = [f.decode_relay_frame(d) for d in self.session.data_to_send()]
            match frame:
                case f.Send():
                    self._check_send(frame, before, events, out)
                case f.Cancel():
                    job = self.ledger.jobs.get(frame.id)
                    # Nothing to cancel once the report or the rejection says what happened.
                    open_job = job is not None and job.status in (JobStatus.NEW, JobStatus.ACCEPTED)
                    assert out == []
                    assert events == ([CancelRequested(frame.id)] if open_job else [])
                case f.Receipt(seq=seq):
                    assert events == [ReceiptReceived(seq)] and out == []
                    assert all(r.seq > seq for r in self.ledger.outbox)
                case f.Welcome():
                    assert events == [] and out == []  # a repeated welcome changes nothing
                case f.Error():
                    assert events == [ErrorReceived(frame)] and out == []

    def _check_send(
        self,
        send: f.Send,
        before: tuple[JobStatus, bool, int] | None,
        events: list[Any],
        out: list[f.RelayFrame],
    ) -> None:
        if before is None or (before[1] and send.attempt > before[2]):
            assert events == [JobReceived(send)] and out == []
            attempts = self.new_jobs.setdefault(send.id, [])
            # A job is new once, or again only as a later attempt after a retryable end.
            assert not attempts or send.attempt > attempts[-1]
            attempts.append(send.attempt)
            return
        status = before[0]
        assert events == [], "a job the relay holds is never reported as new again"
        if status is JobStatus.NEW:
            assert out == []  # the app is still deciding
        elif status is JobStatus.REJECTED:
            assert [type(r) for r in out] == [f.Rejected]
        else:
            assert out == [f.Accepted(id=send.id)]

    def _jobs_in(self, *statuses: JobStatus) -> list[str]:
        return sorted(i for i, job in self.ledger.jobs.items() if job.status in statuses)

    @precondition(lambda self: self._jobs_in(JobStatus.NEW))
    @rule(data=st.data(), accept=st.booleans(), retryable=st.booleans())
    def app_answers(self, data: st.DataObject, accept: bool, retryable: bool) -> None:
        message_id = data.draw(st.sampled_from(self._jobs_in(JobStatus.NEW)))
        if accept:
            self.session.accept(message_id)
            expected: f.RelayFrame = f.Accepted(id=message_id)
        else:
            self.session.reject(message_id, "busy", "busy", retryable)
            expected = f.Rejected(id=message_id, code="busy", message="busy", retryable=retryable)
        assert [f.decode_relay_frame(d) for d in self.session.data_to_send()] == [expected]

    @precondition(lambda self: self._jobs_in(JobStatus.ACCEPTED, JobStatus.FINISHED))
    @rule(data=st.data(), kind=st.sampled_from(["sent", "delivered", "failed"]))
    def app_reports(self, data: st.DataObject, kind: str) -> None:
        held = self._jobs_in(JobStatus.ACCEPTED, JobStatus.FINISHED)
        message_id = data.draw(st.sampled_from(held))
        report: f.Report
        if kind == "sent":
            report = self.session.report_sent(message_id, AT, parts=1, sim_slot=0)
        elif kind == "delivered":
            report = self.session.report_delivered(message_id, AT)
        else:
            retryable = data.draw(st.booleans())
            report = self.session.report_failed(message_id, AT, "x", "x", retryable)
        self._issued(report)

    @rule(text=st.text(min_size=1, max_size=20))
    def sms_arrives(self, text: str) -> None:
        self._issued(self.session.report_received("+998901234567", text, AT, 0))

    def _issued(self, report: f.Report) -> None:
        assert not self.issued or report.seq == self.issued[-1] + 1, "seq only grows, by one"
        self.issued.append(report.seq)
        assert report in self.ledger.outbox
        assert [f.decode_relay_frame(d) for d in self.session.data_to_send()] == [report]

    @rule()
    def socket_drops(self) -> None:
        self.session.fail(CloseCode.GOING_AWAY, "socket closed")
        self._open()

    @invariant()
    def outbox_is_in_seq_order(self) -> None:
        seqs = [r.seq for r in self.ledger.outbox]
        assert seqs == sorted(set(seqs))
        assert all(seq <= self.ledger.last_seq for seq in seqs)


TestRelaySideMachine = RelaySideMachine.TestCase
TestRelaySideMachine.settings = MACHINE
