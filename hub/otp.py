"""One-time passwords: a code sent over the relay fleet, verified once.

The code comes from ``secrets`` and is stored only as an HMAC keyed with a key
derived from ``otp.key`` (``hub.secret_box``); its SMS is an ordinary message
of kind ``otp`` (so it shows in message status and webhooks) whose text is
stored only encrypted, and only until a relay accepts it. It goes ahead of
other sends in the queue and expires with the code.

Per number and purpose a new code waits ``resend_cooldown_s`` after the last
one, at most ``max_per_hour`` are sent in an hour, and a new code supersedes
the previous one. A code allows ``max_wrong_tries`` wrong guesses. On a
cluster node those limits are read under a transaction advisory lock per
(account, number, purpose), and the code admitted leaves a hold
(``hub.limits.shared``) that counts as sent until its own transaction deletes
it: two nodes cannot both send within the cooldown.

Verification runs as one write: it reads the OTP, decides, and records the
check (``otp_checks``) in one transaction, so two concurrent guesses cannot
both spend the same try, and every answer (unknown, wrong, expired, right)
costs the same work: one HMAC, one constant-time comparison, one commit.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import math
import secrets
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from cryptography.fernet import InvalidToken

from hub.clock import Clock, rfc3339
from hub.config import OtpConfig
from hub.errors import TooSoon
from hub.events.outbox import event_statements
from hub.ids import new_id
from hub.limits.shared import Hold, live_holds, take_hold
from hub.secret_box import SecretBox
from hub.store.interface import Row, Statement, Store, Tx

log = logging.getLogger(__name__)

LOCALES: Final = ("uz", "ru", "en")
HOUR: Final = timedelta(hours=1)
_NO_SUCH_CODE: Final = bytes(32)  # compared against when the OTP is unknown: same work
# The first key of the advisory lock of a number's OTP limits ("ro").
_OTP_LOCK: Final = 0x726F


@dataclass(frozen=True, slots=True)
class NewOtp:
    otp_id: str
    code: str
    text: str
    statements: list[Statement]  # to commit with the OTP's message


@dataclass(frozen=True, slots=True)
class Verification:
    status: str  # verified, failed, expired, max_attempts; "unknown": no such OTP
    attempts_left: int
    reason: str | None = None  # why it expired: timed_out, used, superseded


def new_code(length: int) -> str:
    return f"{secrets.randbelow(10**length):0{length}d}"


def render(config: OtpConfig, locale: str, purpose: str, code: str, ttl_s: int) -> str:
    """The SMS text of a code, from the locale's template in ``hub.toml``."""
    template = getattr(config, f"template_{locale}")
    text: str = template.format(
        app=config.app_name, purpose=purpose, code=code, minutes=math.ceil(ttl_s / 60)
    )
    if config.autofill_domain:
        text += f"\n\n@{config.autofill_domain} #{code}"  # WebOTP: browsers offer to fill it
    return text


