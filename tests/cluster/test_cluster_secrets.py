"""The keys every node needs come from the database (or the environment), never a file.

An OTP sent through node A is sealed with otp.key by A, claimed from the shared
queue by node B (whose relay it goes to), opened there, and its code verified
by either node: all three need the one key.
"""

from __future__ import annotations

import re

import pytest
from cryptography.fernet import Fernet

from hub.cluster.shared_secrets import WRAP_ENV
from hub.webhooks import signer
from tests.cluster.conftest import Cluster
from tests.e2e.conftest import ADMIN_TOKEN
from tests.e2e.receiver import serve_receiver

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


async def test_an_otp_sent_through_one_node_is_opened_and_verified_by_another(
    cluster: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrap = Fernet.generate_key()
    monkeypatch.setenv(WRAP_ENV, wrap.decode())  # every node's environment
    monkeypatch.delenv("RELAYHUB_OTP_KEY", raising=False)
    monkeypatch.delenv("RELAYHUB_WEBHOOK_KEY", raising=False)
    a = await cluster.start_node()
    device = await cluster.pair(a, "phone-on-b")
    b = await cluster.start_node()
    relay = await cluster.relay_on(b, device)

    sent = await cluster.client.post(
        a.base_url + "/api/v1/otp/send",
        json={"to": "+998901234567", "purpose": "login"},
        headers=AUTH,
    )
    assert sent.status_code == 200, sent.text
    otp = sent.json()
    await relay.wait_until(lambda: any(j.id == otp["request_id"] for j in relay.jobs_received))
    text = next(j.text for j in relay.jobs_received if j.id == otp["request_id"])
    (code,) = set(re.findall(r"\b\d{6}\b", text))  # B opened A's sealed text

    verified = await cluster.client.post(
        b.base_url + "/api/v1/otp/verify",
        json={"otp_id": otp["otp_id"], "code": code},
        headers=AUTH,
    )
    assert verified.status_code == 200, verified.text
    assert verified.json()["status"] == "verified"  # B's HMAC key is A's

    # The keys are in the database, sealed with the environment's key, and in no
    # node's data folder.
    rows = cluster.query("SELECT name, value, sealed FROM hub_secrets ORDER BY name")
    assert [(name, sealed) for name, _, sealed in rows] == [("otp.key", 1), ("webhook.key", 1)]
    for node in (a, b):
        assert not (node.data_dir / "otp.key").exists()
        assert not (node.data_dir / "webhook.key").exists()


async def test_a_webhook_secret_sealed_on_one_node_signs_the_other_nodes_deliveries(
    cluster: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(WRAP_ENV, raising=False)  # without it the keys are kept unsealed
    monkeypatch.delenv("RELAYHUB_WEBHOOK_KEY", raising=False)
    cluster.extra_toml = "[webhooks]\nallow_private_targets = true\n"
    async with serve_receiver() as receiver:
        a = await cluster.start_node()
        made = await cluster.client.post(
            a.base_url + "/api/v1/webhooks",
            json={"url": receiver.url, "events": ["device.online"]},
            headers=AUTH,
        )
        assert made.status_code == 201, made.text
        secret = made.json()["secret"]  # sealed by A
        device = await cluster.pair(a, "phone-on-b")
        b = await cluster.start_node()
        await cluster.relay_on(b, device)  # B writes device.online and delivers it

        await receiver.wait_until(lambda: bool(receiver.events("device.online")), timeout=20)
        call = next(c for c in receiver.calls if c.event["type"] == "device.online")
        stamp = int(call.headers["webhook-timestamp"])
        expected = signer.signature(secret, call.webhook_id, stamp, call.body)
        assert expected in call.headers["webhook-signature"].split()

    rows = cluster.query("SELECT name, sealed FROM hub_secrets ORDER BY name")
    assert rows == [("otp.key", 0), ("webhook.key", 0)]
    assert any("kept in the database unsealed" in line for line in b.log)
