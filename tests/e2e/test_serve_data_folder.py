"""One hub per data folder: a second ``relayhub serve`` on it refuses before it
touches anything, and a hub killed with SIGKILL never blocks the next start."""

from __future__ import annotations

import os
from pathlib import Path

import httpx

from hub.serving import dashboard_link
from hub.serving.data_lock import LOCK_FILE, DataFolderLock
from relay_sim.pairing import pair_device
from tests.e2e.conftest import ADMIN_TOKEN
from tests.e2e.hub_process import HubProcess, free_port, run_relayhub

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def serve_args(data: Path, port: int) -> list[str]:
    return ["serve", "--host", "127.0.0.1", "--port", str(port), "--data", str(data)]


async def live_tokens(client: httpx.AsyncClient) -> list[tuple[str, str | None]]:
    """Each live token of the first account (last_used_at aside: using one changes it)."""
    answer = (await client.get("/api/v1/tokens", headers=ADMIN)).json()
    return [(token["id"], token["expires_at"]) for token in answer["items"]]


async def test_second_serve_refuses_and_leaves_the_running_hub_untouched(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = HubProcess(data, free_port(), ADMIN_TOKEN)
    await first.start()
    try:
        await first.wait_output("is serving")
        link_file = data / dashboard_link.LINK_FILE
        link_before = link_file.read_bytes()
        link = dashboard_link.read(link_file)
        assert link is not None
        async with httpx.AsyncClient(base_url=first.base_url, timeout=10) as client:
            tokens_before = await live_tokens(client)
            # Queued for a paired phone that is offline: a second hub that
            # "resumed" it would claim it.
            await pair_device(client, first.base_url, ADMIN_TOKEN, "phone")
            sent = await client.post(
                "/api/v1/sms/send", json={"to": "+998901234567", "text": "Salom"}, headers=ADMIN
            )
            assert sent.status_code == 202, sent.text
            status_url = f"/api/v1/messages/status?request_id={sent.json()['request_id']}"
            status_before = (await client.get(status_url, headers=ADMIN)).json()
            files_before = sorted(p.name for p in data.iterdir())

            second = await run_relayhub(
                *serve_args(data, free_port()), env={"RELAYHUB_ADMIN_TOKEN": ADMIN_TOKEN}
            )

            assert second.returncode == 1
            assert f"pid {first.pid}, serving {first.base_url}" in second.stderr
            assert "--data" in second.stderr
            assert second.stdout == ""  # no "serving …" banner, no link
            assert "Started server process" not in second.stderr  # uvicorn never ran
            assert link_file.read_bytes() == link_before
            assert sorted(p.name for p in data.iterdir()) == files_before
            assert await live_tokens(client) == tokens_before
            assert (await client.get(status_url, headers=ADMIN)).json() == status_before
            dashboard = {"Authorization": f"Bearer {link.url.split('#token=')[1]}"}
            assert (await client.get("/api/v1/account", headers=dashboard)).status_code == 200
    finally:
        await first.stop()


async def test_serve_on_a_held_folder_opens_no_database(tmp_path: Path) -> None:
    data = tmp_path / "data"
    held = DataFolderLock.acquire(data)  # this test process plays the running hub
    held.describe("http://127.0.0.1:9")
    try:
        refused = await run_relayhub(*serve_args(data, free_port()))
    finally:
        held.release()

    assert refused.returncode == 1
    assert f"pid {os.getpid()}, serving http://127.0.0.1:9" in refused.stderr
    assert sorted(p.name for p in data.iterdir()) == [LOCK_FILE]  # no database, no keys


async def test_serve_starts_on_the_folder_of_a_hub_killed_with_sigkill(tmp_path: Path) -> None:
    data = tmp_path / "data"
    port = free_port()
    killed = HubProcess(data, port, ADMIN_TOKEN)
    await killed.start()
    await killed.kill()  # the kernel drops its lock; no shutdown code ran

    after = HubProcess(data, port, ADMIN_TOKEN)
    await after.start()
    try:
        await after.wait_output("is serving")
        assert (data / LOCK_FILE).read_text() == f"pid: {after.pid}\naddress: {after.base_url}\n"
        async with httpx.AsyncClient(timeout=10) as client:
            response = await client.get(f"{after.base_url}/api/v1/account", headers=ADMIN)
        assert response.status_code == 200
    finally:
        await after.stop()


async def test_serve_on_a_data_path_that_is_a_file_refuses_naming_it(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.write_text("not a folder")

    refused = await run_relayhub(*serve_args(data, free_port()))

    assert refused.returncode == 1
    assert f"cannot use {data}/ as the data folder: it is not a folder" in refused.stderr
    assert "--data" in refused.stderr
    assert refused.stdout == ""
