"""Routing and flow control: which online relay gets which queued message, and when.

The dispatcher only decides; the delivery service applies its choices. Queues
are per account (auto relay mode) and per device (manual mode), oldest first.
A relay gets a message while it holds fewer than ``max_inflight`` jobs and its
``parts_per_minute`` window has room; in auto mode the online relay with the
most free capacity wins. Load (held jobs, the rate window) belongs to the
device, not the socket, so it survives reconnects.
"""

from __future__ import annotations

import heapq
import itertools
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from hub.message import LiveMessage
from protocol.lifecycle import State

RATE_WINDOW_S = 60.0
# How far past an unplaceable head message (e.g. a SIM slot no online relay has)
# the dispatcher looks before it stops for now.
LOOKAHEAD = 64


@dataclass(slots=True)
class DeviceLoad:
    device_id: str
    account_id: str
    held: set[str] = field(default_factory=set)  # dispatched or accepted, not yet reported
    window: deque[tuple[float, int]] = field(default_factory=deque)  # (monotonic, parts)
    window_parts: int = 0

    def trim(self, now: float) -> None:
        while self.window and self.window[0][0] <= now - RATE_WINDOW_S:
            _, parts = self.window.popleft()
            self.window_parts -= parts

    def record(self, now: float, parts: int) -> None:
        self.window.append((now, parts))
        self.window_parts += parts


@dataclass(slots=True)
class OnlineRelay:
    load: DeviceLoad
    sims: frozenset[int]
    parts_per_minute: int

    def fits(self, message: LiveMessage, max_inflight: int) -> bool:
        if len(self.load.held) >= max_inflight:
            return False
        if not self.sims:
            return False  # a phone without a SIM cannot send anything
        if message.sim_slot is not None and message.sim_slot not in self.sims:
            return False
        # A message longer than a whole minute's allowance may go into an empty window.
        room = self.parts_per_minute - self.load.window_parts
        return message.parts <= room or self.load.window_parts == 0

    def free(self, max_inflight: int) -> int:
        return max_inflight - len(self.load.held)


