"""What the Hypothesis tests of the sessions share: the frames they open with,
the ids they draw from, and how hard each kind of test searches.
"""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import HealthCheck, settings

from protocol import frames as f

AT = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
HELLO = f.Hello(
    app_version="1", model="m", os="a", sims=[f.Sim(slot=0, carrier="c")],
    limits=f.Limits(parts_per_minute=30),
)  # fmt: skip
WELCOME = f.Welcome(
    device_id="dev_a", session_id="ses_1", heartbeat_s=30, ack_timeout_s=10, max_inflight=4,
    server_time=AT,
)  # fmt: skip
DEVICES = ("dev_a", "dev_b")
MESSAGE_IDS = ("m1", "m2", "m3")
MAX_SEQ = 8
FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MACHINE = settings(
    max_examples=60,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
