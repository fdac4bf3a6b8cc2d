"""Devices (paired relays): pairing codes, device tokens, what each relay told us.

Pairing is two steps. An operator asks for a code (``create_pairing_code``);
the phone exchanges it, or the QR payload, for a device token (``pair``). Both
the short code and the QR secret are stored only as hashes, and a code works
once: the exchange marks it used and creates the device in one transaction.
"""

from __future__ import annotations

import dataclasses
import json
import secrets
import urllib.parse
from dataclasses import dataclass
from datetime import datetime, timedelta

from hub.accounts.tokens import DEVICE_TOKEN_PREFIX, hash_secret, new_secret
from hub.clock import Clock, rfc3339
from hub.errors import InvalidDevice
from hub.ids import new_id
from hub.messaging.writes import run_statements
from hub.store.interface import Conflict, Row, Statement, Store, Tx
from protocol import frames as f

QR_SCHEME = "relayhub"


@dataclass(frozen=True, slots=True)
class Device:
    id: str
    account_id: str
    name: str
    disabled: bool
    sims: tuple[int, ...]
    token_hash: bytes


@dataclass(frozen=True, slots=True)
class PairingCode:
    code: str  # "483-921"
    qr_payload: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class PairedDevice:
    device_id: str
    device_token: str


def _device(row: Row) -> Device:
    sims = tuple(sim["slot"] for sim in json.loads(row["sims"]))
    return Device(
        row["id"],
        row["account_id"],
        row["name"],
        bool(row["disabled"]),
        sims,
        row["token_hash"],
    )


def _normal_code(code: str) -> str:
    return "".join(ch for ch in code if ch.isdigit())


