"""The relay registry: which socket speaks for each device, and which sockets
have not said hello yet.

One device has at most one registered socket; a newer one replaces it (the
old one is closed with 4409). Registering, replacing and closing sockets is
all this module does with them: what their jobs become when a socket goes is
the messaging engine's business.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from hub.clock import Clock
from hub.events.presence import Presence
from hub.relay.connection import RelayConnection
from hub.relay.devices import DeviceDirectory
from protocol import frames as f
from protocol.close_codes import CloseCode


@dataclass(frozen=True, slots=True)
class SocketFacts:
    """What a device's registered socket knows that storage does not (for the API)."""

    connected_at: datetime
    heartbeat: f.Heartbeat | None
    heartbeat_at: datetime | None


class RelayRegistry:
    def __init__(self, clock: Clock, devices: DeviceDirectory, presence: Presence) -> None:
        self._clock = clock
        self._devices = devices
        self._presence = presence
        self._by_device: dict[str, RelayConnection] = {}
        # Sockets that opened but have not said hello yet: closed if they never do.
        self._awaiting_hello: dict[RelayConnection, float] = {}

    def opened(self, conn: RelayConnection) -> None:
        """A socket was accepted; it has ``heartbeat_s`` to say hello."""
        self._awaiting_hello[conn] = self._clock.monotonic()

    def said_hello(self, conn: RelayConnection) -> None:
        self._awaiting_hello.pop(conn, None)

    def awaits_hello(self, conn: RelayConnection) -> bool:
        return conn in self._awaiting_hello

    def register(self, conn: RelayConnection) -> None:
        """Make ``conn`` the device's socket; an older one of the device is closed."""
        old = self._by_device.get(conn.device_id)
        if old is not None and old is not conn:
            old.close(CloseCode.REPLACED, "replaced by a newer connection of this device")
        self._by_device[conn.device_id] = conn

    def unregister(self, conn: RelayConnection) -> bool:
        """Forget a socket that ended; True if it was its device's registered one
        (a socket that never said hello, or was replaced, speaks for no one)."""
        self._awaiting_hello.pop(conn, None)
        if self._by_device.get(conn.device_id) is not conn:
            return False
        del self._by_device[conn.device_id]
        return True

    def get(self, device_id: str) -> RelayConnection | None:
        """The device's registered socket (it may be closing)."""
        return self._by_device.get(device_id)

    def is_online(self, device_id: str) -> bool:
        """The device has a registered socket that is not closing."""
        conn = self._by_device.get(device_id)
        return conn is not None and not conn.closing

    def facts(self, device_id: str) -> SocketFacts | None:
        conn = self._by_device.get(device_id)
        if conn is None:
            return None
        return SocketFacts(conn.connected_at, conn.heartbeat, conn.heartbeat_at)

    def heartbeat(self, conn: RelayConnection, heartbeat: f.Heartbeat) -> None:
        conn.heartbeat = heartbeat
        conn.heartbeat_at = self._clock.now()
        self._devices.record_heartbeat(conn.device_id, heartbeat)

    def disconnect(self, device_id: str, code: int, reason: str) -> None:
        """Close the device's sockets, registered or still shaking hands."""
        for conn in [c for c in (self._by_device.get(device_id), *self._awaiting_hello) if c]:
            if conn.device_id == device_id:
                conn.close(code, reason)

    def close_registered(self, code: int, reason: str) -> None:
        for conn in list(self._by_device.values()):
            conn.close(code, reason)

    def close_quiet(self, heartbeat_s: float) -> None:
        """Close registered sockets silent for two heartbeats, and sockets that
        did not say hello within one."""
        mono = self._clock.monotonic()
        silent_after = 2 * heartbeat_s
        for conn in list(self._by_device.values()):
            if mono - conn.last_frame_at > silent_after:
                conn.close(CloseCode.GOING_AWAY, f"no frame for {silent_after} s")
        for conn, opened_at in list(self._awaiting_hello.items()):
            if mono - opened_at > heartbeat_s:
                conn.close(CloseCode.POLICY, "no hello")
                del self._awaiting_hello[conn]

    def went_away(self, conn: RelayConnection) -> None:
        """Tell presence a registered socket is gone (offline after the grace)."""
        device = self._devices.get(conn.account_id, conn.device_id)
        name = device.name if device is not None else None
        self._presence.disconnected(conn.account_id, conn.device_id, name)

    def close_all(self, code: int, reason: str) -> None:
        """Close and forget every socket (storage failed: memory is being rebuilt)."""
        for conn in self._by_device.values():
            self.went_away(conn)
        for conn in [*self._by_device.values(), *self._awaiting_hello]:
            conn.close(code, reason)
        self._by_device.clear()
        self._awaiting_hello.clear()
