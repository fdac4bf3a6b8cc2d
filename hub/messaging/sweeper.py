"""The engine's periodic sweep: jobs whose relay did not answer in time, queued
messages past their expiry, and relays that went quiet.

A timed-out job whose socket was lost goes back to the queue as a disconnect,
one whose relay is still connected as an ack timeout; either way the next
round may place it again (``protocol.lifecycle`` decides how often).
"""

from __future__ import annotations

from hub.clock import Clock
from hub.messaging.dispatcher import Dispatcher
from hub.messaging.live import LiveMessages
from hub.messaging.message import LiveMessage, statements_of
from hub.messaging.moves import Moves
from hub.messaging.rounds import DispatchRounds
from hub.relay.registry import RelayRegistry
from protocol.lifecycle import Event, State


class Sweeper:
    def __init__(
        self,
        clock: Clock,
        heartbeat_s: float,
        dispatcher: Dispatcher,
        moves: Moves,
        live: LiveMessages,
        relays: RelayRegistry,
        rounds: DispatchRounds,
    ) -> None:
        self._clock = clock
        self._heartbeat_s = heartbeat_s
        self._dispatcher = dispatcher
        self._moves = moves
        self._live = live
        self._relays = relays
        self._rounds = rounds

    def sweep(self) -> None:
        """Ack timeouts, expiry of queued messages, and silent relays."""
        mono, wall = self._clock.monotonic(), self._clock.now()
        changed = [
            message
            for message in self._timed_out(mono)
            if self._moves.local(
                message,
                *((Event.DISCONNECT, "disconnect") if message.socket_lost
                  else (Event.ACK_TIMEOUT, "ack_timeout")),
                message.device_id,
            )
        ]  # fmt: skip
        expired = [
            message
            for message in self._dispatcher.due_to_expire(wall)
            # A message withdrawn to the shared queue is another node's to expire.
            if self._live.holds(message)
            and self._moves.local(message, Event.EXPIRE, "expired", None)
        ]
        changed += expired
        if changed:
            self._live.write(changed, statements_of(changed))
        if expired:
            self._dispatcher.drop_finished()
        self._dispatcher.compact(len(self._live))
        self._relays.close_quiet(self._heartbeat_s)
        for account_id in {m.account_id for m in changed}:
            self._rounds.run(account_id)
        for message in changed:
            self._live.forget_if_done(message)

    def _timed_out(self, mono: float) -> list[LiveMessage]:
        """Dispatched messages whose relay did not answer in time (and are stored)."""
        timed_out = []
        for message_id in list(self._dispatcher.held_ids()):
            message = self._live.get(message_id)
            if (
                message is not None
                and message.state is State.DISPATCHED
                and message.ack_deadline is not None
                and message.ack_deadline <= mono
                and message.writes_in_flight == 0
            ):
                timed_out.append(message)
        return timed_out