class Dispatcher:
    def __init__(self, max_inflight: int) -> None:
        self.max_inflight = max_inflight
        self._auto: dict[str, deque[LiveMessage]] = {}
        self._manual: dict[str, deque[LiveMessage]] = {}
        self._loads: dict[str, DeviceLoad] = {}
        self._online: dict[str, dict[str, OnlineRelay]] = {}  # account → device → relay
        # Queued messages by expiry, so the sweep never scans the whole queue.
        # Entries of messages that left the queue are skipped when popped.
        self._expiry: list[tuple[datetime, int, LiveMessage]] = []
        self._order = itertools.count()

    # --- devices

    def load(self, device_id: str, account_id: str) -> DeviceLoad:
        load = self._loads.get(device_id)
        if load is None:
            load = self._loads[device_id] = DeviceLoad(device_id, account_id)
        return load

    def device_online(
        self, account_id: str, device_id: str, sims: frozenset[int], parts_per_minute: int
    ) -> None:
        relay = OnlineRelay(self.load(device_id, account_id), sims, parts_per_minute)
        self._online.setdefault(account_id, {})[device_id] = relay

    def device_offline(self, account_id: str, device_id: str) -> None:
        online = self._online.get(account_id)
        if online is not None:
            online.pop(device_id, None)

    def online_count(self, account_id: str | None = None) -> int:
        if account_id is None:
            return sum(len(v) for v in self._online.values())
        return len(self._online.get(account_id, ()))

    def hold(self, message: LiveMessage, device_id: str) -> None:
        self.load(device_id, message.account_id).held.add(message.id)

    def release(self, message: LiveMessage, device_id: str | None) -> None:
        if device_id is not None and device_id in self._loads:
            self._loads[device_id].held.discard(message.id)

    def held_by(self, device_id: str) -> set[str]:
        load = self._loads.get(device_id)
        return set(load.held) if load else set()

    # --- queues

    def enqueue(self, message: LiveMessage, *, front: bool = False) -> None:
        """Queue a message; ``front`` for one coming back, so it keeps its turn."""
        if message.requested_device_id:
            queue = self._manual.setdefault(message.requested_device_id, deque())
        else:
            queue = self._auto.setdefault(message.account_id, deque())
        if front:
            queue.appendleft(message)
        else:
            queue.append(message)
        heapq.heappush(self._expiry, (message.expires_at, next(self._order), message))

    def due_to_expire(self, wall: datetime) -> list[LiveMessage]:
        """Queued messages whose ``expires_at`` has passed (each returned once)."""
        due: dict[str, LiveMessage] = {}  # a requeued message has several entries
        while self._expiry and self._expiry[0][0] <= wall:
            message = heapq.heappop(self._expiry)[2]
            if message.state is State.QUEUED:
                due[message.id] = message
        return list(due.values())

    def held_ids(self) -> Iterator[str]:
        """Ids of every message dispatched to or accepted by any device."""
        for load in self._loads.values():
            yield from load.held

    def compact(self, live_messages: int) -> None:
        """Rebuild the expiry heap once stale entries outnumber live ones.

        A message leaves the heap only when its expiry time comes, which for a
        delivered message can be a day away; without this the heap would grow
        with every message sent.
        """
        if len(self._expiry) > 2 * live_messages + 1024:
            self._expiry = [e for e in self._expiry if e[2].state is State.QUEUED]
            heapq.heapify(self._expiry)

    def drop_finished(self) -> None:
        """Forget queue entries that stopped being queued while they waited (expired).

        ``take`` skips such entries lazily, but an account with no relay online
        never calls it, so without this its queue would only grow.
        """
        for queues in (self._auto, self._manual):
            for key, queue in list(queues.items()):
                waiting = deque(m for m in queue if m.state is State.QUEUED)
                if waiting:
                    queues[key] = waiting
                else:
                    del queues[key]

    def queued(self, account_id: str) -> Iterator[LiveMessage]:
        yield from self._auto.get(account_id, ())
        for relay in self._online.get(account_id, {}).values():
            yield from self._manual.get(relay.load.device_id, ())

    def take(
        self, account_id: str, now: float, wall: datetime
    ) -> tuple[list[tuple[LiveMessage, str]], list[LiveMessage]]:
        """Pick every queued message of the account that can go now.

        Returns ``(placed, expired)``: placed messages with the device each goes
        to (its capacity is already counted), and queued messages found past
        their ``expires_at``. Messages no longer queued are dropped silently.
        """
        placed: list[tuple[LiveMessage, str]] = []
        expired: list[LiveMessage] = []
        online = self._online.get(account_id)
        if not online:
            return placed, expired
        for relay in online.values():
            relay.load.trim(now)
        for device_id, relay in online.items():
            queue = self._manual.get(device_id)
            if queue:
                self._drain(queue, [relay], now, wall, placed, expired)
        queue = self._auto.get(account_id)
        if queue:
            self._drain(queue, list(online.values()), now, wall, placed, expired)
        return placed, expired

    def _drain(
        self,
        queue: deque[LiveMessage],
        relays: list[OnlineRelay],
        now: float,
        wall: datetime,
        placed: list[tuple[LiveMessage, str]],
        expired: list[LiveMessage],
    ) -> None:
        skipped: list[LiveMessage] = []
        while queue and len(skipped) < LOOKAHEAD:
            if not any(r.free(self.max_inflight) > 0 for r in relays):
                break
            message = queue.popleft()
            if message.state is not State.QUEUED:
                continue  # dispatched or finished elsewhere since it was queued
            if message.expires_at <= wall:
                expired.append(message)
                continue
            relay = self._best(message, relays)
            if relay is None:
                skipped.append(message)
                continue
            relay.load.held.add(message.id)
            relay.load.record(now, message.parts)
            placed.append((message, relay.load.device_id))
        queue.extendleft(reversed(skipped))

    def _best(self, message: LiveMessage, relays: list[OnlineRelay]) -> OnlineRelay | None:
        best: OnlineRelay | None = None
        for relay in relays:
            if relay.fits(message, self.max_inflight) and (
                best is None
                or (relay.free(self.max_inflight), -relay.load.window_parts)
                > (best.free(self.max_inflight), -best.load.window_parts)
            ):
                best = relay
        return best

    def next_room(self, account_id: str, now: float) -> float | None:
        """Seconds until the oldest send in an online relay's rate window ages out.

        None when no relay with free capacity has a window to wait for. It may
        wake the dispatcher before a full window frees room; a pump then is cheap.
        """
        waits = [
            relay.load.window[0][0] + RATE_WINDOW_S - now
            for relay in self._online.get(account_id, {}).values()
            if relay.load.window and relay.free(self.max_inflight) > 0
        ]
        return max(min(waits), 0.0) if waits else None
