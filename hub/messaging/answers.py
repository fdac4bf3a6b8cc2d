"""A relay's answers (``accepted``/``rejected``) and reports (``sent``,
``delivered``, ``failed``, ``received``): applied in memory, written, and only
after the commit acknowledged (a ``receipt``) or acted on (a ``cancel`` to the
device that lost a takeover)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from hub.clock import Clock
from hub.limits.inbound import InboundGate
from hub.messaging.inbound import inbound_statements
from hub.messaging.live import LiveMessages
from hub.messaging.message import LiveMessage, save_statements
from hub.messaging.moves import Moves
from hub.messaging.rounds import DispatchRounds
from hub.messaging.writes import SeqStep
from hub.relay.connection import RelayConnection
from hub.relay.registry import RelayRegistry
from hub.store.interface import Statement
from protocol import frames as f
from protocol.close_codes import CloseCode
from protocol.lifecycle import Decision, State

log = logging.getLogger(__name__)


class RelayAnswers:
    def __init__(
        self,
        clock: Clock,
        moves: Moves,
        live: LiveMessages,
        rounds: DispatchRounds,
        relays: RelayRegistry,
        inbound: InboundGate,
    ) -> None:
        self._clock = clock
        self._moves = moves
        self._live = live
        self._rounds = rounds
        self._relays = relays
        self._inbound = inbound

    async def on_ack(self, conn: RelayConnection, frame: f.Accepted | f.Rejected) -> None:
        message = await self._live.find(conn.account_id, frame.id)
        if message is None or not await self._live.was_given(message, conn.device_id):
            log.info("relay %s answered for unknown message %r", conn.device_id, frame.id)
            return
        if conn.closing and not isinstance(frame, f.Accepted):
            return  # a rejection is not replayed either: the job waits out its grace
        # An `accepted` counts even on a socket being closed: the phone holds the
        # job and will send it, so no other device may get it.
        decision = self._moves.answer(conn.device_id, message, frame)
        if decision is None and message.state is State.CANCELLED and isinstance(frame, f.Accepted):
            conn.send_cancel(message.id)  # a late accept of a cancelled job: drop it, again
        if decision is not None:
            future = self._live.write([message], save_statements(message))
            self._cancel_after(future, decision, message)
            self._rounds.soon(conn.account_id)
        self._live.forget_if_done(message)

    async def on_report(self, conn: RelayConnection, report: f.Report) -> None:
        """Apply a report; its receipt goes out once it is committed.

        Each report's write moves the device's stored ``last_seq`` from exactly
        the seq written before it on this socket, so if one write fails no later
        one commits past the gap (the relay replays them all after reconnecting).
        """
        message = None
        decision = None
        statements: list[Statement] = []
        if isinstance(report, f.Received):
            # Nothing past the device's rate or the account's quota is stored
            # (the report is still receipted).
            if self._inbound.admit(conn.account_id, conn.device_id):
                statements += inbound_statements(
                    conn.account_id, conn.device_id, report, self._clock.now()
                )
        else:
            message = await self._live.find(conn.account_id, report.id)
            if message is not None and not await self._live.was_given(message, conn.device_id):
                message = None  # as unknown: receipted, changes nothing, reveals nothing
            if message is None:
                log.info("relay %s reported unknown message %r", conn.device_id, report.id)
            elif not conn.closing:
                decision = self._moves.answer(conn.device_id, message, report)
        if conn.closing:
            return  # no receipt: the relay replays it on its next socket
        if message is not None and decision is not None:
            statements += save_statements(message)
        previous, conn.submitted_seq = conn.submitted_seq, report.seq
        changed = [message] if message is not None and decision is not None else []
        step = SeqStep(conn.device_id, previous, report.seq)
        future = self._live.write(changed, statements, step)
        future.add_done_callback(lambda fut: self._receipt(conn, report.seq, fut))
        if message is not None and decision is not None:
            self._cancel_after(future, decision, message)
            self._rounds.soon(conn.account_id)
        if message is not None:
            self._live.forget_if_done(message)

    def _cancel_after(
        self, future: asyncio.Future[Any], decision: Decision, message: LiveMessage
    ) -> None:
        """Once a takeover is stored, tell the device it was dispatched to to cancel."""
        device = decision.cancel_device
        if device is None:
            return

        def cancel(fut: asyncio.Future[Any]) -> None:
            conn = self._relays.get(device)
            if conn is not None and not fut.cancelled() and fut.exception() is None:
                conn.send_cancel(message.id)

        future.add_done_callback(cancel)

    def _receipt(self, conn: RelayConnection, seq: int, future: asyncio.Future[Any]) -> None:
        if future.cancelled() or future.exception() is not None:
            # Not stored: no receipt. The relay keeps the report and replays it.
            conn.close(CloseCode.INTERNAL, "storage unavailable")
            return
        conn.report_stored(seq)
