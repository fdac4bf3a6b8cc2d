"""What the session tests share: frame builders, sessions in a given phase, and
``SessionPair``, a hub and a relay session joined in memory (like h11's ``ConnectionPair``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from protocol import frames as f
from protocol.close_codes import CloseCode
from protocol.hub_session import (
    HelloReceived,
    HubEvent,
    HubSession,
)
from protocol.relay_session import (
    JobReceived,
    JobStatus,
    RelayEvent,
    RelayLedger,
    RelaySession,
    Welcomed,
)

AT = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
LATER = AT + timedelta(seconds=5)


# --- frame builders ------------------------------------------------------------------


def hello() -> f.Hello:
    return f.Hello(
        app_version="1.4.0",
        model="Pixel 7",
        os="Android 14",
        sims=[f.Sim(slot=0, carrier="Ucell", number="+998901234567")],
        limits=f.Limits(parts_per_minute=30),
    )


def welcome(session_id: str = "ses_1") -> f.Welcome:
    return f.Welcome(
        device_id="dev_1",
        session_id=session_id,
        heartbeat_s=30,
        ack_timeout_s=10,
        max_inflight=4,
        server_time=AT,
    )


def job(message_id: str = "m1", attempt: int = 1) -> f.Send:
    return f.Send(
        id=message_id,
        to="+998901234567",
        text=f"code for {message_id}",
        expires_at=AT + timedelta(hours=1),
        attempt=attempt,
    )


def heartbeat() -> f.Heartbeat:
    return f.Heartbeat(battery=80, charging=False, signal=3, network="LTE", queue=0)


def sent(seq: int, message_id: str = "m1") -> f.Sent:
    return f.Sent(seq=seq, id=message_id, at=AT, parts=1, sim_slot=0)


def report_samples(seq: int) -> list[f.Report]:
    return [
        sent(seq),
        f.Delivered(seq=seq, id="m1", at=AT),
        f.Failed(seq=seq, id="m1", at=AT, code="generic", message="x", retryable=False),
        f.Received(seq=seq, from_="+998901234567", text="hi", at=AT, sim_slot=0),
    ]


def text(frame: f.Frame) -> str:
    """A frame as the str a WebSocket library hands over for a text frame."""
    return f.encode(frame).decode()


def hub_frames(session: RelaySession | HubSession) -> list[f.HubFrame]:
    return [f.decode_hub_frame(data) for data in session.data_to_send()]


def relay_frames(session: RelaySession | HubSession) -> list[f.RelayFrame]:
    return [f.decode_relay_frame(data) for data in session.data_to_send()]


# --- sessions in a given phase --------------------------------------------------------


def hub_after_hello(stored_seq: int = 0) -> HubSession:
    hub = HubSession(stored_seq=stored_seq)
    hub.receive_text(text(hello()))
    assert hub.events_received() == [HelloReceived(hello())]
    return hub


def open_hub(stored_seq: int = 0) -> HubSession:
    hub = hub_after_hello(stored_seq)
    hub.send_welcome(welcome())
    assert hub.data_to_send() == [f.encode(welcome())]
    return hub


def hub_with_reports(*seqs: int, stored_seq: int = 0) -> HubSession:
    hub = open_hub(stored_seq)
    for seq in seqs:
        hub.receive_text(text(sent(seq)))
    hub.events_received()
    return hub


def relay_after_hello(ledger: RelayLedger | None = None) -> RelaySession:
    relay = RelaySession(RelayLedger() if ledger is None else ledger)
    relay.send_hello(hello())
    assert relay.data_to_send() == [f.encode(hello())]
    return relay


def open_relay(ledger: RelayLedger | None = None) -> RelaySession:
    relay = relay_after_hello(ledger)
    relay.receive_text(text(welcome()))
    assert relay.events_received() == [Welcomed(welcome())]
    return relay


def relay_with_job(status: JobStatus = JobStatus.NEW, message_id: str = "m1") -> RelaySession:
    """An open relay that got ``message_id`` and took it to ``status``."""
    relay = open_relay()
    relay.receive_text(text(job(message_id)))
    assert relay.events_received() == [JobReceived(job(message_id))]
    if status is JobStatus.ACCEPTED:
        relay.accept(message_id)
    elif status is JobStatus.REJECTED:
        relay.reject(message_id, "no_sim", "no SIM", retryable=False)
    elif status is JobStatus.FINISHED:
        relay.accept(message_id)
        relay.report_sent(message_id, AT, parts=1, sim_slot=0)
    relay.data_to_send()
    assert relay.ledger.jobs[message_id].status is status
    return relay


# --- the in-memory pair -----------------------------------------------------------------


@dataclass
class Delivery:
    """What one side received in a move: the frames, and the events they made."""

    frames: list[f.Frame] = field(default_factory=list)
    events: list[HubEvent] | list[RelayEvent] = field(default_factory=list)


class SessionPair:
    """A HubSession and a RelaySession joined in memory, like h11's ``ConnectionPair``.

    ``to_hub()`` moves everything the relay has to send into the hub's
    ``receive_text()`` and returns what the hub got; ``to_relay()`` does the same
    the other way. ``reconnect()`` drops the socket and joins new sessions: the
    relay keeps its ledger, the hub its stored seq.
    """

    def __init__(self, ledger: RelayLedger | None = None, stored_seq: int = 0) -> None:
        self.ledger = RelayLedger() if ledger is None else ledger
        self.hub = HubSession(stored_seq=stored_seq)
        self.relay = RelaySession(self.ledger)

    def to_hub(self) -> Delivery:
        delivery = Delivery()
        for data in self.relay.data_to_send():
            delivery.frames.append(f.decode_relay_frame(data))
            self.hub.receive_text(data.decode())
        delivery.events = self.hub.events_received()
        return delivery

    def to_relay(self) -> Delivery:
        delivery = Delivery()
        for data in self.hub.data_to_send():
            delivery.frames.append(f.decode_hub_frame(data))
            self.relay.receive_text(data.decode())
        delivery.events = self.relay.events_received()
        return delivery

    def handshake(self, session_id: str = "ses_1") -> None:
        """hello → welcome; the relay's replay, if any, waits in its outbox buffer."""
        self.relay.send_hello(hello())
        assert self.to_hub().events == [HelloReceived(hello())]
        self.hub.send_welcome(welcome(session_id))
        assert self.to_relay().events == [Welcomed(welcome(session_id))]

    def reconnect(self) -> SessionPair:
        self.hub.fail(CloseCode.GOING_AWAY, "socket closed")
        self.relay.fail(CloseCode.GOING_AWAY, "socket closed")
        return SessionPair(self.ledger, stored_seq=self.hub.stored_seq)
