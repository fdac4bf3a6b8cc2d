"""Webhook endpoints of each account, with their sealed signing secrets."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from hub.clock import Clock, rfc3339
from hub.ids import new_id
from hub.secret_box import SecretBox
from hub.store.interface import Row, Store, Tx
from hub.store.statements import set_clause
from hub.webhooks import signer

# The columns ``secrets_of`` reads, for queries that also fetch other things.
SECRET_COLUMNS: Final = "secret_sealed, previous_sealed, previous_until"
OPENED_MAX: Final = 1024  # opened secrets kept (two per endpoint at most)


@dataclass(frozen=True, slots=True)
class Endpoint:
    id: str
    account_id: str
    url: str
    events: tuple[str, ...]
    description: str
    enabled: bool
    created_at: str
    updated_at: str
    rotating_until: str | None  # the old secret still signs until then
    disabled_reason: str | None  # why the hub disabled it (410 Gone), if it did


def _endpoint(row: Row, now: datetime) -> Endpoint:
    until = row["previous_until"]
    if until is not None and datetime.fromisoformat(until) <= now:
        until = None  # the overlap is over: only the current secret signs
    return Endpoint(
        id=row["id"],
        account_id=row["account_id"],
        url=row["url"],
        events=tuple(row["events"].split()),
        description=row["description"],
        enabled=bool(row["enabled"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        rotating_until=until,
        disabled_reason=row["disabled_reason"],
    )


class WebhookEndpoints:
    def __init__(self, store: Store, clock: Clock, box: SecretBox, rotation_overlap_s: int) -> None:
        self._store = store
        self._clock = clock
        self._box = box
        self._overlap = timedelta(seconds=rotation_overlap_s)
        self._opened: dict[bytes, str] = {}  # sealed secret → secret

    async def create(
        self,
        account_id: str,
        url: str,
        events: list[str],
        description: str,
        enabled: bool,
        *,
        limit: int,
    ) -> tuple[Endpoint, str] | None:
        """A new endpoint and its secret (shown once); None if the account already
        has ``limit`` endpoints (counted in the insert's transaction: creates made at
        once cannot all slip past it)."""
        secret = signer.new_secret()
        now = rfc3339(self._clock.now())
        endpoint_id = new_id("whk", self._clock.now())
        row = (endpoint_id, account_id, url, " ".join(events), description, int(enabled),
               self._box.seal(secret), now, now)  # fmt: skip

        def insert(conn: Tx) -> bool:
            (count,) = conn.execute(
                "SELECT COUNT(*) FROM webhook_endpoints WHERE account_id = ?", (account_id,)
            ).fetchone()
            if count >= limit:
                return False
            conn.execute(
                "INSERT INTO webhook_endpoints (id, account_id, url, events, description,"
                " enabled, secret_sealed, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                row,
            )
            return True

        if not await self._store.write(insert):
            return None
        endpoint = await self.get(account_id, endpoint_id)
        assert endpoint is not None
        return endpoint, secret

    async def get(self, account_id: str, endpoint_id: str) -> Endpoint | None:
        row = await self._store.fetchone(
            "SELECT * FROM webhook_endpoints WHERE id = ? AND account_id = ?",
            (endpoint_id, account_id),
        )
        return _endpoint(row, self._clock.now()) if row else None

    async def of_account(
        self, account_id: str, after: str | None = None, limit: int = 100
    ) -> list[Endpoint]:
        """The account's endpoints in creation order, after the id ``after``."""
        rows = await self._store.fetchall(
            "SELECT * FROM webhook_endpoints WHERE account_id = ? AND id > ? ORDER BY id LIMIT ?",
            (account_id, after or "", limit),
        )
        now = self._clock.now()
        return [_endpoint(r, now) for r in rows]

    async def update(self, account_id: str, endpoint_id: str, **changes: object) -> Endpoint | None:
        """Change only the given fields (url, events, description, enabled)."""
        if changes.get("enabled") is True:
            changes["disabled_reason"] = None  # enabled again by its owner
        assignments, values = set_clause({**changes, "updated_at": self._clock.now()})
        changed = await self._store.execute(
            f"UPDATE webhook_endpoints SET {assignments} WHERE id = ? AND account_id = ?",
            (*values, endpoint_id, account_id),
        )
        return await self.get(account_id, endpoint_id) if changed else None

    async def delete(self, account_id: str, endpoint_id: str) -> bool:
        changed = await self._store.execute(
            "DELETE FROM webhook_endpoints WHERE id = ? AND account_id = ?",
            (endpoint_id, account_id),
        )
        return changed == 1

    async def rotate(self, account_id: str, endpoint_id: str) -> str | None:
        """A new secret (shown once); the current one keeps signing for the overlap."""
        secret = signer.new_secret()
        now = self._clock.now()

        def swap(conn: Tx) -> bool:
            row = conn.execute(
                "SELECT secret_sealed FROM webhook_endpoints WHERE id = ? AND account_id = ?",
                (endpoint_id, account_id),
            ).fetchone()
            if row is None:
                return False
            conn.execute(
                "UPDATE webhook_endpoints SET secret_sealed = ?, previous_sealed = ?,"
                " previous_until = ?, updated_at = ? WHERE id = ?",
                (self._box.seal(secret), row["secret_sealed"], rfc3339(now + self._overlap),
                 rfc3339(now), endpoint_id),
            )  # fmt: skip
            return True

        return secret if await self._store.write(swap) else None

    async def signing_secrets(self, endpoint_id: str) -> list[str]:
        """Every secret that signs now: the current one, and the previous during overlap."""
        row = await self._store.fetchone(
            f"SELECT {SECRET_COLUMNS} FROM webhook_endpoints WHERE id = ?", (endpoint_id,)
        )
        return self.secrets_of(row) if row is not None else []

    def secrets_of(self, row: Row) -> list[str]:
        """``signing_secrets`` from a row that has the ``SECRET_COLUMNS`` (of a wider query)."""
        secrets = [self._open(row["secret_sealed"])]
        until = row["previous_until"]
        if row["previous_sealed"] and until and datetime.fromisoformat(until) > self._clock.now():
            secrets.append(self._open(row["previous_sealed"]))
        return secrets

    def _open(self, sealed: bytes) -> str:
        # Every attempt signs, and Fernet checks and decrypts each time: keep what
        # was opened. The key is the sealed text itself, so a rotation (a new
        # sealed secret) can never be answered with the old plaintext.
        secret = self._opened.get(sealed)
        if secret is None:
            if len(self._opened) >= OPENED_MAX:
                self._opened.clear()
            secret = self._opened[sealed] = self._box.open(sealed)
        return secret
