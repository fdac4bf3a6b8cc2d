"""``Idempotency-Key``: a retried send gets the first answer instead of a second SMS.

Same key and same body within 24 h → the stored answer again (with
``Idempotent-Replayed: true``); same key, another body → ``IdempotencyKeyReused``;
same key while the first request is still being handled → ``IdempotencyKeyBusy``
(the API answers them 422 and 409 ``idempotency_conflict``). The answer is
stored in the same transaction as the message (``statement``), so a crash can
never leave a queued message without its key. Reading the header is the API's
(hub/api/sms.py).

On a cluster node the in-memory claim cannot see another node's request, so
the claim is also a row: ``claim_row`` inserts the key with ``status`` 0 (in
progress) with ``INSERT … ON CONFLICT DO NOTHING RETURNING`` and commits it
before the send; the one node whose insert returns a row goes ahead, and the
message's transaction (``statement``) fills in its answer. Any other request
finds the row: a replay once answered, ``IdempotencyKeyBusy`` meanwhile, as
on one node. (The claim is not part of the message's transaction because the
engine places a message before its insert commits: a message transaction that
failed on the key would make the hub rebuild from storage.) A claim left by a
node that died mid-send is taken over after ``ABANDONED``.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

import msgspec

from hub.clock import rfc3339
from hub.errors import IdempotencyKeyBusy, IdempotencyKeyReused
from hub.store.interface import Statement, StorageUnavailable, Store, Tx

KEEP: Final = timedelta(hours=24)
ABANDONED: Final = timedelta(seconds=60)
_IN_PROGRESS: Final = 0


@dataclass(frozen=True, slots=True)
class Replay:
    status: int
    body: bytes


def request_hash(body: msgspec.Struct) -> bytes:
    # The decoded body, re-encoded: key order and white space do not make a conflict.
    return hashlib.sha256(msgspec.json.encode(body)).digest()


class IdempotencyKeys:
    def __init__(self, store: Store, *, cluster: bool = False) -> None:
        """``cluster``: claims are rows too, so every node sees them."""
        self._store = store
        self._cluster = cluster
        self._in_flight: set[tuple[str, str]] = set()

    async def replay(
        self, account_id: str, key: str, digest: bytes, now: datetime
    ) -> Replay | None:
        """The stored answer for this key, or None if the send should go ahead
        (on a cluster node: this node has claimed the key everywhere)."""
        if self._cluster:
            return await self._claim_row(account_id, key, digest, now)
        row = await self._store.fetchone(
            "SELECT request_hash, status, body FROM idempotency_keys"
            " WHERE account_id = ? AND key = ? AND created_at > ?",
            (account_id, key, rfc3339(now - KEEP)),
        )
        if row is None:
            return None
        if bytes(row["request_hash"]) != digest:
            raise IdempotencyKeyReused()
        return Replay(row["status"], bytes(row["body"]))

    async def _claim_row(
        self, account_id: str, key: str, digest: bytes, now: datetime
    ) -> Replay | None:
        stamp = rfc3339(now)
        expired, abandoned = rfc3339(now - KEEP), rfc3339(now - ABANDONED)

        def op(tx: Tx) -> Replay | None:
            claimed = tx.execute(
                "INSERT INTO idempotency_keys AS k"
                " (account_id, key, request_hash, status, body, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (account_id, key) DO UPDATE"
                " SET request_hash = excluded.request_hash, status = excluded.status,"
                " body = excluded.body, created_at = excluded.created_at"
                " WHERE k.created_at <= ? OR (k.status = ? AND k.created_at <= ?)"
                " RETURNING k.key",
                (account_id, key, digest, _IN_PROGRESS, b"", stamp,
                 expired, _IN_PROGRESS, abandoned),
            ).fetchone()  # fmt: skip
            if claimed is not None:
                return None
            row = tx.execute(
                "SELECT request_hash, status, body FROM idempotency_keys"
                " WHERE account_id = ? AND key = ?",
                (account_id, key),
            ).fetchone()
            if bytes(row["request_hash"]) != digest:
                raise IdempotencyKeyReused()
            if row["status"] == _IN_PROGRESS:
                raise IdempotencyKeyBusy()
            return Replay(row["status"], bytes(row["body"]))

        return await self._store.write(op)

    async def unclaim(self, account_id: str, key: str) -> None:
        """The claimed send was not written (refused, or the write failed): on a
        cluster node its in-progress row goes before the answer, so a retry on
        any node is not told it is busy. (If storage is down, it lapses after
        ``ABANDONED``.)"""
        if not self._cluster:
            return
        params = (account_id, key, _IN_PROGRESS)
        with contextlib.suppress(StorageUnavailable):
            await self._store.write(
                lambda tx: tx.execute(
                    "DELETE FROM idempotency_keys WHERE account_id = ? AND key = ? AND status = ?",
                    params,
                )
            )

    def prune(self, now: datetime) -> None:
        """Forget answers older than 24 h (nothing can replay them any more)."""
        horizon = rfc3339(now - KEEP)
        self._store.write_later(
            lambda conn: conn.execute(
                "DELETE FROM idempotency_keys WHERE created_at <= ?", (horizon,)
            )
        )

    @contextmanager
    def claim(self, account_id: str, key: str) -> Iterator[None]:
        """Hold the key while its first request is handled; a second one meanwhile
        gets ``IdempotencyKeyBusy``."""
        if (account_id, key) in self._in_flight:
            raise IdempotencyKeyBusy()
        self._in_flight.add((account_id, key))
        try:
            yield
        finally:
            self._in_flight.discard((account_id, key))

    @staticmethod
    def statement(
        account_id: str, key: str, digest: bytes, status: int, body: bytes, now: datetime
    ) -> Statement:
        """Store the answer; joins the write that queues the message."""
        return (
            "INSERT INTO idempotency_keys"
            " (account_id, key, request_hash, status, body, created_at) VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (account_id, key) DO UPDATE SET request_hash = excluded.request_hash,"
            " status = excluded.status, body = excluded.body, created_at = excluded.created_at",
            (account_id, key, digest, status, body, rfc3339(now)),
        )
