"""Access tokens: secrets shown once, stored as SHA-256, checked by scope.

Tokens are 256-bit random secrets, so a plain SHA-256 is enough to store them
(no salt or slow hash needed: there is nothing to brute-force). Lookups are
cached in memory by hash; the cache is dropped for a token when it changes.
"""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from hub.clock import Clock, rfc3339
from hub.ids import new_id
from hub.store.sqlite import SqliteStore

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
ACCESS_TOKEN_PREFIX: Final = "rh_"
DEVICE_TOKEN_PREFIX: Final = "rhd_"


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
    def __init__(self, store: SqliteStore, clock: Clock) -> None:
        self._store = store
        self._clock = clock
        self._cache: dict[bytes, Principal | None] = {}

    async def authenticate(self, secret: str) -> Principal | None:
        """The principal behind ``secret``, or None if it is unknown, revoked or expired."""
        if not 16 <= len(secret) <= 256:
            return None
        digest = hash_secret(secret)
        if digest in self._cache:
            principal = self._cache[digest]
        else:
            principal = await self._load(digest)
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[digest] = principal
        if principal and principal.expires_at and principal.expires_at <= self._clock.now():
            return None
        return principal

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

        def create(conn: sqlite3.Connection) -> bool:
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
