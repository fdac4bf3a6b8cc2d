"""A webhook receiver that is down while the hub is SIGKILLed still gets every event."""

from __future__ import annotations

import contextlib
from collections import Counter
from pathlib import Path

import httpx
import pytest
from standardwebhooks import Webhook

from relay_sim.pairing import pair_device
from relay_sim.relay import SimRelay
from tests.e2e.conftest import ADMIN_TOKEN, delivered_ids
from tests.e2e.hub_process import HubProcess, free_port
from tests.e2e.receiver import Call, serve_receiver

pytestmark = pytest.mark.both_backends  # a route or a state change (conftest.py)

MESSAGES = 3
CONFIG = """
[webhooks]
allow_private_targets = true
retry_schedule_s = [0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]
"""


async def answer_503(call: Call) -> tuple[int, dict[str, str]]:
    return 503, {}


async def test_a_receiver_down_across_a_hub_sigkill_gets_every_event_after_the_restart(
    tmp_path: Path,
) -> None:
    (tmp_path / "hub.toml").write_text(CONFIG)
    hub = HubProcess(tmp_path / "data", free_port(), ADMIN_TOKEN, config=tmp_path / "hub.toml")
    receiver_port = free_port()
    auth = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    await hub.start()
    relay: SimRelay | None = None
    try:
        async with httpx.AsyncClient(timeout=10, headers=auth) as client:
            endpoint = (
                await client.post(
                    f"{hub.base_url}/api/v1/webhooks",
                    json={
                        "url": f"http://127.0.0.1:{receiver_port}/hook",
                        "events": ["message.sent", "message.delivered"],
                    },
                )
            ).json()
            relay = SimRelay(await pair_device(client, hub.base_url, ADMIN_TOKEN, "A"), seed=1)
            await relay.start()
            await relay.wait_welcomed()
            for n in range(MESSAGES):
                response = await client.post(
                    f"{hub.base_url}/api/v1/sms/send",
                    json={"to": "+998901234567", "text": f"crash {n}"},
                )
                assert response.status_code == 202

            # The receiver is failing: every event is tried at least once and refused.
            async with serve_receiver(receiver_port, answer_503) as failing:
                await failing.wait_until(lambda: len({c.webhook_id for c in failing.calls}) == 6)
            await relay.wait_until(lambda: len(delivered_ids(relay)) == MESSAGES)
            await relay.stop()
            relay = None
            await hub.kill()  # the receiver is down too now

            async with serve_receiver(receiver_port) as receiver:
                await hub.start()
                await receiver.wait_until(lambda: len(receiver.succeeded()) == 2 * MESSAGES)
    finally:
        if relay is not None:
            with contextlib.suppress(Exception):
                await relay.stop()
        await hub.stop()

    assert set(receiver.succeeded().values()) == {1}
    assert set(receiver.succeeded()) == {c.webhook_id for c in failing.calls}
    types = Counter(Webhook(endpoint["secret"]).verify(c.body, c.headers)["type"]
                    for c in receiver.calls if c.status == 204)  # fmt: skip
    assert types == {"message.sent": MESSAGES, "message.delivered": MESSAGES}
