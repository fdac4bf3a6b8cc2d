"""``relayhub listen``, the local receiver the README's walk-through uses.

Its signature check is held to the ``standardwebhooks`` package's signing, and
the command itself runs as a real process that a real hub posts to.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from standardwebhooks import Webhook

from hub.webhooks.listen import verdict
from hub.webhooks.signer import new_secret
from tests.e2e.conftest import hub_config, serve_hub
from tests.e2e.hub_process import free_port
from tests.e2e.webhook_log import add_endpoint, settled

BODY = b'{"type":"message.delivered","timestamp":"2026-12-07T00:00:00Z","data":{}}'
NOW = datetime(2026, 12, 7, tzinfo=UTC)


def signed(secret: str, at: datetime) -> dict[str, str]:
    return {
        "webhook-id": "evt_1",
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign("evt_1", at, BODY.decode()),
    }


def test_an_event_signed_by_standardwebhooks_is_genuine() -> None:
    secret = new_secret()
    assert verdict(secret, signed(secret, NOW), BODY, NOW.timestamp()) is None


def test_a_changed_body_another_secret_or_an_old_timestamp_is_refused_with_the_reason() -> None:
    secret = new_secret()
    headers = signed(secret, NOW)
    assert "no signature matches" in str(verdict(secret, headers, BODY + b" ", NOW.timestamp()))
    assert "no signature matches" in str(verdict(new_secret(), headers, BODY, NOW.timestamp()))
    late = (NOW + timedelta(minutes=6)).timestamp()
    assert "more than 300 s" in str(verdict(secret, headers, BODY, late))
    assert "missing" in str(verdict(secret, {}, BODY, NOW.timestamp()))


def test_any_of_the_signatures_of_a_rotation_overlap_is_accepted() -> None:
    old, new = new_secret(), new_secret()
    headers = signed(old, NOW)
    headers["webhook-signature"] += " " + signed(new, NOW)["webhook-signature"]
    assert verdict(new, headers, BODY, NOW.timestamp()) is None


@asynccontextmanager
async def listen(port: int, secret: str) -> AsyncIterator[list[str]]:
    """``relayhub listen`` as a process; yields the lines it prints."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "hub", "listen", "--port", str(port), "--secret", secret,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    assert process.stdout is not None
    lines: list[str] = []
    first = (await process.stdout.readline()).decode()
    assert first.startswith(f"listening on http://127.0.0.1:{port}/"), first

    async def drain() -> None:
        assert process.stdout is not None
        while line := await process.stdout.readline():
            lines.append(line.decode())

    reader = asyncio.create_task(drain())
    try:
        yield lines
    finally:
        process.terminate()
        await process.wait()
        await reader


@pytest.mark.parametrize("right_secret", [True, False])
async def test_the_listener_checks_what_a_real_hub_posts(
    tmp_path: Path, right_secret: bool
) -> None:
    config = hub_config(tmp_path / "data", webhooks={"allow_private_targets": True})
    async with serve_hub(config) as hub:
        port = free_port()
        url = f"http://127.0.0.1:{port}/"
        endpoint = await add_endpoint(hub, url, events=["message.delivered"])
        secret = endpoint["secret"] if right_secret else new_secret()
        async with listen(port, secret) as lines:
            await hub.relay("A")
            await hub.send(text="Salom")
            (delivery,) = await settled(hub, lambda d: d["attempt_count"] >= 1)
    # The listener's answer is what the attempts log records.
    assert delivery["attempts"][0]["status_code"] == (204 if right_secret else 401)
    assert delivery["status"] == ("succeeded" if right_secret else "pending")
    printed = "".join(lines)
    assert "message.delivered" in printed
    if right_secret:
        assert "signature valid" in printed
    else:
        assert "REFUSED (401): no signature matches" in printed
