"""Access tokens: secrets shown once, stored as SHA-256, checked by scope.

Tokens are 256-bit random secrets, so a plain SHA-256 is enough to store them
(no salt or slow hash needed: there is nothing to brute-force). Lookups are
cached in memory by hash; the cache is dropped for a token when it changes.
A cluster node (``fresh``) reads the token's row on every request instead: a
revoke on another node must refuse the very next request, and no message
between nodes is acknowledged, so only the database can promise that.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from hub.clock import Clock, rfc3339
from hub.ids import new_id
from hub.store.interface import Row, Store, Tx

SCOPES: Final = (
    "sms.send",
    "otp.send",
    "otp.verify",
    "messages.read",
    "devices.read",
    "devices.manage",
    "recipients.read",
    "recipients.write",
    "webhooks.manage",
    "tokens.manage",
    "account.read",
)
ADMIN_SCOPE: Final = "admin"
DASHBOARD_TOKEN_NAME: Final = "dashboard sign-in link"
ACCESS_TOKEN_PREFIX: Final = "rh_"
LAST_USED_RESOLUTION_S: Final = 60.0
_TOKEN_COLUMNS: Final = "SELECT id, name, scopes, created_at, expires_at, last_used_at FROM tokens"
DEVICE_TOKEN_PREFIX: Final = "rhd_"


def bearer_token(authorization: str) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, or None if it holds none.

    The REST API and the relay socket read the header with this one rule.
    """
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def new_secret(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(32)


def hash_secret(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the account and token behind a request, and what it may do."""

    account_id: str
    token_id: str
    scopes: frozenset[str]
    expires_at: datetime | None = None

    def allows(self, scope: str) -> bool:
        return scope in self.scopes


class TokenAuthority:
    def __init__(self, store: Store, clock: Clock, *, fresh: bool = False) -> None:
        self._store = store
        self._clock = clock
        self._fresh = fresh  # a cluster node: never answer from the cache
        self._cache: dict[bytes, Principal | None] = {}
        self._last_touched: dict[str, float] = {}  # token id → monotonic
        self._revocations = 0  # bumped by every revoke: a load that overlapped one is redone

    async def authenticate(self, secret: str) -> Principal | None:
        """The principal behind ``secret``, or None if it is unknown, revoked or expired."""
        if not 16 <= len(secret) <= 256:
            return None
        digest = hash_secret(secret)
        if digest in self._cache and not self._fresh:
            principal = self._cache[digest]
        else:
            while True:
                generation = self._revocations
                principal = await self._load(digest)
                if generation == self._revocations:
                    break  # no revoke ran while we read: the answer is current
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[digest] = principal
        if principal is None:
            return None
        if principal.expires_at and principal.expires_at <= self._clock.now():
            return None
        self._touch(principal.token_id)
        return principal

    def expired_at(self, secret: str) -> datetime | None:
        """When the live token behind ``secret`` expired, after ``authenticate`` refused it.

        Lets a refusal say "expired" rather than "unknown": only the holder of
        the secret learns it, so nothing about other tokens or accounts leaks.
        """
        principal = self._cache.get(hash_secret(secret))
        if principal is None or principal.expires_at is None:
            return None
        return principal.expires_at if principal.expires_at <= self._clock.now() else None

    def _touch(self, token_id: str) -> None:
        # last_used_at to the minute: one write a minute per token, not one per request.
        now = self._clock.monotonic()
        if now - self._last_touched.get(token_id, -LAST_USED_RESOLUTION_S) < LAST_USED_RESOLUTION_S:
            return
        self._last_touched[token_id] = now
        args = (rfc3339(self._clock.now()), token_id)
        self._store.write_later(
            lambda conn: conn.execute("UPDATE tokens SET last_used_at = ? WHERE id = ?", args)
        )

    async def create(
        self, account_id: str, name: str, scopes: list[str], expires_at: datetime | None
    ) -> tuple[str, Row]:
        """A new token; returns its secret (shown once) and its stored row."""
        secret = new_secret(ACCESS_TOKEN_PREFIX)
        now = self._clock.now()
        token_id = new_id("tok", now)
        row = (token_id, account_id, name, hash_secret(secret), " ".join(scopes), rfc3339(now),
               rfc3339(expires_at) if expires_at else None)  # fmt: skip
        await self._store.execute(
            "INSERT INTO tokens (id, account_id, name, token_hash, scopes, created_at, expires_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            row,
        )
        self._cache.pop(hash_secret(secret), None)
        stored = await self._store.fetchone(f"{_TOKEN_COLUMNS} WHERE id = ?", (token_id,))
        assert stored is not None
        return secret, stored

    async def list(self, account_id: str) -> list[Row]:
        return await self._store.fetchall(
            f"{_TOKEN_COLUMNS} WHERE account_id = ? AND revoked_at IS NULL ORDER BY id",
            (account_id,),
        )

    async def scopes_of(self, account_id: str, token_id: str) -> frozenset[str] | None:
        row = await self._store.fetchone(
            "SELECT scopes FROM tokens WHERE id = ? AND account_id = ? AND revoked_at IS NULL",
            (token_id, account_id),
        )
        return frozenset(row["scopes"].split()) if row else None

    async def revoke(self, account_id: str, token_id: str) -> bool:
        """Revoke a token of this account at once; False if there is no such live token."""
        self._revocations += 1
        changed = await self._store.execute(
            "UPDATE tokens SET revoked_at = ?"
            " WHERE id = ? AND account_id = ? AND revoked_at IS NULL",
            (rfc3339(self._clock.now()), token_id, account_id),
        )
        # Drop it from the cache, so the very next request with it is refused.
        self._revocations += 1
        for digest, principal in list(self._cache.items()):
            if principal is not None and principal.token_id == token_id:
                del self._cache[digest]
        return changed == 1

    async def _load(self, digest: bytes) -> Principal | None:
        row = await self._store.fetchone(
            "SELECT id, account_id, scopes, expires_at FROM tokens "
            "WHERE token_hash = ? AND revoked_at IS NULL",
            (digest,),
        )
        if row is None:
            return None
        expires = datetime.fromisoformat(row["expires_at"]) if row["expires_at"] else None
        return Principal(row["account_id"], row["id"], frozenset(row["scopes"].split()), expires)

    async def _first_account(self) -> str:
        first = await self._store.fetchone("SELECT id FROM accounts ORDER BY id LIMIT 1")
        assert first is not None, "bootstrap makes the first account"
        return str(first["id"])

    async def dashboard_sign_in(self, expires_at: datetime) -> tuple[str, str]:
        """A new token for the first account's dashboard link (every scope but
        ``admin``); returns its secret and id. Earlier links are left alone: a
        browser may still be signed in with one, and each expires by itself."""
        account_id = await self._first_account()
        secret, row = await self.create(account_id, DASHBOARD_TOKEN_NAME, list(SCOPES), expires_at)
        return secret, str(row["id"])

    async def dashboard_link_ids(self) -> set[str]:
        """The ids of the dashboard-link tokens not revoked (expired ones included)."""
        account_id = await self._first_account()
        return {row["id"] for row in await self.list(account_id)
                if row["name"] == DASHBOARD_TOKEN_NAME}  # fmt: skip

    async def bootstrap(self, admin_secret: str | None) -> str | None:
        """On an empty store, create the default account and its admin token.

        Returns the token's secret (``admin_secret`` if given, else a new one) so
        it can be shown once; None when accounts already exist.
        """
        secret = admin_secret or new_secret(ACCESS_TOKEN_PREFIX)
        now = rfc3339(self._clock.now())
        account_id = new_id("acc", self._clock.now())
        token_id = new_id("tok", self._clock.now())
        scopes = " ".join((*SCOPES, ADMIN_SCOPE))

        def create(conn: Tx) -> bool:
            if conn.execute("SELECT 1 FROM accounts LIMIT 1").fetchone():
                return False
            conn.execute(
                "INSERT INTO accounts (id, name, created_at) VALUES (?, ?, ?)",
                (account_id, "Default account", now),
            )
            conn.execute(
                "INSERT INTO tokens (id, account_id, name, token_hash, scopes, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (token_id, account_id, "admin", hash_secret(secret), scopes, now),
            )
            return True

        created = await self._store.write(create)
        return secret if created else None
