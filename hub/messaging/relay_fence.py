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
        self._replaced_at: dict[str, int] = {}  # device → newest epoch told, not yet applied

    def session_written(self, conn: RelayConnection, epoch: int) -> None:
        """This node's session write for ``conn`` committed with ``epoch`` (0: refused)."""
        if epoch == 0:
            conn.close(CloseCode.REVOKED, "the device was disabled or revoked")
            return
        if conn.closing:
            return
        self._epochs[conn] = epoch
        newer = self._replaced_at.pop(conn.device_id, 0)
        if newer > epoch:
            self._replace(conn)

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
            told = self._replaced_at.get(message.device, 0)
            self._replaced_at[message.device] = max(told, message.epoch)
        elif epoch < message.epoch:
            self._replace(conn)

    def forget(self, conn: RelayConnection) -> None:
        """The socket ended."""
        self._epochs.pop(conn, None)

    def _replace(self, conn: RelayConnection) -> None:
        conn.close(CloseCode.REPLACED, "replaced by a newer connection of this device")