class Otps:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        config: OtpConfig,
        box: SecretBox,
        on_events: Callable[[set[str]], None],
        *,
        make_code: Callable[[int], str] = new_code,
        cluster: bool = False,
    ) -> None:
        """``make_code``: a code of the given length (default: from ``secrets``);
        ``cluster``: the limits hold for every node on this PostgreSQL."""
        self._store = store
        self._clock = clock
        self._config = config
        self._box = box
        self._cluster = cluster
        self._key: bytes | None = None
        self._holds: dict[tuple[str, str, str], Hold] = {}  # admitted, not yet created
        self._on_events = on_events
        self._make_code = make_code
        self._locks: dict[tuple[str, str, str], asyncio.Lock] = {}
        self._users: Counter[tuple[str, str, str]] = Counter()

    def seal(self, text: str) -> bytes:
        return self._box.seal(text)

    def unseal(self, sealed: bytes) -> str:
        """The text of a stored OTP; empty (so it expires) if this key cannot open it."""
        try:
            return self._box.open(sealed)
        except InvalidToken:
            log.error("an OTP text does not open with this otp.key (was the key replaced?)")
            return ""

    def _digest(self, otp_id: str, code: str) -> bytes:
        if self._key is None:  # at first use: a cluster node's box gets its key at start
            self._key = self._box.derive("relayhub otp code")
        return hmac.new(self._key, f"{otp_id}:{code}".encode(), hashlib.sha256).digest()

    @asynccontextmanager
    async def recipient(self, account_id: str, to: str, purpose: str) -> AsyncIterator[None]:
        """One send at a time per number and purpose: the limits are read, then kept."""
        key = (account_id, to, purpose)
        self._users[key] += 1
        lock = self._locks.setdefault(key, asyncio.Lock())
        try:
            async with lock:
                yield
        finally:
            self._users[key] -= 1
            if not self._users[key]:
                del self._users[key], self._locks[key]
            hold = self._holds.pop(key, None)  # admitted but never created: give it back
            if hold is not None:
                sql, params = hold.release
                self._store.write_later(lambda tx: tx.execute(sql, params))

    async def check_limits(self, account_id: str, to: str, purpose: str) -> list[str]:
        """Raise ``TooSoon`` if this number may not get another code of this purpose
        yet; else the SMS of the codes a new one supersedes (its pending ones)."""
        now = self._clock.now()
        if self._cluster:
            return await self._check_cluster_limits(account_id, to, purpose, now)
        # One read for both questions: a send is two round trips to the reader
        # thread cheaper than asking them apart.
        rows = await self._store.fetchall(*_recent_otps(account_id, to, purpose, now))
        self._refuse_too_soon(_sent_since(rows, now - HOUR), purpose, now)
        return [r["message_id"] for r in rows if r["status"] == "pending"]

    async def _check_cluster_limits(
        self, account_id: str, to: str, purpose: str, now: datetime
    ) -> list[str]:
        scope = f"otp:{account_id} {to} {purpose}"

        def op(tx: Tx) -> tuple[list[str], Hold]:
            tx.execute("SELECT pg_advisory_xact_lock(?, hashtext(?))", (_OTP_LOCK, scope))
            rows = tx.execute(*_recent_otps(account_id, to, purpose, now)).fetchall()
            sent = _sent_since(rows, now - HOUR)
            held = tx.execute(*live_holds(scope)).fetchone()
            if held["at"] is not None:  # codes another node is sending now count as sent
                sent = sorted([*sent, *[datetime.fromisoformat(held["at"])] * int(held["n"])])
            self._refuse_too_soon(sent, purpose, now)
            hold = take_hold(tx, self._clock, scope, 1)
            return [r["message_id"] for r in rows if r["status"] == "pending"], hold

        superseded, hold = await self._store.write(op)
        self._holds[(account_id, to, purpose)] = hold
        return superseded

    def _refuse_too_soon(self, sent: list[datetime], purpose: str, now: datetime) -> None:
        cooldown = timedelta(seconds=self._config.resend_cooldown_s)
        limit = self._config.max_per_hour
        # When both limits apply, the later of the two is when a code may go.
        hourly = sent[-limit] + HOUR if len(sent) >= limit else None
        if hourly is not None and hourly > now:
            wait = math.ceil((hourly - now).total_seconds())
            raise TooSoon(wait, purpose, per_hour=limit)
        if sent and now < sent[-1] + cooldown:
            wait = math.ceil((sent[-1] + cooldown - now).total_seconds())
            raise TooSoon(wait, purpose)

    def create(
        self,
        account_id: str,
        message_id: str,
        to: str,
        purpose: str,
        locale: str,
        ttl_s: int,
        length: int,
    ) -> NewOtp:
        """A new OTP, and the statements that store it (and supersede the last one)."""
        now = self._clock.now()
        otp_id = new_id("otp", now)
        code = self._make_code(length)
        digest = self._digest(otp_id, code)
        expires = rfc3339(now + timedelta(seconds=ttl_s))
        statements: list[Statement] = [
            (
                "UPDATE otps SET status = 'superseded' WHERE account_id = ? AND to_number = ?"
                " AND purpose = ? AND status = 'pending'",
                (account_id, to, purpose),
            ),
            (
                "INSERT INTO otps (id, account_id, message_id, to_number, purpose, locale,"
                " code_hash, status, created_at, expires_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?)",
                (
                    otp_id,
                    account_id,
                    message_id,
                    to,
                    purpose,
                    locale,
                    digest,
                    rfc3339(now),
                    expires,
                ),
            ),
        ]
        hold = self._holds.pop((account_id, to, purpose), None)
        if hold is not None:  # a cluster's hold goes when the OTP is stored
            statements.append(hold.release)
        text = render(self._config, locale, purpose, code, ttl_s)
        return NewOtp(otp_id, code, text, statements)

    async def verify(self, account_id: str, otp_id: str, code: str) -> Verification:
        digest = self._digest(otp_id, code)
        now = self._clock.now()
        stamp = rfc3339(now)
        max_tries = self._config.max_wrong_tries

        def op(conn: Tx) -> Verification:
            row = conn.execute(
                "SELECT * FROM otps WHERE id = ? AND account_id = ?", (otp_id, account_id)
            ).fetchone()
            right = hmac.compare_digest(digest, row["code_hash"] if row else _NO_SUCH_CODE)
            result = _decide(row, right, now, max_tries)
            conn.execute(
                "INSERT INTO otp_checks (otp_id, account_id, at, result) VALUES (?, ?, ?, ?)",
                (otp_id, account_id, stamp, result.reason or result.status),
            )
            if row is None:
                return result
            if result.status == "verified":
                conn.execute(
                    "UPDATE otps SET status = 'verified', verified_at = ? WHERE id = ?",
                    (stamp, otp_id),
                )
                data = {
                    "otp_id": otp_id,
                    "request_id": row["message_id"],
                    "to": row["to_number"],
                    "purpose": row["purpose"],
                    "verified_at": stamp,
                }
                for sql, params in event_statements(account_id, "otp.verified", data, now):
                    conn.execute(sql, params)
            elif result.status in ("failed", "max_attempts") and row["status"] == "pending":
                conn.execute(
                    "UPDATE otps SET wrong_tries = wrong_tries + 1,"
                    " status = CASE WHEN wrong_tries + 1 >= ? THEN 'max_attempts' ELSE status END"
                    " WHERE id = ?",
                    (max_tries, otp_id),
                )
            return result

        result = await self._store.write(op)
        if result.status == "verified":
            self._on_events({account_id})
        return result


