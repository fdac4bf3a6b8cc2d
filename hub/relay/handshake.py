"""The hello/welcome handshake: a relay's first frame, and the hub's answer.

A socket is accepted first (its token already checked) and registered only
once it says ``hello`` and its device is still enabled; the ``welcome`` then
tells it the session's timing and flow-control settings (PROTOCOL.md).
"""

from __future__ import annotations

from hub.clock import Clock
from hub.config import RelayConfig
from hub.events.presence import Presence
from hub.ids import new_id
from hub.relay.connection import RelayConnection
from hub.relay.devices import DeviceDirectory
from hub.relay.registry import RelayRegistry
from protocol import frames as f
from protocol.close_codes import CloseCode


class Handshake:
    def __init__(
        self,
        clock: Clock,
        relay: RelayConfig,
        devices: DeviceDirectory,
        presence: Presence,
        registry: RelayRegistry,
    ) -> None:
        self._clock = clock
        self._relay = relay
        self._devices = devices
        self._presence = presence
        self._registry = registry

    def greet(self, conn: RelayConnection, hello: f.Hello) -> bool:
        """Register the socket and welcome it; False if its device may no longer
        connect (the socket is closed then)."""
        current = self._devices.get(conn.account_id, conn.device_id)
        if current is None or current.disabled:
            # Revoked or disabled while this socket was still shaking hands.
            conn.close(CloseCode.REVOKED, "the device was disabled or revoked")
            return False
        self._registry.register(conn)
        conn.hello = hello
        now = self._clock.now()
        conn.session.send_welcome(
            f.Welcome(
                device_id=conn.device_id,
                session_id=new_id("ses", now),
                heartbeat_s=self._relay.heartbeat_s,
                ack_timeout_s=self._relay.ack_timeout_s,
                max_inflight=self._relay.max_inflight,
                server_time=now,
            )
        )
        conn.flush()
        self._devices.record_hello(conn.device_id, hello)
        self._presence.connected(conn.account_id, conn.device_id, current.name)
        return True
