"""Issue 16, finding 13: health tells anyone the hub is up, but how many phones
it serves only to an account, and then only its own.

The attack: ``GET /api/v1/health`` with no token showed ``relays_online`` for
the whole hub, every account's phones together.
"""

from __future__ import annotations

from relay_sim.pairing import pair_device
from tests.e2e.conftest import ADMIN_TOKEN, RunningHub
from tests.e2e.test_api_errors import assert_problem


async def two_accounts_online(hub_server: RunningHub) -> str:
    """The admin's account with one relay online, a second account with two; its token."""
    await hub_server.relay("Admin's phone")
    created = await hub_server.post("/api/v1/admin/accounts", {"name": "Bravo"})
    assert created.status_code == 201, created.text
    b_token: str = created.json()["token"]
    for name in ("Bravo one", "Bravo two"):
        device = await pair_device(hub_server.client, hub_server.base_url, b_token, name)
        await hub_server.relay(name, device=device)
    return b_token


async def test_health_without_a_token_says_up_but_counts_no_relays(
    hub_server: RunningHub,
) -> None:
    await two_accounts_online(hub_server)

    response = await hub_server.get("/api/v1/health", token=None)

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["storage"] == "ok"
    assert "relays_online" not in body


async def test_health_with_a_token_counts_only_that_accounts_relays(
    hub_server: RunningHub,
) -> None:
    b_token = await two_accounts_online(hub_server)

    admins = (await hub_server.get("/api/v1/health", token=ADMIN_TOKEN)).json()
    bravos = (await hub_server.get("/api/v1/health", token=b_token)).json()

    assert admins["relays_online"] == 1
    assert bravos["relays_online"] == 2


async def test_health_with_a_wrong_token_is_refused_not_answered_without_the_count(
    hub_server: RunningHub,
) -> None:
    response = await hub_server.get("/api/v1/health", token="rh_" + "x" * 40)

    assert_problem(response, 401, "unauthorized")