class DeviceDirectory:
    """Every unrevoked device, kept in memory (loaded at start, updated on change)
    so that the send path and the socket handshake never wait for a read.

    A cluster node (``fresh``) also reads a socket's device row at its handshake
    and an account's devices at each API request (``refresh_account``): another
    node may have paired, changed or revoked one a moment ago."""

    def __init__(self, store: Store, clock: Clock, code_ttl_s: int, *, fresh: bool = False) -> None:
        self._store = store
        self._clock = clock
        self._fresh = fresh
        self._code_ttl = timedelta(seconds=code_ttl_s)
        self._by_id: dict[str, Device] = {}
        self._by_token: dict[bytes, Device] = {}
        self._by_account: dict[str, dict[str, Device]] = {}

    async def load(self) -> None:
        rows = await self._store.fetchall("SELECT * FROM devices WHERE revoked_at IS NULL")
        for row in rows:
            self._remember(_device(row))

    def _remember(self, device: Device) -> None:
        self._by_id[device.id] = device
        self._by_token[device.token_hash] = device
        self._by_account.setdefault(device.account_id, {})[device.id] = device

    async def create_pairing_code(
        self, account_id: str, device_name: str | None, public_url: str
    ) -> PairingCode:
        now = self._clock.now()
        expires = now + self._code_ttl
        qr_secret = secrets.token_urlsafe(24)
        query = urllib.parse.urlencode({"hub": public_url, "code": qr_secret})
        qr_payload = f"{QR_SCHEME}://pair?{query}"
        for _ in range(5):  # a clash with a live code of 6 digits is rare; draw again
            code = f"{secrets.randbelow(1_000_000):06d}"
            row = (
                new_id("pair", now),
                account_id,
                hash_secret(code),
                hash_secret(qr_secret),
                device_name,
                rfc3339(now),
                rfc3339(expires),
            )

            def insert(conn: Tx, row: tuple[object, ...] = row) -> None:
                conn.execute("DELETE FROM pairing_codes WHERE expires_at <= ?", (rfc3339(now),))
                conn.execute(
                    "INSERT INTO pairing_codes (id, account_id, code_hash, qr_hash, device_name,"
                    " created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    row,
                )

            try:
                await self._store.write(insert)
            except Conflict:  # the code drawn is taken: draw another
                continue
            return PairingCode(f"{code[:3]}-{code[3:]}", qr_payload, expires)
        raise RuntimeError("could not draw a free pairing code")

    async def pair(
        self,
        *,
        pairing_code: str | None,
        qr_payload: str | None,
        device_name: str | None,
        model: str | None,
        app_version: str | None,
    ) -> PairedDevice | None:
        """Exchange a code or QR payload for a new device; None if it is not valid."""
        if pairing_code is not None:
            column, digest = "code_hash", hash_secret(_normal_code(pairing_code))
        else:
            secret = _qr_secret(qr_payload or "")
            if secret is None:
                return None
            column, digest = "qr_hash", hash_secret(secret)
        now = self._clock.now()
        device_id = new_id("dev", now)
        token = new_secret(DEVICE_TOKEN_PREFIX)

        def exchange(conn: Tx) -> Device | None:
            row = conn.execute(
                f"SELECT id, account_id, device_name FROM pairing_codes WHERE {column} = ? "
                "AND used_by IS NULL AND expires_at > ?",
                (digest, rfc3339(now)),
            ).fetchone()
            if row is None:
                return None
            conn.execute(
                "UPDATE pairing_codes SET used_by = ? WHERE id = ?", (device_id, row["id"])
            )
            count = conn.execute(
                "SELECT COUNT(*) FROM devices WHERE account_id = ?", (row["account_id"],)
            ).fetchone()[0]
            name = device_name or row["device_name"] or f"Relay Device {count + 1}"
            conn.execute(
                "INSERT INTO devices (id, account_id, name, token_hash, created_at, model,"
                " app_version) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    device_id,
                    row["account_id"],
                    name,
                    hash_secret(token),
                    rfc3339(now),
                    model,
                    app_version,
                ),
            )
            return Device(device_id, row["account_id"], name, False, (), hash_secret(token))

        device = await self._store.write(exchange)
        if device is None:
            return None
        self._remember(device)
        return PairedDevice(device_id, token)

    async def authenticate_now(self, token: str) -> Device | None:
        """``authenticate``, after reading the token's device from storage on a
        cluster node (on one node it never waits: memory is the truth there)."""
        if self._fresh and 16 <= len(token) <= 256:
            digest = hash_secret(token)
            row = await self._store.fetchone(
                "SELECT * FROM devices WHERE token_hash = ? AND revoked_at IS NULL", (digest,)
            )
            if row is None:
                known = self._by_token.get(digest)
                if known is not None:
                    self.forget(known.id)
            else:
                self._remember(self._with_known_sims(_device(row)))
        return self.authenticate(token)

    async def refresh_account(self, account_id: str) -> None:
        """Read the account's devices again (a cluster node; others return at once)."""
        if not self._fresh:
            return
        rows = await self._store.fetchall(
            "SELECT * FROM devices WHERE account_id = ? AND revoked_at IS NULL", (account_id,)
        )
        current = {row["id"]: self._with_known_sims(_device(row)) for row in rows}
        for device_id in set(self._by_account.get(account_id, {})) - set(current):
            self.forget(device_id)
        for device in current.values():
            self._remember(device)

    def _with_known_sims(self, device: Device) -> Device:
        # A hello here may be newer than its stored SIMs (written without waiting).
        known = self._by_id.get(device.id)
        if known is not None and known.sims and not device.sims:
            return dataclasses.replace(device, sims=known.sims)
        return device

    def forget(self, device_id: str) -> None:
        """Drop a device revoked (or changed) elsewhere from memory."""
        device = self._by_id.pop(device_id, None)
        if device is not None:
            self._by_token.pop(device.token_hash, None)
            self._by_account.get(device.account_id, {}).pop(device_id, None)

    def authenticate(self, token: str) -> Device | None:
        """The enabled, unrevoked device holding ``token``, or None."""
        if not 16 <= len(token) <= 256:
            return None
        device = self._by_token.get(hash_secret(token))
        return device if device is not None and not device.disabled else None

    def get(self, account_id: str, device_id: str) -> Device | None:
        device = self._by_id.get(device_id)
        return device if device is not None and device.account_id == account_id else None

    async def stored_seq(self, device_id: str) -> int:
        """The device's highest stored report seq, once every queued write has landed."""
        await self._store.barrier()
        row = await self._store.fetchone("SELECT last_seq FROM devices WHERE id = ?", (device_id,))
        return int(row["last_seq"]) if row else 0

    def slots(self, account_id: str) -> set[int]:
        """SIM slots reported by any device of the account."""
        return {s for d in self._by_account.get(account_id, {}).values() for s in d.sims}

    def of_account(self, account_id: str) -> list[Device]:
        return sorted(self._by_account.get(account_id, {}).values(), key=lambda d: d.id)

    def count(self, account_id: str) -> int:
        return len(self._by_account.get(account_id, ()))

    def check_can_send(self, account_id: str, device_id: str | None, sim_slot: int | None) -> None:
        """``InvalidDevice`` unless a device of this account can take a message
        pinned to ``device_id`` (None: any) and ``sim_slot`` (None: any)."""
        if device_id is None:
            if self.count(account_id) == 0:
                raise InvalidDevice(
                    "device_id", "no device is paired yet; pair the Android relay app first"
                )
            slots = self.slots(account_id)
            if sim_slot is not None and slots and sim_slot not in slots:
                known = ", ".join(map(str, sorted(slots)))
                raise InvalidDevice(
                    "sim_slot",
                    f"no device of this account has a SIM in slot {sim_slot} (slots: {known})",
                )
            return
        device = self.get(account_id, device_id)
        if device is None:
            raise InvalidDevice("device_id", f"no device {device_id} in this account")
        if device.disabled:
            raise InvalidDevice(
                "device_id", f"device {device_id} is disabled; enable it or pick another"
            )
        if sim_slot is not None and device.sims and sim_slot not in device.sims:
            has = ", ".join(map(str, device.sims))
            raise InvalidDevice(
                "sim_slot", f"device {device_id} has no SIM in slot {sim_slot} (it has {has})"
            )

    async def row(self, device_id: str) -> Row:
        row = await self._store.fetchone("SELECT * FROM devices WHERE id = ?", (device_id,))
        assert row is not None, device_id
        return row

    async def list_rows(self, account_id: str) -> list[Row]:
        return await self._store.fetchall(
            "SELECT * FROM devices WHERE account_id = ? AND revoked_at IS NULL ORDER BY id",
            (account_id,),
        )

    async def update(
        self,
        device: Device,
        *,
        name: str | None = None,
        disabled: bool | None = None,
        also: list[Statement] | None = None,
    ) -> Device:
        """Rename, disable or enable a device; a disabled one cannot connect."""
        updated = dataclasses.replace(
            device,
            name=device.name if name is None else name,
            disabled=device.disabled if disabled is None else disabled,
        )
        changed = ("UPDATE devices SET name = ?, disabled = ? WHERE id = ? AND revoked_at IS NULL",
                   (updated.name, int(updated.disabled), device.id))  # fmt: skip
        await self._store.write(run_statements([changed, *(also or [])]))
        if device.id in self._by_id:  # not revoked while the write waited
            self._remember(updated)
        return updated

    async def revoke(self, device: Device, also: list[Statement] | None = None) -> None:
        """Revoke for good: its token stops working; pairing again makes a new device.
        ``also`` joins the transaction (a cluster node tells the socket's node)."""
        revoked = ("UPDATE devices SET revoked_at = ? WHERE id = ?",
                   (rfc3339(self._clock.now()), device.id))  # fmt: skip
        await self._store.write(run_statements([revoked, *(also or [])]))
        self.forget(device.id)

    def record_hello(self, device_id: str, hello: f.Hello) -> None:
        """Remember what the relay said about itself (stored without waiting)."""
        device = self._by_id.get(device_id)
        if device is not None:
            slots = tuple(sim.slot for sim in hello.sims)
            self._remember(dataclasses.replace(device, sims=slots))
        sims = json.dumps(
            [{"slot": s.slot, "carrier": s.carrier, "number": s.number} for s in hello.sims]
        )
        args = (
            hello.model,
            hello.app_version,
            hello.os,
            sims,
            hello.limits.parts_per_minute,
            rfc3339(self._clock.now()),
            device_id,
        )
        self._store.write_later(
            lambda conn: conn.execute(
                "UPDATE devices SET model = ?, app_version = ?, os = ?, sims = ?,"
                " parts_per_minute = ?, last_seen_at = ? WHERE id = ?",
                args,
            )
        )

    def record_heartbeat(self, device_id: str, hb: f.Heartbeat) -> None:
        args = (
            hb.battery,
            int(hb.charging),
            hb.signal,
            hb.network,
            rfc3339(self._clock.now()),
            device_id,
        )
        self._store.write_later(
            lambda conn: conn.execute(
                "UPDATE devices SET battery = ?, charging = ?, signal = ?, network = ?,"
                " last_seen_at = ? WHERE id = ?",
                args,
            )
        )


def _qr_secret(payload: str) -> str | None:
    try:
        parsed = urllib.parse.urlsplit(payload)
    except ValueError:  # e.g. an unbalanced "[" in the host
        return None
    if parsed.scheme != QR_SCHEME:
        return None
    values = urllib.parse.parse_qs(parsed.query).get("code")
    return values[0] if values else None
