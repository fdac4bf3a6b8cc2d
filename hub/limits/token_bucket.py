"""A token bucket, the one rate limit of the hub (account sends, inbound SMS per device)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class TokenBucket:
    """``capacity`` takes at once, refilled at ``per_second``."""

    capacity: float
    per_second: float
    tokens: float
    at: float  # monotonic time of the last refill

    @classmethod
    def full(cls, capacity: float, per_second: float, now: float) -> TokenBucket:
        return cls(capacity, per_second, capacity, now)

    def take(self, now: float) -> float:
        """Take one; returns 0.0, or the seconds until one is available (nothing taken)."""
        self.tokens = min(self.capacity, self.tokens + (now - self.at) * self.per_second)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.per_second
