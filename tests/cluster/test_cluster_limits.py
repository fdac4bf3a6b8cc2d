"""Limits hold for the cluster: requests spread over two real nodes meet one limit.

Each burst is sent at once (asyncio.gather), alternating between the nodes,
so each node sees half of it; the answers must be those of one node seeing
all of it.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from tests.cluster.conftest import Cluster
from tests.e2e.conftest import ADMIN_TOKEN
from tests.e2e.hub_process import HubProcess

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


async def _post(
    cluster: Cluster, node: HubProcess, path: str, body: dict[str, Any]
) -> httpx.Response:
    return await cluster.client.post(node.base_url + path, json=body, headers=AUTH)


async def _burst_of_sends(cluster: Cluster, count: int) -> list[httpx.Response]:
    a, b = cluster.nodes
    sends = [
        _post(cluster, (a, b)[n % 2], "/api/v1/sms/send", {"to": "+998901234567", "text": f"n{n}"})
        for n in range(count)
    ]
    return list(await asyncio.gather(*sends))


async def _two_nodes(cluster: Cluster) -> None:
    a = await cluster.start_node()
    await cluster.pair(a, "phone")  # sends need a paired phone; none is online, so they wait
    await cluster.start_node()


async def test_a_send_burst_split_over_two_nodes_is_cut_at_the_rate_of_one(
    cluster: Cluster,
) -> None:
    cluster.extra_toml = "[limits]\nsend_per_minute = 10\n"
    await _two_nodes(cluster)

    answers = await _burst_of_sends(cluster, 30)

    accepted = [r for r in answers if r.status_code == 202]
    refused = [r for r in answers if r.status_code == 429]
    assert len(accepted) == 10 and len(refused) == 20  # one bucket of 10, not one per node
    assert {r.json()["code"] for r in refused} == {"rate_limited"}
    # The answer of one node: the next send fits 60 s / 10 on.
    assert {r.headers["Retry-After"] for r in refused} == {"6"}
    assert {r.headers["RateLimit-Policy"] for r in refused} == {'"send";q=10;w=60'}
    assert cluster.query("SELECT count(*) FROM messages") == [(10,)]


async def test_max_queued_holds_for_both_nodes_together(cluster: Cluster) -> None:
    cluster.extra_toml = "[limits]\nmax_queued = 5\n"
    await _two_nodes(cluster)

    answers = await _burst_of_sends(cluster, 12)

    assert sorted(r.status_code for r in answers) == [202] * 5 + [409] * 7
    refused = [r.json() for r in answers if r.status_code == 409]
    assert {e["code"] for e in refused} == {"queue_blocked"}
    assert cluster.query("SELECT count(*) FROM messages WHERE state = 'queued'") == [(5,)]
    assert cluster.query("SELECT count(*) FROM limit_holds") == [(0,)]  # each left with its send


async def test_unknown_tokens_on_two_nodes_meet_one_guessing_brake(cluster: Cluster) -> None:
    cluster.extra_toml = "[auth]\nmax_failures = 4\n"
    await _two_nodes(cluster)
    a, b = cluster.nodes

    answers = await asyncio.gather(*(
        cluster.client.get(
            (a, b)[n % 2].base_url + "/api/v1/messages",
            headers={"Authorization": f"Bearer rh_guess_{n:040d}"},
        )
        for n in range(10)
    ))  # fmt: skip

    assert sorted(r.status_code for r in answers) == [401] * 4 + [429] * 6
    assert all(int(r.headers["Retry-After"]) > 0 for r in answers if r.status_code == 429)
    # A real token still works on both nodes while the address is braked.
    for node in (a, b):
        ok = await cluster.client.get(node.base_url + "/api/v1/messages", headers=AUTH)
        assert ok.status_code == 200, ok.text


async def test_an_otp_cooldown_holds_when_two_nodes_are_asked_at_once(cluster: Cluster) -> None:
    cluster.extra_toml = "[otp]\nresend_cooldown_s = 600\n"
    await _two_nodes(cluster)
    a, b = cluster.nodes
    body = {"to": "+998901234567", "purpose": "login"}

    answers = await asyncio.gather(*(
        _post(cluster, node, "/api/v1/otp/send", body) for node in (a, b, a, b)
    ))  # fmt: skip

    assert sorted(r.status_code for r in answers) == [200, 429, 429, 429], [r.text for r in answers]
    refused = [r for r in answers if r.status_code == 429]
    assert {r.json()["code"] for r in refused} == {"rate_limited"}
    # About the cooldown (a second more when a loser's time was read before the
    # winner's: it waited for the winner's lock).
    assert all(599 <= int(r.headers["Retry-After"]) <= 601 for r in refused), [
        r.headers["Retry-After"] for r in refused
    ]
    assert cluster.query("SELECT count(*) FROM otps") == [(1,)]
    # Another purpose for the same number is its own limit, on either node.
    other = await _post(cluster, b, "/api/v1/otp/send", {**body, "purpose": "reset"})
    assert other.status_code == 200, other.text


async def test_wrong_pairing_codes_on_two_nodes_meet_one_brake(cluster: Cluster) -> None:
    cluster.extra_toml = "[pairing]\nmax_failures = 3\n"
    await _two_nodes(cluster)
    a, b = cluster.nodes

    answers = await asyncio.gather(*(
        cluster.client.post(
            (a, b)[n % 2].base_url + "/api/v1/relay/app/pair",
            json={"pairing_code": f"{n:06d}", "device_name": "guess"},
        )
        for n in range(8)
    ))  # fmt: skip

    assert sorted(r.status_code for r in answers) == [401] * 3 + [429] * 5
    braked = [r for r in answers if r.status_code == 429]
    assert {r.headers["RateLimit-Policy"] for r in braked} == {'"pairing-guess";q=3;w=600'}
