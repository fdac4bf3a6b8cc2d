"""Accounts: who may send, how fast, and how much may wait.

Settings are kept in memory (loaded at start, replaced on every change) so the
send path never waits for a read. ``admit`` is the one check every sending
endpoint makes before it queues anything.

Messages are kept for good and the disk is shared, so each account may keep at
most ``[limits] max_stored_messages``. The count lives in memory too: loaded
once at start, raised by every admitted send. A send whose write then fails is
still counted until the next start, which errs on the side of refusing.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import datetime

from hub.clock import Clock, rfc3339
from hub.config import LimitsConfig
from hub.errors import QueueFull, QueuePaused, QuotaExceeded, RateLimited, SubscriptionExpired
from hub.ids import new_id
from hub.limits.shared import Hold, SharedLimits
from hub.limits.token_bucket import TokenBucket
from hub.store.interface import Row, Store
from hub.store.statements import set_clause


@dataclass(frozen=True, slots=True)
class Account:
    id: str
    name: str
    created_at: str
    subscription_expires_at: datetime | None = None
    paused: bool = False
    send_per_minute: int | None = None  # None: the hub's default
    max_queued: int | None = None


def _account(row: Row) -> Account:
    expires = row["subscription_expires_at"]
    return Account(
        id=row["id"],
        name=row["name"],
        created_at=row["created_at"],
        subscription_expires_at=datetime.fromisoformat(expires) if expires else None,
        paused=bool(row["paused"]),
        send_per_minute=row["send_per_minute"],
        max_queued=row["max_queued"],
    )


class AccountDirectory:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        defaults: LimitsConfig,
        shared: SharedLimits | None = None,
    ) -> None:
        """``shared``: a cluster's limits (None: this node alone counts)."""
        self._store = store
        self._shared = shared
        self._clock = clock
        self._defaults = defaults
        self._accounts: dict[str, Account] = {}
        self._buckets: dict[str, TokenBucket] = {}
        self._stored: Counter[str] = Counter()  # account → messages stored (or being written)
        # Messages admitted but still being queued (a long list is written in
        # chunks, with awaits between): counted against every other send.
        self._admitting: Counter[str] = Counter()

    async def load(self) -> None:
        for row in await self._store.fetchall("SELECT * FROM accounts"):
            account = _account(row)
            self._accounts[account.id] = account
        rows = await self._store.fetchall(
            "SELECT account_id, COUNT(*) AS n FROM messages GROUP BY account_id"
        )
        self._stored = Counter({row["account_id"]: int(row["n"]) for row in rows})

    def get(self, account_id: str) -> Account | None:
        return self._accounts.get(account_id)

    async def refresh(self, account_id: str) -> Account | None:
        """Read the account's settings again (a cluster node: another node may have
        made or changed it); kept as is when nothing changed (its bucket stays)."""
        row = await self._store.fetchone("SELECT * FROM accounts WHERE id = ?", (account_id,))
        if row is None:
            return None
        account = _account(row)
        if self._accounts.get(account_id) != account:
            self.remember(account)
        return account

    async def create(self, name: str) -> Account:
        """A new account, stored, then known to this directory."""
        now = self._clock.now()
        account = Account(new_id("acc", now), name, rfc3339(now))
        await self._store.execute(
            "INSERT INTO accounts (id, name, created_at) VALUES (?, ?, ?)",
            (account.id, account.name, account.created_at),
        )
        self.remember(account)
        return account

    async def page(self, cursor: str, limit: int) -> tuple[list[Account], str | None]:
        """Accounts by id after ``cursor``, and the cursor of the next page (None: last)."""
        rows = await self._store.fetchall(
            "SELECT id FROM accounts WHERE id > ? ORDER BY id LIMIT ?", (cursor, limit + 1)
        )
        found = [a for row in rows[:limit] if (a := self._accounts.get(row["id"])) is not None]
        return found, rows[limit - 1]["id"] if len(rows) > limit else None

    def remember(self, account: Account) -> None:
        self._accounts[account.id] = account
        self._buckets.pop(account.id, None)  # a new limit starts a full bucket

    def limits(self, account: Account) -> tuple[int, int]:
        """(send_per_minute, max_queued) in force for the account."""
        return (
            account.send_per_minute or self._defaults.send_per_minute,
            account.max_queued or self._defaults.max_queued,
        )

    async def update(self, account_id: str, **changes: object) -> Account | None:
        """Change only the given settings; two PATCHes of different fields both stick."""
        if account_id not in self._accounts:
            return None
        if changes:
            assignments, values = set_clause(changes)
            await self._store.execute(
                f"UPDATE accounts SET {assignments} WHERE id = ?", (*values, account_id)
            )
        # Apply to the copy in memory now (another PATCH may have changed it meanwhile).
        updated = dataclasses.replace(self._accounts[account_id], **changes)  # type: ignore[arg-type]
        self.remember(updated)
        return updated

    def check_open(self, account_id: str) -> None:
        """``SubscriptionExpired`` if the subscription ended, ``QueuePaused`` if the
        operator paused the account."""
        account = self._accounts.get(account_id)
        if account is None:
            return
        now = self._clock.now()
        expires = account.subscription_expires_at
        if expires is not None and expires <= now:
            raise SubscriptionExpired(expires)
        if account.paused:
            raise QueuePaused()

    def admit(self, account_id: str, queued: int, adding: int = 1) -> None:
        """``QueueFull`` if ``adding`` more messages would overfill the queue,
        ``QuotaExceeded`` past the storage quota, ``RateLimited`` past the send
        rate; else count this send (a list send counts once against the rate,
        each of its messages against the quota).

        Call ``check_open`` first; a send is counted only when all else allows it.
        """
        account = self._accounts.get(account_id)
        if account is None:
            return
        per_minute, max_queued = self.limits(account)
        queued += self._admitting[account_id]
        if queued + adding > max_queued:
            raise QueueFull(queued, adding, max_queued)
        self._check_quota(account_id, adding)
        mono = self._clock.monotonic()
        bucket = self._buckets.get(account_id)
        if bucket is None:
            bucket = self._buckets[account_id] = TokenBucket.full(per_minute, per_minute / 60, mono)
        wait = bucket.take(mono)
        if wait:
            raise RateLimited(per_minute, math.ceil(wait))
        self._stored[account_id] += adding

    async def admit_send(self, account_id: str, queued: int, adding: int = 1) -> Hold | None:
        """``admit`` a send. On a cluster node the queue and the rate are counted
        cluster-wide instead, and the hold returned must be released in the send's
        transaction (``hold.release``), or given back by ``not_sent``."""
        account = self._accounts.get(account_id)
        if self._shared is None or account is None:
            self.admit(account_id, queued, adding)
            return None
        per_minute, max_queued = self.limits(account)
        self._check_quota(account_id, adding)
        hold = await self._shared.admit_send(account_id, per_minute, max_queued, adding)
        self._stored[account_id] += adding
        return hold

    def _check_quota(self, account_id: str, adding: int) -> None:
        stored, quota = self._stored[account_id], self._defaults.max_stored_messages
        if stored + adding > quota:
            raise QuotaExceeded(stored, adding, quota)

    def not_sent(self, hold: Hold | None) -> None:
        """The send ``admit_send`` let through was not written: its hold goes now
        (else it would count against the queue until it lapses)."""
        if hold is not None and self._shared is not None:
            self._shared.drop(hold)

    @contextlib.asynccontextmanager
    async def admitting_everywhere(
        self, account_id: str, queued: int, adding: int
    ) -> AsyncIterator[None]:
        """``admitting``, and on a cluster node a hold of all ``adding`` in the
        database until the block ends (the list's chunks commit one by one: the
        hold goes after the last, so meanwhile they count twice, erring on the
        side of the limit as ``admitting`` does)."""
        if self._shared is None or account_id not in self._accounts:
            with self.admitting(account_id, queued, adding):
                yield
            return
        hold = await self.admit_send(account_id, queued, adding)
        try:
            yield
        finally:
            self.not_sent(hold)  # what the block wrote counts as itself now

    @contextlib.contextmanager
    def admitting(self, account_id: str, queued: int, adding: int) -> Iterator[None]:
        """``admit`` for messages queued over several awaits (a list): until the
        block ends they count as waiting for every other send's check, so two
        lists sent together cannot both pass the limit. (Those of them already
        queued count twice meanwhile: the check errs on the side of the limit.)"""
        self.admit(account_id, queued, adding)
        self._admitting[account_id] += adding
        try:
            yield
        finally:
            self._admitting[account_id] -= adding
            if not self._admitting[account_id]:
                del self._admitting[account_id]
