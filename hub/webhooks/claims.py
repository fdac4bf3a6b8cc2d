"""Several nodes, one attempt at a time: a webhook attempt is claimed before it is made.

Every node's sender knows every pending delivery (they all read the same new
deliveries), so when one is due they all want it. The first to claim it
(``SELECT … FOR UPDATE SKIP LOCKED`` and a lease, ``locked_until`` on the
database's clock) makes the attempt; the others come back when the lease
would run out. Recording the outcome clears the claim in the same write,
fenced by the claiming node and the attempt count, so a node that lost its
claim records nothing.

A node that dies mid-attempt leaves its claim to run out. The next node to
claim the delivery writes that attempt into the attempts log as made with
its outcome unknown (the receiver may have had it: the next one carries the
same ``webhook-id``), then makes the next attempt. On one node nothing here
is used: there is nobody to race with, and the claim would be a write more
per attempt.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from hub.store.interface import Tx

# How long a claim outlives the attempt's own timeout: the POST, then the
# outcome's commit.
CLAIM_MARGIN_S: Final = 2.0


@dataclass(frozen=True, slots=True)
class Claimed:
    attempt_count: int  # attempts made before this one (a lost one included)


@dataclass(frozen=True, slots=True)
class Busy:
    """Another node is making the attempt (or claiming it right now)."""


@dataclass(frozen=True, slots=True)
class Moved:
    """Not pending any more, or its attempt count moved on: read it again."""


ClaimResult = Claimed | Busy | Moved


def claim(
    node_id: str, delivery_id: str, attempt_count: int, lease_s: float, at: str
) -> Callable[[Tx], ClaimResult]:
    """A write op: claim the delivery's next attempt for ``node_id`` until ``lease_s`` from now."""

    def op(tx: Tx) -> ClaimResult:
        # Only a row this node may claim is locked: locking one another node
        # holds (to find it busy) would keep the lock until this batch commits,
        # and that node's outcome write for it would wait on this batch while
        # this batch waits on one of its rows: a deadlock.
        row = tx.execute(
            "SELECT attempt_count, locked_by, locked_at FROM webhook_deliveries"
            " WHERE id = ? AND status = 'pending'"
            " AND (locked_by IS NULL OR locked_until < now()) FOR UPDATE SKIP LOCKED",
            (delivery_id,),
        ).fetchone()
        if row is None:
            seen = tx.execute(
                "SELECT status, attempt_count FROM webhook_deliveries WHERE id = ?",
                (delivery_id,),
            ).fetchone()
            if seen is None or seen["status"] != "pending":
                return Moved()
            return Busy()  # claimed by another node, or its claim is being written
        count = int(row["attempt_count"])
        if row["locked_by"] is not None:
            # The claim ran out: its node stopped mid-attempt and recorded nothing.
            count += 1
            tx.execute(
                "INSERT INTO webhook_attempts (delivery_id, n, at, status_code, latency_ms,"
                " error, response_excerpt) VALUES (?, ?, ?, NULL, 0, ?, NULL)",
                (delivery_id, count, row["locked_at"] or at,
                 f"node {row['locked_by']} stopped during this attempt; its outcome is unknown"),
            )  # fmt: skip
        elif count != attempt_count:
            return Moved()
        tx.execute(
            "UPDATE webhook_deliveries SET locked_by = ?, locked_at = ?, attempt_count = ?,"
            " locked_until = now() + make_interval(secs => ?) WHERE id = ?",
            (node_id, at, count, lease_s, delivery_id),
        )
        return Claimed(count)

    return op
