"""Tests for the messaging engine (``hub/messaging/engine.py``) without sockets:
real storage, real protocol sessions, and connections whose outgoing frames are
read straight from their queue.

Each test drives the same calls the WebSocket endpoint makes (``on_open``,
``on_hello``, ``on_ack``, ``on_report``, ``on_disconnect``) so races the
endpoint cannot order reliably can be ordered exactly here.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from hub.accounts.tokens import TokenAuthority
from hub.clock import ManualClock
from hub.config import Config, load_config
from hub.events.presence import Presence
from hub.ids import new_id
from hub.messaging.engine import Messaging
from hub.messaging.message import LiveMessage
from hub.relay.connection import RelayConnection
from hub.relay.devices import Device, DeviceDirectory
from hub.store.interface import StorageUnavailable
from hub.store.sqlite import SqliteStore
from protocol import frames as f
from protocol.hub_session import HubSession
from protocol.lifecycle import State
from tests.hub.store.store_faults import CommitFaults

HELLO = f.Hello(
    app_version="t",
    model="t",
    os="t",
    sims=[f.Sim(slot=0, carrier="T")],
    limits=f.Limits(parts_per_minute=600),
)


@dataclass
class Env:
    store: SqliteStore
    clock: ManualClock
    devices: DeviceDirectory
    messaging: Messaging
    config: Config
    account_id: str
    faults: CommitFaults  # commits of the store's writer made to fail on demand

    async def device(self, name: str) -> Device:
        code = await self.devices.create_pairing_code(self.account_id, name, "http://hub")
        paired = await self.devices.pair(
            pairing_code=code.code, qr_payload=None, device_name=name, model=None, app_version=None
        )
        assert paired is not None
        device = self.devices.authenticate(paired.device_token)
        assert device is not None
        return device

    def open(self, device: Device) -> RelayConnection:
        """A socket that was accepted but has not said hello."""
        conn = RelayConnection(
            None,  # type: ignore[arg-type]  (nothing here writes to a socket)
            device,
            HubSession(stored_seq=0),  # every device here is new
            queue_limit=100,
            now=self.clock.monotonic(),
            connected_at=self.clock.now(),
        )
        self.messaging.on_open(conn)
        return conn

    def connect(self, device: Device) -> RelayConnection:
        conn = self.open(device)
        conn.session.receive_text(f.encode(HELLO))
        assert len(conn.session.events_received()) == 1  # HelloReceived
        self.messaging.on_hello(conn, HELLO)
        return conn

    async def send(self, text: str = "hi", **fields: Any) -> LiveMessage:
        now = self.clock.now()
        message = LiveMessage(
            id=new_id("req", now),
            account_id=self.account_id,
            to="+998901234567",
            text=text,
            parts=1,
            encoding="gsm7",
            requested_device_id=fields.get("device_id"),
            sim_slot=None,
            queued_at=now,
            expires_at=now + timedelta(hours=1),
        )
        await self.messaging.submit(message)
        await self.settled()
        return message

    async def settled(self) -> None:
        """Every write submitted so far has ended (writes run in order), with the
        dispatch rounds that reports and answers left for the end of the turn."""
        self.messaging.run_due_rounds_now()
        # A barrier that shared a batch with a write a test made fail fails too.
        with contextlib.suppress(StorageUnavailable):
            await self.store.write(lambda conn: None)

    async def state(self, message_id: str) -> tuple[str, str | None]:
        row = await self.store.fetchone(
            "SELECT state, device_id FROM messages WHERE id = ?", (message_id,)
        )
        assert row is not None
        return row["state"], row["device_id"]


def frames_out(conn: RelayConnection) -> list[f.HubFrame]:
    """Frames the hub queued for this socket since the last call."""
    return [f.decode_hub_frame(data) for data in conn.take_outgoing()]


def jobs(conn: RelayConnection) -> list[str]:
    return [fr.id for fr in frames_out(conn) if isinstance(fr, f.Send)]


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    config = load_config(overrides={"server": {"data_dir": str(tmp_path)}})
    async with _env(tmp_path, config) as env:
        yield env


@contextlib.asynccontextmanager
async def _env(tmp_path: Path, config: Config, batch_max: int = 512) -> AsyncIterator[Env]:
    store = SqliteStore(tmp_path / "hub.db", batch_max=batch_max)
    faults = CommitFaults()
    store.writer.connect = faults.wrap(store.writer.connect)  # type: ignore[method-assign]
    await store.open()
    clock = ManualClock()
    await TokenAuthority(store, clock).bootstrap("rh_delivery_test_token_000")
    row = await store.fetchone("SELECT id FROM accounts")
    assert row is not None
    devices = DeviceDirectory(store, clock, 600)
    presence = Presence(store, clock, config.relay.offline_grace_s, lambda accounts: None)
    messaging = Messaging(
        store, clock, config, devices, presence, lambda accounts: None, lambda sealed: ""
    )
    yield Env(store, clock, devices, messaging, config, row["id"], faults)
    await messaging.close()
    await store.close()


async def test_engine_keeps_jobs_when_a_socket_closes_without_hello(env: Env) -> None:
    phone = await env.device("A")
    live = env.connect(phone)
    message = await env.send()
    assert jobs(live) == [message.id]

    ghost = env.open(phone)  # the same device's token, a socket that never says hello
    env.messaging.on_disconnect(ghost, 1006)
    await env.settled()

    assert message.state is State.DISPATCHED
    assert await env.state(message.id) == ("dispatched", phone.id)


async def test_engine_requeues_jobs_once_the_grace_after_the_socket_closes_ends(
    env: Env,
) -> None:
    a, b = await env.device("A"), await env.device("B")
    conn_a = env.connect(a)
    message = await env.send()
    assert jobs(conn_a) == [message.id]
    grace = env.config.relay.requeue_grace_s

    env.messaging.on_disconnect(conn_a, 1006)
    conn_b = env.connect(b)
    env.clock.advance(grace - 0.5)
    env.messaging.sweep()
    await env.settled()
    still_a = await env.state(message.id)
    env.clock.advance(0.5)
    env.messaging.sweep()
    await env.settled()

    assert still_a == ("dispatched", a.id)
    assert jobs(conn_b) == [message.id]
    assert await env.state(message.id) == ("dispatched", b.id)
    causes = await env.store.fetchall(
        "SELECT cause FROM message_events WHERE message_id = ? ORDER BY rowid", (message.id,)
    )
    assert [r["cause"] for r in causes] == ["api", "dispatch", "disconnect", "dispatch"]


async def test_engine_gives_unanswered_jobs_back_to_a_relay_that_returns_within_the_grace(
    env: Env,
) -> None:
    """Its `accepted` may have been lost with the socket: the job is re-sent to it,
    not to another phone, and its answer on the new socket counts."""
    a, b = await env.device("A"), await env.device("B")
    conn_a = env.connect(a)
    message = await env.send()
    assert jobs(conn_a) == [message.id]

    env.messaging.on_disconnect(conn_a, None)
    conn_b = env.connect(b)
    env.clock.advance(1)
    again = env.connect(a)
    resent = jobs(again)
    await env.messaging.on_ack(again, f.Accepted(id=message.id))
    env.clock.advance(env.config.relay.requeue_grace_s)
    env.messaging.sweep()
    await env.settled()

    assert resent == [message.id]
    assert jobs(conn_b) == []
    assert await env.state(message.id) == ("accepted", a.id)
    attempts = await env.store.fetchone("SELECT attempts FROM messages WHERE id = ?", (message.id,))
    assert attempts is not None and attempts["attempts"] == 1


async def test_engine_counts_an_accepted_that_arrives_on_a_socket_being_closed(
    env: Env,
) -> None:
    a, b = await env.device("A"), await env.device("B")
    conn_a = env.connect(a)
    message = await env.send()
    assert jobs(conn_a) == [message.id]

    conn_a.close(1013, "too slow")
    await env.messaging.on_ack(conn_a, f.Accepted(id=message.id))
    env.messaging.on_disconnect(conn_a, 1013)
    conn_b = env.connect(b)
    env.clock.advance(env.config.relay.requeue_grace_s + 1)
    env.messaging.sweep()
    await env.settled()

    assert jobs(conn_b) == []
    assert await env.state(message.id) == ("accepted", a.id)


async def test_engine_requeues_at_once_when_the_grace_is_zero(tmp_path: Path) -> None:
    config = load_config(
        overrides={"server": {"data_dir": str(tmp_path)}, "relay": {"requeue_grace_s": 0}}
    )
    async with _env(tmp_path, config) as env:
        phone = await env.device("A")
        conn = env.connect(phone)
        message = await env.send()

        env.messaging.on_disconnect(conn, 1006)
        await env.settled()

        assert (await env.state(message.id))[0] == "queued"


async def test_engine_keeps_jobs_dispatched_when_the_server_restarts_the_socket(
    env: Env,
) -> None:
    phone = await env.device("A")
    conn = env.connect(phone)
    message = await env.send()

    env.messaging.server_stopping()  # HubServer says so before uvicorn closes sockets
    env.messaging.on_disconnect(conn, 1012)  # uvicorn closing every socket on shutdown
    await env.settled()

    assert await env.state(message.id) == ("dispatched", phone.id)


async def test_engine_requeues_when_a_relay_itself_closes_with_1012(env: Env) -> None:
    phone = await env.device("A")
    conn = env.connect(phone)
    message = await env.send()

    env.messaging.on_disconnect(conn, 1012)  # sent by the relay, not by a stopping hub
    env.clock.advance(env.config.relay.requeue_grace_s)
    env.messaging.sweep()
    await env.settled()

    assert (await env.state(message.id))[0] == "queued"


async def test_engine_closes_a_socket_that_never_says_hello(env: Env) -> None:
    phone = await env.device("A")
    silent = env.open(phone)

    env.clock.advance(env.config.relay.heartbeat_s + 1)
    env.messaging.sweep()

    assert silent.closing
    assert silent.session.close_code == 1008
    assert not env.messaging.awaits_hello(silent)


async def test_engine_sends_takeover_cancel_only_after_it_is_stored(env: Env) -> None:
    a, b = await env.device("A"), await env.device("B")
    conn_b = env.connect(b)
    message = await env.send()
    assert jobs(conn_b) == [message.id]  # B's answer will come too late
    conn_a = env.connect(a)
    env.clock.advance(env.config.relay.ack_timeout_s + 1)
    env.messaging.sweep()
    await env.settled()
    assert jobs(conn_a) == [message.id]

    # B says it has the job from its earlier attempt: it takes it over.
    await env.messaging.on_ack(conn_b, f.Accepted(id=message.id))
    assert frames_out(conn_a) == []  # not yet: the takeover is not committed
    await env.settled()

    assert frames_out(conn_a) == [f.Cancel(id=message.id)]
    assert await env.state(message.id) == ("accepted", b.id)


async def test_engine_offers_a_retryable_rejection_to_another_relay_first(env: Env) -> None:
    a, b = await env.device("A"), await env.device("B")
    conn_a = env.connect(a)
    message = await env.send()
    assert jobs(conn_a) == [message.id]
    conn_b = env.connect(b)
    frames_out(conn_b)

    rejected = f.Rejected(id=message.id, code="busy", message="", retryable=True)
    await env.messaging.on_ack(conn_a, rejected)
    await env.settled()

    assert jobs(conn_b) == [message.id]
    assert jobs(conn_a) == []


async def test_engine_waits_before_retrying_on_the_only_relay(env: Env) -> None:
    phone = await env.device("A")
    conn = env.connect(phone)
    message = await env.send()
    assert jobs(conn) == [message.id]

    rejected = f.Rejected(id=message.id, code="busy", message="", retryable=True)
    await env.messaging.on_ack(conn, rejected)
    await env.settled()
    assert jobs(conn) == []  # not at once: the phone said it was busy
    assert message.attempts == 1

    env.clock.advance(2.5)  # 2 ** attempts seconds later the wake-up hands it out again
    await env.messaging.background_settled()
    await env.settled()
    assert jobs(conn) == [message.id]
    assert message.attempts == 2


async def test_engine_halts_and_reloads_when_a_write_fails(env: Env) -> None:
    phone = await env.device("A")
    conn = env.connect(phone)
    message = await env.send()
    jobs(conn)
    await env.messaging.on_ack(conn, f.Accepted(id=message.id))
    await env.settled()

    env.faults.fail_next()
    sent = f.Sent(seq=1, id=message.id, at=env.clock.now(), parts=1, sim_slot=0)
    conn.session.receive_text(f.encode(sent))
    conn.session.events_received()
    await env.messaging.on_report(conn, sent)
    await env.settled()
    await env.messaging.ready()

    assert conn.closing and conn.session.close_code == 1011
    assert not env.messaging.rebuilding
    reloaded = env.messaging.live_message(message.id)
    assert reloaded is not None
    assert reloaded is not message
    assert reloaded.state is State.ACCEPTED  # what storage holds, not what memory had
    assert await env.state(message.id) == ("accepted", phone.id)


async def test_engine_closes_only_the_reporting_socket_when_its_reports_data_fails_the_write(
    env: Env,
) -> None:
    # Issue 16, finding 1: a seq SQLite cannot hold failed the report's write and
    # the hub fenced, closing every relay. The frame check refuses such a seq now;
    # this feeds one past it, as any value the protocol missed would arrive.
    hostile, healthy = await env.device("Hostile"), await env.device("Healthy")
    conn = env.connect(hostile)
    message = await env.send(device_id=hostile.id)
    assert jobs(conn) == [message.id]
    await env.messaging.on_ack(conn, f.Accepted(id=message.id))
    await env.settled()
    other = env.connect(healthy)

    bad = f.Delivered(seq=2**63, id=message.id, at=env.clock.now())
    await env.messaging.on_report(conn, bad)
    await env.settled()
    await env.messaging.background_settled()  # the re-read of the message

    assert conn.closing and conn.session.close_code == 1011  # no receipt: it is not stored
    assert not other.closing  # no fence: the other relay keeps its socket
    assert not env.messaging.rebuilding
    assert env.messaging.live_message(message.id) is message  # memory was not thrown away…
    assert message.state is State.ACCEPTED  # …but says what storage says again
    assert await env.state(message.id) == ("accepted", hostile.id)
    assert env.messaging.in_flight(hostile.id) == 1  # this message, its only job
    after = await env.send(device_id=healthy.id)
    assert jobs(other) == [after.id]


async def test_engine_forgets_a_new_message_whose_insert_failed_for_its_own_data(
    env: Env,
) -> None:
    phone = await env.device("A")
    conn = env.connect(phone)
    now = env.clock.now()
    broken = LiveMessage(
        id=new_id("req", now), account_id=env.account_id, to="+998901234567",
        text="hi", parts=1, encoding="gsm7", requested_device_id=None, sim_slot=None,
        queued_at=now, expires_at=now + timedelta(hours=1),
        batch_id=2**63,  # type: ignore[arg-type]  (a value SQLite cannot bind)
    )  # fmt: skip

    with pytest.raises(OverflowError):
        await env.messaging.submit(broken)
    await env.settled()
    await env.messaging.background_settled()

    assert not env.messaging.rebuilding and not conn.closing
    assert env.messaging.live_message(broken.id) is None
    assert env.messaging.queued_count(env.account_id) == 0
    assert jobs(conn) == []
    good = await env.send()
    assert jobs(conn) == [good.id]


async def test_engine_never_stores_a_report_past_one_that_failed(tmp_path: Path) -> None:
    config = load_config(overrides={"server": {"data_dir": str(tmp_path)}})
    async with _env(tmp_path, config, batch_max=1) as env:  # each report its own transaction
        await _never_stores_a_report_past_one_that_failed(env)


async def _never_stores_a_report_past_one_that_failed(env: Env) -> None:
    phone = await env.device("A")
    conn = env.connect(phone)
    first, second = await env.send("one"), await env.send("two")
    jobs(conn)
    for m in (first, second):
        await env.messaging.on_ack(conn, f.Accepted(id=m.id))
    await env.settled()

    env.faults.fail_next()
    now = env.clock.now()
    sent_one = f.Sent(seq=1, id=first.id, at=now, parts=1, sim_slot=0)
    sent_two = f.Sent(seq=2, id=second.id, at=now, parts=1, sim_slot=0)
    # Submitted back to back, before the first commit fails.
    await env.messaging.on_report(conn, sent_one)
    await env.messaging.on_report(conn, sent_two)
    await env.settled()

    row = await env.store.fetchone("SELECT last_seq FROM devices WHERE id = ?", (phone.id,))
    assert row is not None and row["last_seq"] == 0
    assert await env.state(second.id) == ("accepted", phone.id)


async def test_engine_refuses_hello_from_a_device_revoked_during_the_handshake(env: Env) -> None:
    phone = await env.device("A")
    conn = env.open(phone)  # accepted, not yet welcomed
    await env.devices.revoke(phone)

    conn.session.receive_text(f.encode(HELLO))
    conn.session.events_received()
    env.messaging.on_hello(conn, HELLO)

    assert conn.closing and conn.session.close_code == 4403
    assert env.messaging.socket_facts(phone.id) is None  # never registered


@pytest.mark.parametrize("state", [State.DISPATCHED, State.SENT, State.FAILED])
@pytest.mark.parametrize("sealed", [None, b"sealed"])
def test_a_save_writes_the_changing_columns_as_the_full_row_has_them(
    state: State, sealed: bytes | None
) -> None:
    """The narrow UPDATE of a later write and the full INSERT agree on every
    column they share, whatever the state and however the text is kept."""
    from hub.messaging.message import _CHANGING, _COLUMNS

    now = ManualClock().now()
    message = LiveMessage(
        id="req_1", account_id="acc_1", to="+998901234567", text="hi", parts=1,
        encoding="gsm7", requested_device_id=None, sim_slot=0, queued_at=now,
        expires_at=now + timedelta(hours=1), state=state, device_id="dev_1", attempts=2,
        error_code="generic_failure", error_message="radio off",
        stamps={"dispatched_at": "2026-01-01T00:00:00.000Z", "sent_at": "2026-01-01T00:00:01.000Z"},
        updated_at=now + timedelta(seconds=3), text_sealed=sealed,
    )  # fmt: skip
    full = dict(zip(_COLUMNS, message._values(), strict=True))

    assert message._changing_values() == tuple(full[c] for c in _CHANGING)
    assert set(_CHANGING) <= set(_COLUMNS)


async def test_a_message_row_names_every_column_of_the_messages_table_once(env: Env) -> None:
    from hub.messaging.message import _COLUMNS

    table = await env.store.fetchall("PRAGMA table_info(messages)")

    assert sorted(_COLUMNS) == sorted(row["name"] for row in table)


async def test_connection_queues_one_receipt_for_reports_stored_together(env: Env) -> None:
    """Receipts are cumulative: a newer one replaces one still queued, so a
    commit of many reports cannot fill a relay's queue with receipts."""
    phone = await env.device("A")
    conn = env.connect(phone)
    frames_out(conn)

    now = env.clock.now()
    for seq in range(1, 6):
        received = f.Received(seq=seq, from_="+998901111111", text="hi", at=now, sim_slot=0)
        conn.session.receive_text(f.encode(received))
    conn.session.events_received()
    for seq in range(1, 6):
        conn.report_stored(seq)

    assert frames_out(conn) == [f.Receipt(seq=5)]
