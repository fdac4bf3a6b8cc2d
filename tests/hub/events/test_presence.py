"""Tests for ``hub/events/presence.py``: ``device.online`` and ``device.offline`` once per real
change, on a real store and a manual clock."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import pytest

from hub.clock import ManualClock, rfc3339
from hub.events.presence import Presence
from hub.store.sqlite import SqliteStore

GRACE_S = 30.0
T0 = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
ACCOUNT = "acc_1"
DEVICE = "dev_1"
ADD_ACCOUNT = (
    "INSERT INTO accounts (id, name, created_at) VALUES (?, 'one', '2026-01-01T00:00:00Z')"
)
ADD_DEVICE = (
    "INSERT INTO devices (id, account_id, name, token_hash, created_at)"
    " VALUES (?, ?, ?, ?, '2026-01-01T00:00:00Z')"
)


@dataclass
class Env:
    store: SqliteStore
    clock: ManualClock
    announced: list[int] = field(default_factory=list)  # events stored at each on_events call
    presence: Presence = field(init=False)

    def __post_init__(self) -> None:
        self.restart()

    def restart(self) -> Presence:
        """A new Presence on the same store, as after the hub restarts."""
        self.presence = Presence(self.store, self.clock, GRACE_S, self.on_events)
        return self.presence

    def on_events(self, accounts: set[str]) -> None:
        # Reads the store's file directly: a callback cannot await the reader.
        with closing(sqlite3.connect(self.store.path)) as conn:
            self.announced.append(conn.execute("SELECT COUNT(*) FROM events").fetchone()[0])

    async def settled(self) -> None:
        """Every write submitted so far has committed (writes run in order)."""
        await self.store.write(lambda conn: None)

    async def events(self) -> list[tuple[str, dict[str, Any]]]:
        """Every stored event as (type, data), oldest first."""
        rows = await self.store.fetchall("SELECT type, body FROM events ORDER BY seq")
        return [(row["type"], msgspec.json.decode(row["body"])["data"]) for row in rows]

    async def stored_presence(self, device_id: str = DEVICE) -> str:
        row = await self.store.fetchone("SELECT presence FROM devices WHERE id = ?", (device_id,))
        assert row is not None
        return str(row["presence"])


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    store = SqliteStore(tmp_path / "hub.db")
    await store.open()
    await store.execute(ADD_ACCOUNT, (ACCOUNT,))
    await store.execute(ADD_DEVICE, (DEVICE, ACCOUNT, "Pixel", b"\x01"))
    await store.execute(ADD_DEVICE, ("dev_2", ACCOUNT, "Galaxy", b"\x02"))
    yield Env(store, ManualClock(T0))
    await store.close()


async def test_presence_announces_online_when_a_device_first_connects(env: Env) -> None:
    env.presence.connected(ACCOUNT, DEVICE, "Pixel")
    await env.settled()

    assert await env.events() == [
        (
            "device.online",
            {"device_id": DEVICE, "name": "Pixel", "status": "online", "at": rfc3339(T0)},
        )
    ]
    assert await env.stored_presence() == "online"
    assert env.presence.is_announced_online(DEVICE)


async def test_presence_announces_nothing_when_an_online_device_connects_again(env: Env) -> None:
    env.presence.connected(ACCOUNT, DEVICE, "Pixel")
    env.clock.advance(5)

    env.presence.connected(ACCOUNT, DEVICE, "Pixel")
    await env.settled()

    assert [type_ for type_, _ in await env.events()] == ["device.online"]


async def test_presence_announces_each_device_on_its_own(env: Env) -> None:
    env.presence.connected(ACCOUNT, DEVICE, "Pixel")
    env.presence.connected(ACCOUNT, "dev_2", "Galaxy")
    await env.settled()

    assert [(t, d["device_id"]) for t, d in await env.events()] == [
        ("device.online", DEVICE), ("device.online", "dev_2"),
    ]  # fmt: skip
    assert await env.stored_presence("dev_2") == "online"


async def test_presence_announces_nothing_when_swept_before_the_grace_runs_out(
    env: Env,
) -> None:
    env.presence.connected(ACCOUNT, DEVICE, "Pixel")
    env.presence.disconnected(ACCOUNT, DEVICE, "Pixel")

    env.clock.advance(GRACE_S - 0.001)
    env.presence.sweep()
    await env.settled()

    assert [type_ for type_, _ in await env.events()] == ["device.online"]
    assert await env.stored_presence() == "online"
    assert env.presence.is_announced_online(DEVICE)


async def test_presence_announces_offline_at_the_disconnect_time_when_the_grace_runs_out(
    env: Env,
) -> None:
    env.presence.connected(ACCOUNT, DEVICE, "Pixel")
    env.clock.advance(10)
    gone_at = env.clock.now()
    env.presence.disconnected(ACCOUNT, DEVICE, "Pixel")

    env.clock.advance(GRACE_S)
    env.presence.sweep()
    await env.settled()

    events = await env.events()
    assert [type_ for type_, _ in events] == ["device.online", "device.offline"]
    assert events[1][1] == {
        "device_id": DEVICE, "name": "Pixel", "status": "offline", "at": rfc3339(gone_at),
    }  # fmt: skip
    assert await env.stored_presence() == "offline"
    assert not env.presence.is_announced_online(DEVICE)


async def test_presence_announces_offline_once_when_swept_again(env: Env) -> None:
    env.presence.connected(ACCOUNT, DEVICE, "Pixel")
    env.presence.disconnected(ACCOUNT, DEVICE, "Pixel")
    env.clock.advance(GRACE_S)

    env.presence.sweep()
    env.clock.advance(GRACE_S)
    env.presence.sweep()
    await env.settled()

    assert [type_ for type_, _ in await env.events()] == ["device.online", "device.offline"]


async def test_presence_counts_the_grace_from_the_first_disconnect_when_told_twice(
    env: Env,
) -> None:
    env.presence.connected(ACCOUNT, DEVICE, "Pixel")
    first = env.clock.now()
    env.presence.disconnected(ACCOUNT, DEVICE, "Pixel")
    env.clock.advance(GRACE_S / 2)
    env.presence.disconnected(ACCOUNT, DEVICE, "Pixel")

    env.clock.advance(GRACE_S / 2)
    env.presence.sweep()
    await env.settled()

    events = await env.events()
    assert [type_ for type_, _ in events] == ["device.online", "device.offline"]
    assert events[1][1]["at"] == rfc3339(first)


async def test_presence_announces_nothing_when_the_device_reconnects_within_the_grace(
    env: Env,
) -> None:
    env.presence.connected(ACCOUNT, DEVICE, "Pixel")
    env.presence.disconnected(ACCOUNT, DEVICE, "Pixel")
    env.clock.advance(GRACE_S - 1)

    env.presence.connected(ACCOUNT, DEVICE, "Pixel")  # Wi-Fi to mobile data
    env.clock.advance(GRACE_S)
    env.presence.sweep()
    await env.settled()

    assert [type_ for type_, _ in await env.events()] == ["device.online"]
    assert await env.stored_presence() == "online"


async def test_presence_announces_online_again_when_it_reconnects_after_offline(
    env: Env,
) -> None:
    env.presence.connected(ACCOUNT, DEVICE, "Pixel")
    env.presence.disconnected(ACCOUNT, DEVICE, "Pixel")
    env.clock.advance(GRACE_S)
    env.presence.sweep()

    env.presence.connected(ACCOUNT, DEVICE, "Pixel")
    await env.settled()

    assert [type_ for type_, _ in await env.events()] == [
        "device.online", "device.offline", "device.online",
    ]  # fmt: skip
    assert await env.stored_presence() == "online"


async def test_presence_announces_nothing_when_a_device_never_announced_disconnects(
    env: Env,
) -> None:
    env.presence.disconnected(ACCOUNT, DEVICE, "Pixel")
    env.clock.advance(GRACE_S)
    env.presence.sweep()
    await env.settled()

    assert await env.events() == []
    assert await env.stored_presence() == "offline"


async def test_presence_announces_offline_after_a_restart_when_the_device_does_not_return(
    env: Env,
) -> None:
    env.presence.connected(ACCOUNT, DEVICE, "Pixel")
    await env.settled()
    env.clock.advance(60)
    restarted_at = env.clock.now()
    presence = env.restart()
    await presence.load()
    assert presence.is_announced_online(DEVICE)

    env.clock.advance(GRACE_S - 1)
    presence.sweep()
    await env.settled()
    assert [type_ for type_, _ in await env.events()] == ["device.online"]

    env.clock.advance(1)
    presence.sweep()
    await env.settled()

    events = await env.events()
    assert [type_ for type_, _ in events] == ["device.online", "device.offline"]
    assert events[1][1] == {
        "device_id": DEVICE, "name": "Pixel", "status": "offline", "at": rfc3339(restarted_at),
    }  # fmt: skip
    assert await env.stored_presence() == "offline"


async def test_presence_announces_nothing_after_a_restart_when_the_device_returns_in_time(
    env: Env,
) -> None:
    env.presence.connected(ACCOUNT, DEVICE, "Pixel")
    await env.settled()
    presence = env.restart()
    await presence.load()

    env.clock.advance(GRACE_S - 1)
    presence.connected(ACCOUNT, DEVICE, "Pixel")
    env.clock.advance(GRACE_S)
    presence.sweep()
    await env.settled()

    assert [type_ for type_, _ in await env.events()] == ["device.online"]
    assert await env.stored_presence() == "online"


async def test_presence_loads_nothing_after_a_restart_when_every_device_was_offline(
    env: Env,
) -> None:
    presence = env.restart()
    await presence.load()

    env.clock.advance(GRACE_S)
    presence.sweep()
    await env.settled()

    assert not presence.is_announced_online(DEVICE)
    assert await env.events() == []


async def test_presence_calls_on_events_after_each_announcement_is_stored(env: Env) -> None:
    env.presence.connected(ACCOUNT, DEVICE, "Pixel")
    await env.settled()
    assert env.announced == [1]

    env.presence.connected(ACCOUNT, DEVICE, "Pixel")  # announces nothing
    env.presence.disconnected(ACCOUNT, DEVICE, "Pixel")
    await env.settled()
    assert env.announced == [1]

    env.clock.advance(GRACE_S)
    env.presence.sweep()
    await env.settled()
    assert env.announced == [1, 2]


async def test_presence_logs_and_still_calls_on_events_when_the_announcement_fails(
    env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    await env.store.execute(
        "CREATE TRIGGER refuse BEFORE INSERT ON events BEGIN SELECT RAISE(ABORT, 'full'); END"
    )

    env.presence.connected(ACCOUNT, DEVICE, "Pixel")
    await env.settled()

    assert "a presence event could not be stored" in caplog.text
    assert env.announced == [0]  # told, and nothing was stored
    assert await env.stored_presence() == "offline"  # the device update rolled back with it
