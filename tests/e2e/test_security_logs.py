"""No secret reaches the hub's log (even at debug level with the access log on),
nor its data folder in clear.

A real ``relayhub serve`` process, its stdout and stderr captured whole, goes
through everything that handles a secret: pairing by code and by QR payload
(the codes, the QR secrets, the device tokens), a wrong pairing code, an
unknown device token on the relay socket, a new access token and a wrong one,
a webhook endpoint (its secret) and a rotation (the new one), an OTP sent
through a relay and verified (the code), and signed webhook deliveries. Then
no secret, nor its random part after the prefix, nor a long piece of it, nor a
code as a number of its own, is in the log or in any file of the data folder
(database, WAL, keys).
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.exceptions import InvalidStatus

from relay_sim.pairing import PairedDevice
from relay_sim.relay import SimRelay
from tests.e2e import raw_relay
from tests.e2e.conftest import ADMIN_TOKEN
from tests.e2e.hub_process import HubProcess, free_port
from tests.e2e.receiver import Receiver, serve_receiver

CONFIG = """
[server]
log_level = "debug"
access_log = true

[webhooks]
allow_private_targets = true
"""
PREFIXES = ("rh_", "rhd_", "whsec_")
PIECE = 12  # a run of a secret this long is a leak, however it was cut


@dataclass
class Seen:
    """Every secret the hub handled while the test watched."""

    secrets: list[str] = field(default_factory=list)  # long random secrets
    codes: list[str] = field(default_factory=list)  # short numeric codes

    def needles(self) -> Iterator[bytes]:
        """What of each secret must not appear: all of it, its random part, its ends."""
        for secret in self.secrets:
            yield secret.encode()
            body = secret
            for prefix in PREFIXES:
                body = body.removeprefix(prefix)
            yield body.encode()
            if len(body) > 2 * PIECE:
                yield body[:PIECE].encode()
                yield body[-PIECE:].encode()

    def found_in(self, data: bytes) -> list[str]:
        found = [n.decode() for n in self.needles() if n in data]
        # A code counts as a number of its own, not inside a longer one (a phone number).
        found += [c for c in self.codes if re.search(rb"(?<!\d)%s(?!\d)" % c.encode(), data)]
        return found


async def handle_every_kind_of_secret(hub: HubProcess, receiver: Receiver, seen: Seen) -> None:
    api = f"{hub.base_url}/api/v1"
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    async with httpx.AsyncClient(timeout=10) as client:

        async def post(path: str, body: object, headers: dict[str, str] | None = None) -> Any:
            response = await client.post(api + path, json=body, headers=headers or {})
            assert response.status_code < 300, response.text
            return response.json()

        # Pairing: one phone by its code, one by its QR payload; and a wrong code.
        by_code, by_qr = [await post("/relay/pairing-codes", {}, admin) for _ in range(2)]
        for made in (by_code, by_qr):
            seen.codes += [made["pairing_code"], made["pairing_code"].replace("-", "")]
            seen.secrets += re.findall(r"[?&]code=([^&]+)", made["qr_payload"])
        first = await post("/relay/app/pair", {"pairing_code": by_code["pairing_code"]})
        paired = await post("/relay/app/pair", {"qr_payload": by_qr["qr_payload"]})
        seen.secrets += [first["device_token"], paired["device_token"]]
        seen.codes += ["914-273", "914273"]
        wrong_code = await client.post(f"{api}/relay/app/pair", json={"pairing_code": "914-273"})
        assert wrong_code.status_code == 401

        # A device token the hub does not know, on the relay socket.
        unknown_device_token = "rhd_" + "k" * 43
        seen.secrets.append(unknown_device_token)
        with pytest.raises(InvalidStatus):
            await raw_relay.open_socket(hub.base_url, unknown_device_token)

        # An access token made, then used; a wrong one refused.
        scopes = ["otp.send", "otp.verify"]
        token = (await post("/tokens", {"name": "app", "scopes": scopes}, admin))["token"]
        wrong_token = "rh_" + "w" * 43
        seen.secrets += [token, wrong_token]
        wrong = {"Authorization": f"Bearer {wrong_token}"}
        assert (await client.get(f"{api}/messages", headers=wrong)).status_code == 401

        # A webhook endpoint (its secret), a rotation (the new one).
        endpoint = await post("/webhooks", {"url": receiver.url}, admin)
        rotated = await post(f"/webhooks/{endpoint['id']}/rotate-secret", {}, admin)
        seen.secrets += [endpoint["secret"], rotated["secret"]]

        # An OTP sent through a relay and verified; its events go out, signed.
        device = PairedDevice(paired["device_id"], paired["device_token"], paired["ws_url"], "A")
        relay = SimRelay(device, seed=1)
        await relay.start()
        try:
            await relay.wait_welcomed()
            mine = {"Authorization": f"Bearer {token}"}
            to = {"to": "+998901234567", "purpose": "login", "length": 8}
            otp = await post("/otp/send", to, mine)
            code = await otp_code(relay, otp["request_id"])
            seen.codes.append(code)
            checked = await post("/otp/verify", {"otp_id": otp["otp_id"], "code": code}, mine)
            assert checked["status"] == "verified"
            await receiver.wait_until(lambda: len(receiver.events("otp.verified")) == 1)
        finally:
            await relay.stop()


async def otp_code(relay: SimRelay, request_id: str) -> str:
    """The code in the SMS the relay was handed."""
    await relay.wait_until(lambda: any(j.id == request_id for j in relay.jobs_received))
    text = next(j.text for j in relay.jobs_received if j.id == request_id)
    (code,) = set(re.findall(r"\b\d{8}\b", text))
    return str(code)


async def test_secrets_are_neither_logged_at_debug_level_nor_stored_in_clear(
    tmp_path: Path,
) -> None:
    (tmp_path / "hub.toml").write_text(CONFIG)
    data = tmp_path / "data"
    hub = HubProcess(data, free_port(), ADMIN_TOKEN, config=tmp_path / "hub.toml")
    seen = Seen()
    await hub.start()
    try:
        async with serve_receiver() as receiver:
            await handle_every_kind_of_secret(hub, receiver, seen)
    finally:
        await hub.stop()

    log = "".join(hub.log + hub.output)
    assert '"POST /api/v1/otp/verify HTTP/1.1" 200' in log  # the access log was on
    assert "< authorization: Bearer [redacted]" in log  # and debug logging, handshakes and all
    assert seen.found_in(log.encode()) == []
    stored = {str(p): seen.found_in(p.read_bytes()) for p in data.rglob("*") if p.is_file()}
    assert len(stored) >= 3  # the database and the two keys, at least
    assert {path: found for path, found in stored.items() if found} == {}


def spellings(secret: str) -> list[str]:
    """How a secret reaches a query string: as is (+ / = and all), encoded by a
    URL library, with only its prefix's first letter encoded, and encoded twice."""
    encoded = urllib.parse.quote(secret, safe="")
    return [secret, encoded, f"%{ord(secret[0]):02x}{secret[1:]}", encoded.replace("%", "%25")]


