"""How a simulated phone behaves: its delays and faults, and the fate of each job.

A ``Profile`` is the knob a test or the CLI turns; ``Profile.plan`` draws, once
per job, everything that will happen to it (a ``JobPlan``), so the relay's job
pipeline reads as a straight line and a seeded relay makes the same choices
for the same jobs.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, fields
from typing import Final

Range = tuple[float, float]


@dataclass(frozen=True)
class Profile:
    name: str
    ack_delay_s: Range = (0, 0)  # uniform range before `accepted`
    send_latency_s: Range = (0, 0)  # accepted → `sent`
    send_failure_rate: float = 0.0  # → `failed` (generic_failure, not retryable)
    delivery_delay_s: Range = (0, 0)  # sent → `delivered`
    never_delivered_rate: float = 0.0  # sent, then no delivery report ever
    duplicate_report_rate: float = 0.0  # a report goes out a second time
    out_of_order_rate: float = 0.0  # `delivered` is created (and sent) before `sent`
    disconnect_rate: float = 0.0  # per job: the socket is dropped right after `accepted`
    heartbeat: bool = True

    def __post_init__(self) -> None:
        for spec in fields(self):
            value = getattr(self, spec.name)
            if spec.name.endswith("_s"):
                low, high = value
                if not 0 <= low <= high:
                    raise ValueError(f"{spec.name} must be a range 0 <= low <= high, not {value}")
            elif spec.name.endswith("_rate") and not 0 <= value <= 1:
                raise ValueError(f"{spec.name} must be between 0 and 1, not {value}")

    def plan(self, rng: random.Random) -> JobPlan:
        """Draw what will happen to one job, in a fixed order of draws."""
        ack_delay_s = rng.uniform(*self.ack_delay_s)
        disconnect = rng.random() < self.disconnect_rate
        send_latency_s = rng.uniform(*self.send_latency_s)
        send_fails = rng.random() < self.send_failure_rate
        delivered = rng.random() >= self.never_delivered_rate
        delivery_delay_s = rng.uniform(*self.delivery_delay_s)
        delivered_first = rng.random() < self.out_of_order_rate
        return JobPlan(
            ack_delay_s=ack_delay_s,
            disconnect_after_accept=disconnect,
            send_latency_s=send_latency_s,
            send_fails=send_fails,
            delivery_delay_s=delivery_delay_s if delivered and not send_fails else None,
            delivered_first=delivered_first and delivered and not send_fails,
        )


@dataclass(frozen=True, slots=True)
class JobPlan:
    """The fate of one send job, drawn from a profile when the job arrives."""

    ack_delay_s: float
    disconnect_after_accept: bool
    send_latency_s: float
    send_fails: bool
    delivery_delay_s: float | None  # None: no delivery report ever comes
    delivered_first: bool  # report `delivered` before `sent`


PROFILES: Final[dict[str, Profile]] = {
    profile.name: profile
    for profile in (
        Profile("ideal"),
        Profile(
            "realistic",
            ack_delay_s=(0.02, 0.2),
            send_latency_s=(0.2, 1.5),
            send_failure_rate=0.02,
            delivery_delay_s=(1, 8),
            never_delivered_rate=0.03,
        ),
        Profile(
            "flaky",
            ack_delay_s=(0.05, 3),
            send_latency_s=(0.2, 2),
            send_failure_rate=0.05,
            delivery_delay_s=(1, 10),
            never_delivered_rate=0.05,
            duplicate_report_rate=0.1,
            out_of_order_rate=0.1,
            disconnect_rate=0.05,
        ),
        # An app that stalled on its jobs but still heartbeats: the hub keeps
        # them dispatched and offers them again after every reconnect.
        Profile("stalled", ack_delay_s=(86_400, 86_400)),
    )
}
