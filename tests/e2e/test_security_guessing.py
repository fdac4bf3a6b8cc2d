"""Guessing secrets is braked per client address, and the brake lifts when its window ends.

Two brakes guard the REST API: wrong access tokens (``[auth]``) and wrong
pairing codes or QR payloads (``[pairing]``). Past ``max_failures`` in
``failure_window_s`` an address gets 429 ``rate_limited`` with ``Retry-After``
and ``RateLimit`` headers. A pairing code is six digits, so while braked even
the right code is refused; an access token is 256 random bits, so the right
token always works (a brake on it could only lock honest clients that share
an address with a scanner). Time is moved with a ``ManualClock``.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import InvalidStatus

from hub.clock import ManualClock
from tests.e2e import raw_relay
from tests.e2e.conftest import ADMIN_TOKEN, RunningHub, hub_config, serve_hub
from tests.e2e.test_api_errors import assert_problem

LIMIT = 3
WINDOW_S = 60
PAIR = "/api/v1/relay/app/pair"


@dataclass(frozen=True)
class Brake:
    name: str
    section: str  # its hub.toml section
    policy: str  # the name in its RateLimit headers
    guess: Callable[[RunningHub, httpx.AsyncClient, int], Awaitable[httpx.Response]]
    right: Callable[[RunningHub, httpx.AsyncClient], Awaitable[httpx.Response]]
    right_status: int  # what the right secret gets when the address is not braked
    right_braked: bool  # the right secret is refused too while the address is braked


async def wrong_token(hub: RunningHub, client: httpx.AsyncClient, n: int) -> httpx.Response:
    headers = {"Authorization": f"Bearer rh_guess_{n:040d}"}
    return await client.get(f"{hub.base_url}/api/v1/messages", headers=headers)


async def right_token(hub: RunningHub, client: httpx.AsyncClient) -> httpx.Response:
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    return await client.get(f"{hub.base_url}/api/v1/messages", headers=headers)


async def wrong_pairing(hub: RunningHub, client: httpx.AsyncClient, n: int) -> httpx.Response:
    # Codes and QR payloads count against the same brake.
    body = (
        {"pairing_code": f"{n:06d}"}
        if n % 2
        else {"qr_payload": f"relayhub://pair?hub=x&code=guess{n:020d}"}
    )
    return await client.post(hub.base_url + PAIR, json=body)


async def right_pairing(hub: RunningHub, client: httpx.AsyncClient) -> httpx.Response:
    made = await hub.post("/api/v1/relay/pairing-codes", {})
    return await client.post(hub.base_url + PAIR, json={"qr_payload": made.json()["qr_payload"]})


BRAKES = [
    Brake("token", "auth", "token-guess", wrong_token, right_token, 200, right_braked=False),
    Brake("pairing", "pairing", "pairing-guess", wrong_pairing, right_pairing, 201,
          right_braked=True),
]  # fmt: skip


@contextlib.asynccontextmanager
async def braked_hub(tmp_path: Path, brake: Brake) -> AsyncIterator[RunningHub]:
    limits = {"max_failures": LIMIT, "failure_window_s": WINDOW_S}
    async with serve_hub(hub_config(tmp_path, **{brake.section: limits}), ManualClock()) as hub:
        yield hub


@contextlib.asynccontextmanager
async def client_at(address: str) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client whose requests come from ``address`` (any 127.x is loopback)."""
    transport = httpx.AsyncHTTPTransport(local_address=address)
    async with httpx.AsyncClient(transport=transport, timeout=10) as client:
        yield client


def assert_braked(response: httpx.Response, brake: Brake, wait: int) -> None:
    problem = assert_problem(response, 429, "rate_limited")
    assert f"retry in {wait} s" in problem["detail"]
    assert response.headers["retry-after"] == str(wait)
    assert response.headers["ratelimit-policy"] == f'"{brake.policy}";q={LIMIT};w={WINDOW_S}'
    assert response.headers["ratelimit"] == f'"{brake.policy}";r=0;t={wait}'


@pytest.mark.parametrize("brake", BRAKES, ids=lambda b: b.name)
async def test_guesses_past_the_limit_get_429_until_the_window_passes(
    tmp_path: Path, brake: Brake
) -> None:
    async with braked_hub(tmp_path, brake) as hub:
        for n in range(LIMIT):
            assert_problem(await brake.guess(hub, hub.client, n), 401, "unauthorized")

        assert_braked(await brake.guess(hub, hub.client, 100), brake, WINDOW_S)
        right = await brake.right(hub, hub.client)
        if brake.right_braked:
            assert_braked(right, brake, WINDOW_S)
        else:
            assert right.status_code == brake.right_status

        # Guesses made while braked are refused unread: they do not push the end back.
        hub.manual_clock.advance(WINDOW_S - 1)
        assert_braked(await brake.guess(hub, hub.client, 101), brake, 1)
        hub.manual_clock.advance(1)
        assert (await brake.right(hub, hub.client)).status_code == brake.right_status
        assert_problem(await brake.guess(hub, hub.client, 102), 401, "unauthorized")


@pytest.mark.parametrize("brake", BRAKES, ids=lambda b: b.name)
async def test_brake_holds_back_only_the_address_that_guessed(tmp_path: Path, brake: Brake) -> None:
    async with braked_hub(tmp_path, brake) as hub, client_at("127.0.0.2") as guesser:
        for n in range(LIMIT):
            await brake.guess(hub, guesser, n)
        assert_braked(await brake.guess(hub, guesser, 100), brake, WINDOW_S)

        assert_problem(await brake.guess(hub, hub.client, 101), 401, "unauthorized")
        assert (await brake.right(hub, hub.client)).status_code == brake.right_status


@pytest.mark.parametrize("brake", BRAKES, ids=lambda b: b.name)
async def test_brake_is_not_reset_by_x_forwarded_for_from_a_client_that_is_not_a_proxy(
    tmp_path: Path, brake: Brake
) -> None:
    async with braked_hub(tmp_path, brake) as hub, client_at("127.0.0.2") as guesser:
        for n in range(LIMIT + 1):
            guesser.headers["X-Forwarded-For"] = f"198.51.100.{n + 1}"
            answer = await brake.guess(hub, guesser, n)

        assert_braked(answer, brake, WINDOW_S)


async def test_wrong_device_tokens_on_the_relay_socket_are_braked_like_access_tokens(
    tmp_path: Path,
) -> None:
    limits = {"max_failures": LIMIT, "failure_window_s": WINDOW_S}
    async with serve_hub(hub_config(tmp_path, auth=limits), ManualClock()) as hub:
        statuses = []
        for n in range(LIMIT + 1):
            with pytest.raises(InvalidStatus) as refused:
                await raw_relay.open_socket(hub.base_url, f"rhd_guess_{n:040d}")
            statuses.append(refused.value.response.status_code)

        assert statuses == [403] * LIMIT + [429]
