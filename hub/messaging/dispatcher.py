"""Routing and flow control: which online relay gets which queued message, and when.

The dispatcher only decides; the engine (``hub.messaging``) applies its choices. Queues
are per account and SIM slot (auto relay mode) and per device (manual mode),
oldest first, and each has a lane per priority (``LiveMessage.priority``): a
lane is only drained once every more urgent lane has nothing that can go, so
an OTP never waits behind bulk sends.
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
from typing import Any, Literal

from hub.messaging.message import LiveMessage
from protocol.lifecycle import State

RATE_WINDOW_S = 60.0
# How far past an unplaceable head message (e.g. a SIM slot no online relay has)
# the dispatcher looks before it stops for now.
LOOKAHEAD = 64


@dataclass(frozen=True, slots=True)
class Waiting:
    """Why a queued message has not gone to a relay yet, in the API's words.

    ``after_s``: seconds until it can go by itself (a rate window ages, a retry
    pause ends), when the dispatcher knows; None when it waits on an event (a
    phone connects, a report frees a slot).
    """

    reason: Literal["no_relay_online", "relays_busy"]  # API.md's ``waiting.reason``
    detail: str
    after_s: float | None = None


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

    def has_room(self, max_inflight: int) -> bool:
        """Whether some message could fit now: a free slot and rate left this minute."""
        load = self.load
        return (
            len(load.held) < max_inflight
            and bool(self.sims)
            and (load.window_parts < self.parts_per_minute or load.window_parts == 0)
        )


class Dispatcher:
    def __init__(self, max_inflight: int) -> None:
        self.max_inflight = max_inflight
        self.reset()

    def reset(self) -> None:
        """Forget every queue, hold and online relay (memory is rebuilt from storage)."""
        # (account, SIM slot, priority) → queue; account → its (slot, priority) keys.
        self._auto: dict[tuple[str, int | None, int], deque[LiveMessage]] = {}
        self._slots: dict[str, set[tuple[int | None, int]]] = {}
        self._retry_at: dict[str, float] = {}  # account → earliest not_before held back
        self._manual: dict[tuple[str, int], deque[LiveMessage]] = {}  # (device, priority)
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

    def online_accounts(self) -> list[str]:
        return [account for account, online in self._online.items() if online]

    def online_devices(self, account_id: str) -> list[str]:
        return list(self._online.get(account_id, ()))

    def free_slots(self, account_id: str) -> int:
        """Jobs the account's online relays could take now (free slots of those with room)."""
        relays = self._online.get(account_id, {}).values()
        return sum(r.free(self.max_inflight) for r in relays if r.has_room(self.max_inflight))

    def hold(self, message: LiveMessage, device_id: str) -> None:
        self.load(device_id, message.account_id).held.add(message.id)

    def release(self, message: LiveMessage, device_id: str | None) -> None:
        if device_id is not None and device_id in self._loads:
            self._loads[device_id].held.discard(message.id)

    def held_by(self, device_id: str) -> set[str]:
        load = self._loads.get(device_id)
        return set(load.held) if load else set()

    # --- queues

    def _queue_for(self, message: LiveMessage) -> deque[LiveMessage]:
        # Manual sends wait per device; auto sends per account and SIM slot, so
        # a message for a slot no online relay has only holds up its own kind.
        priority = message.priority
        if message.requested_device_id:
            return self._manual.setdefault((message.requested_device_id, priority), deque())
        self._slots.setdefault(message.account_id, set()).add((message.sim_slot, priority))
        return self._auto.setdefault((message.account_id, message.sim_slot, priority), deque())

    def enqueue(self, message: LiveMessage, *, front: bool = False) -> None:
        """Queue a message; ``front`` for one coming back, so it keeps its turn.

        A message already waiting in a queue is left where it is: it is never
        in a queue twice.
        """
        if message.in_queue:
            return
        message.in_queue = True
        queue = self._queue_for(message)
        if front:
            queue.appendleft(message)
        else:
            queue.append(message)
        heapq.heappush(self._expiry, (message.expires_at, next(self._order), message))

    def withdraw_queued(self, account_id: str) -> list[LiveMessage]:
        """Take every queued message of the account out of its queues (a cluster node
        hands them to the shared queue); their expiry entries are skipped by the caller."""
        queues = [self._auto.pop(k) for k in [k for k in self._auto if k[0] == account_id]]
        pinned = [k for k, q in self._manual.items() if q and q[0].account_id == account_id]
        queues += [self._manual.pop(k) for k in pinned]
        self._slots.pop(account_id, None)
        taken: list[LiveMessage] = []
        for message in itertools.chain.from_iterable(queues):
            message.in_queue = False
            if message.state is State.QUEUED:
                taken.append(message)
        return taken

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

    def expiry_entries(self) -> int:
        """Entries in the expiry heap, stale ones included: what ``compact`` bounds."""
        return len(self._expiry)

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

        ``place`` skips such entries lazily, but an account with no relay online
        never calls it, so without this its queue would only grow.
        """
        queues: list[dict[Any, deque[LiveMessage]]] = [self._auto, self._manual]
        for by_key in queues:
            for key, queue in list(by_key.items()):
                waiting: deque[LiveMessage] = deque()
                for message in queue:
                    if message.state is State.QUEUED:
                        waiting.append(message)
                    else:
                        message.in_queue = False
                if waiting:
                    by_key[key] = waiting
                else:
                    del by_key[key]

    def _auto_queues(self, account_id: str, priority: int) -> list[deque[LiveMessage]]:
        keys = (
            (account_id, slot, p) for slot, p in self._slots.get(account_id, ()) if p == priority
        )
        return [q for q in (self._auto.get(k) for k in keys) if q]

    def _priorities(self, account_id: str) -> list[int]:
        """The account's lanes that may have messages, most urgent first."""
        lanes = {p for _, p in self._slots.get(account_id, ())}
        lanes |= {p for (device, p) in self._manual if device in self._online.get(account_id, {})}
        return sorted(lanes)

    def queued(self, account_id: str) -> Iterator[LiveMessage]:
        for priority in self._priorities(account_id):
            for queue in self._auto_queues(account_id, priority):
                yield from queue
            for relay in self._online.get(account_id, {}).values():
                yield from self._manual.get((relay.load.device_id, priority), ())

    def waiting(self, message: LiveMessage, now: float) -> Waiting | None:
        """Why ``message`` (queued) is not with a relay yet; None if one can take it now.

        A read: nothing is placed or reordered (rate entries past their window
        are dropped). None also for a message about to be placed by the next
        dispatch round.
        """
        online = self._online.get(message.account_id, {})
        pinned = message.requested_device_id
        if pinned is not None:
            relay = online.get(pinned)
            if relay is None:
                return Waiting(
                    "no_relay_online",
                    f"device {pinned}, which this message is pinned to (device_id), is"
                    " offline; open the relay app on that phone, or send without device_id"
                    " to let any online phone take it",
                )
            relays = [relay]
        elif not online:
            return Waiting(
                "no_relay_online",
                "no phone of this account is online; open the relay app on a paired phone"
                " (or run `relayhub sim`): the message goes out as soon as one connects",
            )
        else:
            relays = list(online.values())
        slot = message.sim_slot
        with_sim = [r for r in relays if r.sims and (slot is None or slot in r.sims)]
        if not with_sim:
            which = f"a SIM in slot {slot}" if slot is not None else "a SIM"
            return Waiting(
                "no_relay_online",
                f"no online phone of this account has {which}; connect one that does",
            )
        return self._busy(message, with_sim, now)

    def _busy(self, message: LiveMessage, relays: list[OnlineRelay], now: float) -> Waiting | None:
        """The wait of a message whose phones are online but may all be full."""
        waits: list[float] = []
        for relay in relays:
            load = relay.load
            if len(load.held) >= self.max_inflight:
                continue  # free once the phone reports: no time to promise
            load.trim(now)  # drops only what has left the window; place() would anyway
            # Held jobs and SIMs are settled above, so only the rate can refuse it;
            # room comes back as the oldest send leaves the window (as in next_room).
            fits = relay.fits(message, self.max_inflight)
            wait = 0.0 if fits else load.window[0][0] + RATE_WINDOW_S - now
            paused_until = message.not_before if load.device_id == message.avoid_device else None
            if paused_until is not None and paused_until > now:
                wait = max(wait, paused_until - now)  # it gave this message back just now
            if wait <= 0:
                return None
            waits.append(wait)
        return Waiting(
            "relays_busy",
            "every online phone that can send it is at its limit (max_inflight jobs in"
            " flight or its parts_per_minute rate); it goes out as soon as one has room."
            " Pair more phones, or raise the phones' limits, to send faster",
            min(waits) if waits and len(waits) == len(relays) else None,
        )

    def place(
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
        self._retry_at.pop(account_id, None)
        if not online:
            return placed, expired
        room = False
        for relay in online.values():
            relay.load.trim(now)
            room = room or relay.has_room(self.max_inflight)
        if not room:
            # Every relay is full or at its rate: the common case under load, and
            # every send and report asks. Nothing can go, so no message is looked
            # at (expired ones are the sweep's).
            return placed, expired
        for priority in self._priorities(account_id):
            for device_id, relay in online.items():
                queue = self._manual.get((device_id, priority))
                if queue:
                    self._drain(account_id, queue, [relay], now, wall, placed, expired)
            for queue in self._auto_queues(account_id, priority):
                self._drain(account_id, queue, list(online.values()), now, wall, placed, expired)
        return placed, expired

    def _drain(
        self,
        account_id: str,
        queue: deque[LiveMessage],
        relays: list[OnlineRelay],
        now: float,
        wall: datetime,
        placed: list[tuple[LiveMessage, str]],
        expired: list[LiveMessage],
    ) -> None:
        skipped: list[LiveMessage] = []
        while queue and len(skipped) < LOOKAHEAD:
            if not any(r.has_room(self.max_inflight) for r in relays):
                break
            message = queue.popleft()
            message.in_queue = False
            if message.state is not State.QUEUED:
                continue  # dispatched or finished elsewhere since it was queued
            if message.expires_at <= wall or not message.text:
                # No text: an OTP whose text was removed once a relay accepted it,
                # given back after a restart. It cannot go out again.
                expired.append(message)
                continue
            relay = self._best(message, relays, now)
            if relay is None:
                if message.not_before is not None and message.not_before > now:
                    retry = self._retry_at.get(account_id, message.not_before)
                    self._retry_at[account_id] = min(retry, message.not_before)
                skipped.append(message)
                continue
            relay.load.held.add(message.id)
            relay.load.record(now, message.parts)
            placed.append((message, relay.load.device_id))
        for message in skipped:
            message.in_queue = True
        queue.extendleft(reversed(skipped))

    def _best(
        self, message: LiveMessage, relays: list[OnlineRelay], now: float
    ) -> OnlineRelay | None:
        """The fitting relay with the most free capacity.

        The device that just gave the message back (``avoid_device``) is the
        last choice, and after a retryable failure only once ``not_before``
        has passed: a busy phone is not asked again at once.
        """
        best: OnlineRelay | None = None
        fallback: OnlineRelay | None = None
        for relay in relays:
            if not relay.fits(message, self.max_inflight):
                continue
            if relay.load.device_id == message.avoid_device:
                if message.not_before is None or message.not_before <= now:
                    fallback = relay
                continue
            if best is None or (relay.free(self.max_inflight), -relay.load.window_parts) > (
                best.free(self.max_inflight),
                -best.load.window_parts,
            ):
                best = relay
        return best or fallback

    def next_room(self, account_id: str, now: float) -> float | None:
        """Seconds until a waiting message may be placed: a rate window ages or a
        retry delay ends. None when there is nothing to wait for (then only a
        report or a new relay frees room). It may wake the engine early; a
        dispatch round then is cheap.
        """
        waits = [
            relay.load.window[0][0] + RATE_WINDOW_S - now
            for relay in self._online.get(account_id, {}).values()
            if relay.load.window and relay.free(self.max_inflight) > 0
        ]
        if account_id in self._retry_at:
            waits.append(self._retry_at[account_id] - now)
        return max(min(waits), 0.0) if waits else None
