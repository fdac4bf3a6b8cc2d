"""The same hub on both storage backends: a send reaches a real relay and is stored.

Runs on SQLite and on the private PostgreSQL cluster whatever
RELAYHUB_TEST_BACKEND says (that switch moves the whole e2e suite; these
tests always cover both).
"""

from __future__ import annotations

import itertools
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from hub.config import Config
from tests.e2e.conftest import delivered_ids, hub_config, serve_hub

_databases = itertools.count()


@pytest.fixture(params=["sqlite", "postgres"])
def backend_config(request: pytest.FixtureRequest, tmp_path: Path) -> Config:
    storage: dict[str, Any] = {"url": ""}
    if request.param == "postgres":
        cluster = request.getfixturevalue("postgres")
        storage["url"] = cluster.create_database(f"e2e_backend_{next(_databases)}")
    return hub_config(tmp_path / "data", storage=storage)


async def test_a_send_is_delivered_and_its_status_read_back_after_a_restart(
    backend_config: Config,
) -> None:
    async with serve_hub(backend_config) as running:
        relay = await running.relay("Relay on either backend")
        request_id = await running.send("90 123 45 67", "Salom")
        # Receipted, so stored: the hub writes a report before its receipt (a
        # barrier alone may run before the report's frame is even read).
        await relay.wait_until(
            lambda: request_id in delivered_ids(relay) and relay.outbox_size == 0
        )
        assert relay.sms_sent == Counter({request_id: 1})

    async with serve_hub(backend_config) as again:  # a new hub on the same database
        status = await again.status(request_id)
    assert status["status"] == "delivered"
    assert status["to"] == "+998901234567"
    assert [h["state"] for h in status["history"]] == [
        "queued", "dispatched", "accepted", "sent", "delivered",
    ]  # fmt: skip
