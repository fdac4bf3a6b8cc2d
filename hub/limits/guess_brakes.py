"""A brake on guessing secrets: too many failures from one client and it must wait.

Pairing codes are six digits, so without a brake a client could try them all
within a code's lifetime and pair a phone into someone else's account. Each
client address may fail ``limit`` times per ``window_s``; past that it gets
``rate_limited`` until its oldest failure ages out. The injected clock decides
the time, so tests move time instead of waiting.

A guess is charged before its secret is checked, never after: the check
awaits the database, and a brake read before that await and written after it
lets every guess in flight through (300 at once all got checked). ``charge``
reads and counts in one step with no await between; a guess that proves
right is refunded, so only failures stay on the count.

On a cluster node a brake also counts in the database (``SharedBrake``), so a
client spreading guesses over the nodes meets one limit: after the in-memory
charge (which still comes before any await), ``charge_cluster`` counts the
guess cluster-wide and ``refund_cluster`` takes it back there.

An IPv6 client is counted by its /64: one host is usually handed a whole /64,
and could otherwise take a fresh address for every guess.
"""

from __future__ import annotations

import ipaddress
import math
from collections import deque
from collections.abc import Awaitable
from typing import TypeVar

from hub.clock import Clock
from hub.limits.shared import SharedBrake

T = TypeVar("T")


def client_key(address: str) -> str:
    """Whose failures ``address`` adds to: itself, or for IPv6 its /64."""
    if ":" not in address:
        return address
    try:
        ip = ipaddress.IPv6Address(address.split("%")[0])
    except ValueError:
        return address
    if ip.ipv4_mapped is not None:  # an IPv4 client of a dual-stack socket
        return str(ip.ipv4_mapped)
    return str(ipaddress.IPv6Network((ip, 64), strict=False))


class GuessBrake:
    def __init__(
        self, clock: Clock, limit: int, window_s: float, shared: SharedBrake | None = None
    ) -> None:
        """``shared``: the cluster's count of this brake (None: this node alone)."""
        self._clock = clock
        self._shared = shared
        self.limit = limit
        self.window_s = window_s
        self._failures: dict[str, deque[float]] = {}

    def retry_after(self, client: str) -> int:
        """Seconds ``client`` must wait before trying again; 0 if it may try now."""
        failures = self._recent(client)
        if len(failures) < self.limit:
            return 0
        return max(1, math.ceil(failures[0] + self.window_s - self._clock.monotonic()))

    def refusal_headers(self, policy: str, wait: int) -> dict[str, str]:
        """The headers of a 429 that waits ``wait`` s: ``Retry-After`` and the IETF
        ``RateLimit`` pair, naming this brake ``policy``."""
        return {
            "Retry-After": str(wait),
            "RateLimit-Policy": f'"{policy}";q={self.limit};w={int(self.window_s)}',
            "RateLimit": f'"{policy}";r=0;t={wait}',
        }

    def charge(self, client: str) -> int:
        """Count a guess by ``client`` before checking it: 0 if it may be checked
        (now counted as a failure until ``refund``), else the seconds to wait
        (nothing counted, so guesses while braked do not push the end back)."""
        wait = self.retry_after(client)
        if wait:
            return wait
        if len(self._failures) > 100_000:  # bound memory under a wide scan
            self._failures.clear()
        self._recent(client).append(self._clock.monotonic())
        return 0

    async def charge_cluster(self, client: str) -> int:
        """Count a guess that ``charge`` let through against the cluster's limit:
        0, or the seconds to wait (then this node's charge is taken back, so the
        two counts stay alike). 0 at once on one node."""
        if self._shared is None:
            return 0
        wait = await self._shared.charge(client_key(client))
        if wait:
            self._pop(client)
        return wait

    async def look_up(self, client: str, lookup: Awaitable[T | None]) -> tuple[T | None, int]:
        """A secret's ``lookup`` under the brake: charged before it is awaited (it
        may read the database), refunded if it found something. What it found (a
        found secret works even while the client is braked), and for a miss the
        seconds to wait (0: refuse it as unknown; else as braked). A miss is also
        counted cluster-wide on a cluster node."""
        wait = self.charge(client)
        found = await lookup
        if found is not None:
            if not wait:
                self.refund(client)
            return found, 0
        if not wait:
            wait = await self.charge_cluster(client)
        return None, wait

    def refund(self, client: str) -> None:
        """Take back a charge of ``client`` whose secret proved right."""
        self._pop(client)

    def refund_cluster(self, client: str) -> None:
        """Take back a ``charge_cluster`` of ``client`` (nothing on one node)."""
        if self._shared is not None:
            self._shared.refund(client_key(client))

    def _pop(self, client: str) -> None:
        failures = self._recent(client)
        if failures:
            failures.pop()  # the newest: charges in one window are interchangeable

    def _recent(self, client: str) -> deque[float]:
        failures = self._failures.setdefault(client_key(client), deque())
        horizon = self._clock.monotonic() - self.window_s
        while failures and failures[0] <= horizon:
            failures.popleft()
        return failures
