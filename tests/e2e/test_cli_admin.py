"""``relayhub account`` and ``relayhub token`` against the running hub."""

from __future__ import annotations

import asyncio
import json

import pytest

from hub.cli import main
from tests.e2e.conftest import ADMIN_TOKEN, RunningHub

pytestmark = pytest.mark.both_backends  # a route or a state change (conftest.py)


async def run(hub: RunningHub, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    # The CLI is synchronous: run it off the loop that serves the hub.
    code = await asyncio.to_thread(main, [*argv, "--hub", hub.base_url, "--token", ADMIN_TOKEN])
    out, err = capsys.readouterr()
    return code, out + err


async def test_cli_creates_updates_and_lists_accounts(
    hub_server: RunningHub, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = await run(hub_server, capsys, "account", "create", "Clinic")
    assert code == 0 and "shown only once" in out
    created = json.loads(out[: out.rindex("}") + 1])

    code, out = await run(
        hub_server, capsys, "account", "update", created["account_id"], "--pause",
        "--send-per-minute", "5",
    )  # fmt: skip
    assert code == 0
    assert '"paused": true' in out and '"send_per_minute": 5' in out

    code, out = await run(hub_server, capsys, "account", "list")
    assert code == 0 and "Clinic" in out


async def test_cli_creates_lists_and_revokes_tokens(
    hub_server: RunningHub, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = await run(
        hub_server, capsys, "token", "create", "shop", "--scope", "sms.send", "--scope",
        "messages.read",
    )  # fmt: skip
    assert code == 0
    token_id = json.loads(out[: out.rindex("}") + 1])["id"]

    code, out = await run(hub_server, capsys, "token", "revoke", token_id)
    assert code == 0 and '"revoked": true' in out

    code, out = await run(hub_server, capsys, "token", "revoke", token_id)
    assert code == 1 and "not_found" in out


async def test_cli_prints_every_field_error(
    hub_server: RunningHub, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = await run(hub_server, capsys, "token", "create", "x", "--scope", "root")
    assert code == 1
    assert "validation_error" in out and "scopes:" in out
