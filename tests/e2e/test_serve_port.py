"""A start that cannot serve stops before it opens anything and says what to
change; the "serving …" banner comes only from a start that listens."""

from __future__ import annotations

import socket
from pathlib import Path

from tests.e2e.conftest import ADMIN_TOKEN
from tests.e2e.hub_process import free_port, run_relayhub


async def test_serve_on_a_port_in_use_refuses_naming_the_port_and_the_fix(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        refused = await run_relayhub(
            "serve", "--host", "127.0.0.1", "--port", str(port), "--data", str(data),
            env={"RELAYHUB_ADMIN_TOKEN": ADMIN_TOKEN},
        )  # fmt: skip

    assert refused.returncode == 1
    assert f"port {port} is already in use on 127.0.0.1" in refused.stderr
    assert f"--port {port + 1} (make run PORT={port + 1})" in refused.stderr
    assert refused.stdout == ""  # no "serving …" banner
    assert not (data / "relayhub.db").exists()  # the store was never opened


async def test_start_that_fails_in_the_app_prints_no_banner_and_exits_non_zero(
    tmp_path: Path,
) -> None:
    port = free_port()
    failed = await run_relayhub(
        "serve", "--host", "127.0.0.1", "--port", str(port), "--data", str(tmp_path / "data"),
        env={"RELAYHUB_ADMIN_TOKEN": "too-short"},
    )  # fmt: skip

    assert failed.returncode != 0
    assert "RELAYHUB_ADMIN_TOKEN must be at least 16 characters" in failed.stderr
    assert "is serving" not in failed.stdout
    assert "Uvicorn running on" not in failed.stderr
