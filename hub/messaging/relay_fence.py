"""Fencing a cluster node's relay sockets by session epoch.

Every hello writes the device's session (``hub.cluster.sessions``) and gets an
epoch one higher than the last, whichever node wrote it. When a newer hello
lands on another node, this node is told ``CloseRelay(device, epoch)`` and
closes its socket with 4409 only if that socket's own epoch is older: a stale
message can never close the newer socket. A close that arrives before this
node's own session write has answered is kept and applied when it does.
"""

from __future__ import annotations

from hub.cluster.control import CloseRelay, Why
from hub.relay.connection import RelayConnection
from hub.relay.registry import RelayRegistry
from protocol.close_codes import CloseCode


class RelayFence:
    def __init__(self, relays: RelayRegistry) -> None:
        self._relays = relays
        self._epochs: dict[RelayConnection, int] = {}
        self._replaced_at: dict[str, CloseRelay] = {}  # device → newest told, not yet applied
        self._moved_to: dict[RelayConnection, str] = {}  # closed for a newer socket there

    def written(self, conn: RelayConnection, epoch: int) -> None:
        """This node's session write for ``conn`` committed with ``epoch`` (0: refused)."""
        if epoch == 0:
            conn.close(CloseCode.REVOKED, "the device was disabled or revoked")
            return
        if conn.closing:
            return
        self._epochs[conn] = epoch
        newer = self._replaced_at.pop(conn.device_id, None)
        if newer is not None and newer.epoch > epoch:
            self._replace(conn, newer)

    def told(self, message: CloseRelay) -> None:
        """Another node asked for the device's socket here to close."""
        if message.why is Why.REVOKED:
            self._relays.disconnect(message.device, CloseCode.REVOKED, "the device was revoked")
            return
        conn = self._relays.get(message.device)
        if conn is None:
            return
        epoch = self._epochs.get(conn)
        if epoch is None:  # our own write has not answered yet
            told = self._replaced_at.get(message.device)
            if told is None or told.epoch < message.epoch:
                self._replaced_at[message.device] = message
        elif epoch < message.epoch:
            self._replace(conn, message)

    def ended(self, conn: RelayConnection) -> str | None:
        """The socket ended; the node its device moved to, if a newer socket there
        replaced it."""
        self._epochs.pop(conn, None)
        return self._moved_to.pop(conn, None)

    def _replace(self, conn: RelayConnection, newer: CloseRelay) -> None:
        if not conn.closing and newer.node is not None:
            self._moved_to[conn] = newer.node
        conn.close(CloseCode.REPLACED, "replaced by a newer connection of this device")
