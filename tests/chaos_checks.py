"""What the chaos soaks share: the one-node soak (tests/e2e/test_chaos.py) and
the cluster's (tests/cluster/test_cluster_chaos.py).

The relays' hostile profile, and the checks made at the end on storage's event
history (the webhook receiver's side is tests/e2e/announced.py).
"""

from __future__ import annotations

from relay_sim.profiles import Profile

# Every fault the simulator has, except a delivery report that never comes:
# then a message would rightly stay `sent` for good, which is not terminal.
HOSTILE = Profile(
    "hostile",
    ack_delay_s=(0, 0.03),
    send_latency_s=(0, 0.03),
    send_failure_rate=0.05,
    delivery_delay_s=(0, 0.05),
    duplicate_report_rate=0.2,
    out_of_order_rate=0.2,
    disconnect_rate=0.1,
)
TERMINAL_EVENTS = {"message.delivered", "message.failed"}
TERMINAL_STATES = {"delivered", "failed", "expired", "cancelled"}


def dispatched_after_acceptance(history: list[tuple[str, str]]) -> set[str]:
    """Messages storage shows dispatched again after a relay accepted them."""
    accepted: set[str] = set()
    broken: set[str] = set()
    for message_id, state in history:
        if state == "accepted":
            accepted.add(message_id)
        elif state == "dispatched" and message_id in accepted:
            broken.add(message_id)
    return broken


def handed_to_another_relay_after_acceptance(
    history: list[tuple[str, str, str | None]],
) -> set[str]:
    """Messages storage shows dispatched to another device than the one that accepted
    them (``history``: message id, state, device id, in the order written)."""
    acceptor: dict[str, str | None] = {}
    broken: set[str] = set()
    for message_id, state, device_id in history:
        if state == "accepted":
            acceptor.setdefault(message_id, device_id)
        elif state == "dispatched" and acceptor.get(message_id, device_id) != device_id:
            broken.add(message_id)
    return broken
