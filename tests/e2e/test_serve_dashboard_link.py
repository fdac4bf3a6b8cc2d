"""The dashboard sign-in link stays out of stdout (a shared journal), lives in a
0600 file in the data folder, survives restarts, and ``relayhub dashboard-link``
prints it for the operator."""

from __future__ import annotations

import stat
from pathlib import Path

import httpx

from hub.serving import dashboard_link
from tests.e2e.conftest import ADMIN_TOKEN, RunningHub
from tests.e2e.hub_process import HubProcess, free_port, run_relayhub


def saved_link(data: Path) -> dashboard_link.SavedLink:
    link = dashboard_link.read(data / dashboard_link.LINK_FILE)
    assert link is not None
    return link


def secret_of(link: dashboard_link.SavedLink) -> str:
    return link.url.split("#token=", 1)[1]


async def signs_in(base_url: str, secret: str) -> bool:
    async with httpx.AsyncClient(timeout=10) as client:
        answer = await client.get(
            f"{base_url}/api/v1/account", headers={"Authorization": f"Bearer {secret}"}
        )
    return answer.status_code == 200


async def test_serve_writes_the_link_to_a_private_file_and_never_prints_it(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    hub = HubProcess(data, free_port(), ADMIN_TOKEN)
    await hub.start()
    try:
        banner = await hub.wait_output("dashboard:")
        link = saved_link(data)
        assert str(data / dashboard_link.LINK_FILE) in banner
        assert f"relayhub dashboard-link --data {data}" in banner
        await hub.wait_output("export RELAYHUB_TOKEN=")
        printed = "".join(hub.output)
        assert f"developer docs:  {hub.base_url}/docs" in printed
        # A token the operator chose in RELAYHUB_ADMIN_TOKEN is not echoed back.
        assert "the one RELAYHUB_ADMIN_TOKEN holds" in printed
        assert ADMIN_TOKEN not in printed
        assert stat.S_IMODE((data / dashboard_link.LINK_FILE).stat().st_mode) == 0o600
        assert link.url.startswith(f"{hub.base_url}/dashboard/#token=")
        assert await signs_in(hub.base_url, secret_of(link))
    finally:
        await hub.stop()
    assert secret_of(link) not in "".join(hub.output + hub.log)


async def test_restart_keeps_the_link_so_open_dashboards_stay_signed_in(tmp_path: Path) -> None:
    data = tmp_path / "data"
    before = HubProcess(data, free_port(), ADMIN_TOKEN)
    await before.start()
    await before.stop()
    link = saved_link(data)

    after = HubProcess(data, free_port(), ADMIN_TOKEN)  # moved to another port, too
    await after.start()
    try:
        moved = saved_link(data)
        assert moved.token_id == link.token_id
        assert moved.url == f"{after.base_url}/dashboard/#token={secret_of(link)}"
        assert await signs_in(after.base_url, secret_of(link))
    finally:
        await after.stop()


async def test_dashboard_link_command_prints_the_running_hubs_link(tmp_path: Path) -> None:
    data = tmp_path / "data"
    hub = HubProcess(data, free_port(), ADMIN_TOKEN)
    await hub.start()
    try:
        printed = await run_relayhub("dashboard-link", "--data", str(data))
    finally:
        await hub.stop()

    assert printed.returncode == 0, printed.stderr
    assert printed.stdout == saved_link(data).url + "\n"
    assert "signs in until" in printed.stderr


async def test_dashboard_link_command_without_a_hub_says_how_to_start_one(tmp_path: Path) -> None:
    data = tmp_path / "data"
    hub = HubProcess(data, free_port(), ADMIN_TOKEN)
    await hub.start()
    await hub.stop()  # the link file stays, but no hub answers it

    refused = await run_relayhub("dashboard-link", "--data", str(data))

    assert refused.returncode == 1
    assert refused.stdout == ""
    assert f"no hub is serving {data}/ now" in refused.stderr
    assert f"relayhub serve --data {data}" in refused.stderr


async def test_sign_in_page_says_how_to_get_a_link(hub_server: RunningHub) -> None:
    page = (await hub_server.client.get(f"{hub_server.base_url}/dashboard/")).text

    assert "<code>relayhub dashboard-link</code> prints a sign-in link" in page
    assert "dashboard-link.txt" in page
    assert "prints a sign-in link with the admin" not in page  # the old, wrong claim