async def test_secrets_in_query_strings_are_masked_however_encoded(tmp_path: Path) -> None:
    (tmp_path / "hub.toml").write_text(CONFIG)
    hub = HubProcess(tmp_path / "data", free_port(), ADMIN_TOKEN, config=tmp_path / "hub.toml")
    seen = Seen()
    await hub.start()
    try:
        api = f"{hub.base_url}/api/v1"
        admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        async with httpx.AsyncClient(timeout=10) as client:
            # Webhook secrets drawn until one has both + and / (one in four does).
            while not {"+", "/"} <= set(seen.secrets[-1] if seen.secrets else ""):
                assert len(seen.secrets) < 100
                made = await client.post(f"{api}/webhooks", json={"url": "http://127.0.0.1:9/h"},
                                         headers=admin)  # fmt: skip
                seen.secrets.append(made.json()["secret"])
            token = await client.post(f"{api}/tokens", json={"name": "q", "scopes": ["sms.send"]},
                                      headers=admin)  # fmt: skip
            seen.secrets.append(token.json()["token"])
            for secret in seen.secrets[-2:]:
                for spelled in spellings(secret):
                    # A query built by hand: httpx would encode the % of a spelling again.
                    response = await client.get(f"{api}/messages?secret={spelled}&n=1")
                    assert response.status_code == 401
    finally:
        await hub.stop()

    log = "".join(hub.log + hub.output)
    assert log.count('"GET /api/v1/messages?secret=') == 8  # every request was logged
    decoded = log
    for _ in range(2):  # what a reader of the log gets by decoding it
        decoded = urllib.parse.unquote(decoded)
    assert seen.found_in(log.encode()) == []
    assert seen.found_in(decoded.encode()) == []
