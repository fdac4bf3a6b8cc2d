"""What the messaging engine's tests share: an engine (``hub/messaging/engine.py``)
without sockets, on real storage, real protocol sessions, and connections whose
outgoing frames are read straight from their queue.

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

from hub.accounts.tokens import TokenAuthority
from hub.clock import ManualClock
from hub.cluster.coordination import OneNode
from hub.config import Config
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


@contextlib.asynccontextmanager
async def engine_env(tmp_path: Path, config: Config, batch_max: int = 512) -> AsyncIterator[Env]:
    """An engine on a fresh store in ``tmp_path``, one account, no relay yet."""
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
        store, clock, config, devices, presence, lambda accounts: None, lambda sealed: "",
        OneNode(),
    )  # fmt: skip
    yield Env(store, clock, devices, messaging, config, row["id"], faults)
    await messaging.close()
    await store.close()
