"""Limits that hold for a cluster: counted in PostgreSQL, so N nodes allow what one would.

Used only with ``[cluster] enabled``; one node keeps its in-memory counts
(``hub.accounts.directory``, ``hub.limits.guess_brakes``), which cost no round trip.

- A send's admission is one call of ``rh_admit_send`` (postgres_schema.sql),
  one round trip. Its send rate is a GCRA in one statement: a row per key
  holds the theoretical arrival time (``tat``) on the database's clock; the
  UPDATE moves it on only if the send fits (a compare-and-set under the row's
  lock), else changes nothing.
  It allows exactly what ``TokenBucket`` allows: ``per_minute`` at once, refilled
  at ``per_minute / 60`` a second.
- ``max_queued`` counts the account's queued messages in the database, plus the
  holds of sends admitted but not committed yet, under a transaction advisory
  lock per account; the admitted send leaves a hold that its own transaction
  deletes (``release``). Either a racing check sees the hold or it sees the
  committed messages: the count and the delete are each one snapshot.
- Guessing brakes keep one row per failure; ``charge`` counts and adds under an
  advisory lock per (brake, client).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

from hub.clock import Clock, rfc3339
from hub.errors import QueueFull, RateLimited
from hub.ids import new_id
from hub.store.interface import Statement, Store, Tx

# First keys of the advisory locks ("rq", "rg"): the second is a hash of the
# scope (a collision only makes two scopes wait for each other).
QUEUE_LOCK: Final = 0x7271  # 29297, written out in rh_admit_send
GUESS_LOCK: Final = 0x7267
# A hold of a send that never commits (its node died, its write failed) stops
# counting after this long: it errs on the side of refusing meanwhile.
HOLD_S: Final = 60.0

_NOW: Final = "extract(epoch from statement_timestamp())"


@dataclass(frozen=True, slots=True)
class Hold:
    """Room taken for a send; ``release`` joins the send's transaction."""

    id: str

    @property
    def release(self) -> Statement:
        return ("DELETE FROM limit_holds WHERE id = ?", (self.id,))


def take_hold(tx: Tx, clock: Clock, scope: str, n: int) -> Hold:
    hold = Hold(new_id("hold", clock.now()))
    tx.execute(
        f"INSERT INTO limit_holds (id, scope, n, at, until_ts) VALUES (?, ?, ?, ?, {_NOW} + ?)",
        (hold.id, scope, n, rfc3339(clock.now()), HOLD_S),
    )
    return hold


def live_holds(scope: str) -> Statement:
    """How many the scope's live holds take, and the latest one's time (or NULL)."""
    return (
        "SELECT coalesce(sum(n), 0) AS n, max(at) AS at FROM limit_holds"
        f" WHERE scope = ? AND until_ts > {_NOW}",
        (scope,),
    )


class SharedLimits:
    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    async def admit_send(
        self, account_id: str, per_minute: int, max_queued: int, adding: int
    ) -> Hold:
        """``QueueFull`` if ``adding`` more would overfill the account's queue
        cluster-wide, ``RateLimited`` past its send rate cluster-wide; else the
        hold that counts them until their transaction commits."""
        hold = Hold(new_id("hold", self._clock.now()))
        at = rfc3339(self._clock.now())

        def op(tx: Tx) -> Hold:
            # One statement, so one round trip of the writer (rh_admit_send in
            # postgres_schema.sql: the lock, the count, the GCRA, the hold).
            row = tx.execute(
                "SELECT queued, wait_s FROM rh_admit_send(?, ?, ?, ?, ?, ?, ?)",
                (account_id, per_minute, max_queued, adding, hold.id, at, HOLD_S),
            ).fetchone()
            queued, wait = int(row["queued"]), float(row["wait_s"])
            if queued + adding > max_queued:
                raise QueueFull(queued, adding, max_queued)
            if wait:
                raise RateLimited(per_minute, math.ceil(wait))
            return hold

        return await self._store.write(op)

    def drop(self, hold: Hold) -> None:
        """Give back a hold whose send will not be written (refused or failed)."""
        sql, params = hold.release
        self._store.write_later(lambda tx: tx.execute(sql, params))


class SharedBrake:
    """A guessing brake's failures in the database, for every node of a cluster."""

    def __init__(self, store: Store, name: str, limit: int, window_s: float) -> None:
        self._store = store
        self._name = name
        self._limit = limit
        self._window_s = window_s

    async def charge(self, client: str) -> int:
        """As ``GuessBrake.charge``, counted cluster-wide: 0 (counted) or seconds to wait."""
        name, limit, window = self._name, self._limit, self._window_s

        def op(tx: Tx) -> int:
            tx.execute(
                "SELECT pg_advisory_xact_lock(?, hashtext(?))", (GUESS_LOCK, f"{name} {client}")
            )
            # The client's aged-out failures go first: its rows stay few.
            tx.execute(
                f"DELETE FROM guess_failures WHERE brake = ? AND client = ? AND at <= {_NOW} - ?",
                (name, client, window),
            )
            row = tx.execute(
                f"SELECT count(*) AS n, min(at) - {_NOW} AS oldest FROM guess_failures"
                " WHERE brake = ? AND client = ?",
                (name, client),
            ).fetchone()
            if int(row["n"]) >= limit:
                return max(1, math.ceil(float(row["oldest"]) + window))
            tx.execute(
                f"INSERT INTO guess_failures (brake, client, at) VALUES (?, ?, {_NOW})",
                (name, client),
            )
            return 0

        return await self._store.write(op)

    def refund(self, client: str) -> None:
        """Take back the client's newest charge (its secret proved right)."""
        params = (self._name, client)
        self._store.write_later(
            lambda tx: tx.execute(
                "DELETE FROM guess_failures WHERE id = (SELECT max(id) FROM guess_failures"
                " WHERE brake = ? AND client = ?)",
                params,
            )
        )


def prune(store: Store, guess_window_s: float) -> None:
    """Forget lapsed holds, and failures older than every brake's window (a
    client that never came back: its own charges would have deleted them)."""
    store.write_later(
        lambda tx: (
            tx.execute(f"DELETE FROM limit_holds WHERE until_ts <= {_NOW}"),
            tx.execute(f"DELETE FROM guess_failures WHERE at <= {_NOW} - ?", (guess_window_s,)),
        )
    )