def _recent_otps(account_id: str, to: str, purpose: str, now: datetime) -> Statement:
    """The number's codes of the last hour, and its pending ones."""
    return (
        "SELECT created_at, message_id, status FROM otps"
        " WHERE account_id = ? AND to_number = ? AND purpose = ?"
        " AND (created_at > ? OR status = 'pending') ORDER BY created_at",
        (account_id, to, purpose, rfc3339(now - HOUR)),
    )


def _sent_since(rows: list[Row], since: datetime) -> list[datetime]:
    return [at for r in rows if (at := datetime.fromisoformat(r["created_at"])) > since]


def _decide(row: Row | None, right: bool, now: datetime, max_tries: int) -> Verification:
    """What a check of ``row`` with a right or wrong code answers."""
    if row is None:
        return Verification("unknown", 0)
    left = max(max_tries - row["wrong_tries"], 0)
    if row["status"] == "max_attempts":
        return Verification("max_attempts", 0)
    if row["status"] == "verified":
        return Verification("expired", 0, "used")
    if row["status"] == "superseded":
        return Verification("expired", 0, "superseded")
    if now >= datetime.fromisoformat(row["expires_at"]):
        return Verification("expired", 0, "timed_out")
    if right:
        return Verification("verified", left)
    if left - 1 <= 0:
        return Verification("max_attempts", 0)
    return Verification("failed", left - 1)
