"""Every brake holds its exact limit when hundreds of guesses arrive at once.

A brake that is read before an await and charged after it lets every guess in
flight through: issue 16 found 300 simultaneous wrong pairing codes all
answered 401 (limit 10), and the right code among 100 wrong ones paired a
phone. Each test here fires its guesses together (``asyncio.gather`` over a
real uvicorn on loopback, each on its own connection) and counts the answers.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Awaitable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import httpx
import msgspec
import pytest
from websockets.exceptions import InvalidStatus

from hub.config import Config
from tests.e2e import raw_relay
from tests.e2e.conftest import ADMIN_TOKEN, RunningHub, hub_config, serve_hub
from tests.e2e.test_otp import code_of, no_limits, sent_otp, wrong

pytestmark = pytest.mark.both_backends  # a route or a state change (conftest.py)

LIMIT = 10
PAIR = "/api/v1/relay/app/pair"


def serve_crowded(config: Config) -> AbstractAsyncContextManager[RunningHub]:
    """The hub with its cap on connections waiting per address lifted: these
    tests put hundreds of requests from one address on the wire at once, and
    what they test is the brake, not that cap (tests/e2e/test_slow_clients.py)."""
    server = msgspec.structs.replace(config.server, max_waiting_per_address=0)
    return serve_hub(msgspec.structs.replace(config, server=server))


@pytest.fixture
async def crowd() -> AsyncIterator[httpx.AsyncClient]:
    """A client with no cap on connections: every request is on the wire at once."""
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=0)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        yield client


def others(code: str, count: int) -> list[str]:
    """``count`` six-digit codes, none of them ``code``."""
    return [f"{n:06d}" for n in range(count + 1) if f"{n:06d}" != code][:count]


def statuses(responses: list[httpx.Response]) -> Counter[int]:
    return Counter(r.status_code for r in responses)


async def test_simultaneous_wrong_pairing_codes_get_exactly_the_limit_of_401s(
    tmp_path: Path, crowd: httpx.AsyncClient
) -> None:
    config = hub_config(tmp_path, pairing={"max_failures": LIMIT, "failure_window_s": 600})
    async with serve_crowded(config) as hub:
        guesses = [
            crowd.post(hub.base_url + PAIR, json={"pairing_code": f"{n:06d}"}) for n in range(300)
        ]
        answers = await asyncio.gather(*guesses)

    assert statuses(answers) == {401: LIMIT, 429: 300 - LIMIT}


async def test_the_right_pairing_code_sent_with_a_hundred_wrong_ones_does_not_pair(
    tmp_path: Path, crowd: httpx.AsyncClient
) -> None:
    config = hub_config(tmp_path, pairing={"max_failures": LIMIT, "failure_window_s": 600})
    async with serve_crowded(config) as hub:
        made = await hub.post("/api/v1/relay/pairing-codes", {})
        code = made.json()["pairing_code"]
        codes = others(code, 100)
        # The right code goes in the middle: by then the address has spent its ten guesses.
        codes.insert(50, code)
        answers = await asyncio.gather(
            *(crowd.post(hub.base_url + PAIR, json={"pairing_code": c}) for c in codes)
        )
        right = answers.pop(50)
        wrong_answers = answers
        devices = (await hub.get("/api/v1/devices")).json()["items"]

    assert right.status_code == 429, right.text
    assert right.json()["code"] == "rate_limited"
    assert devices == []
    assert statuses(wrong_answers) == {401: LIMIT, 429: 100 - LIMIT}


async def test_a_braked_address_is_refused_the_right_pairing_code_after_a_burst(
    tmp_path: Path, crowd: httpx.AsyncClient
) -> None:
    config = hub_config(tmp_path, pairing={"max_failures": LIMIT, "failure_window_s": 600})
    async with serve_crowded(config) as hub:
        made = await hub.post("/api/v1/relay/pairing-codes", {})
        code = made.json()["pairing_code"]
        burst = [
            crowd.post(hub.base_url + PAIR, json={"pairing_code": c}) for c in others(code, 200)
        ]
        await asyncio.gather(*burst)
        right = await crowd.post(hub.base_url + PAIR, json={"pairing_code": code})

    assert right.status_code == 429, right.text


async def test_simultaneous_unknown_access_tokens_get_exactly_the_limit_of_401s(
    tmp_path: Path, crowd: httpx.AsyncClient
) -> None:
    config = hub_config(tmp_path, auth={"max_failures": LIMIT, "failure_window_s": 600})
    async with serve_crowded(config) as hub:
        guesses = [
            crowd.get(
                hub.base_url + "/api/v1/messages",
                headers={"Authorization": f"Bearer rh_guess_{n:040d}"},
            )
            for n in range(300)
        ]
        # The right token is never braked (256 random bits): it works amid the scan.
        right = crowd.get(
            hub.base_url + "/api/v1/messages", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
        )
        *answers, right_answer = await asyncio.gather(*guesses, right)

    assert statuses(answers) == {401: LIMIT, 429: 300 - LIMIT}
    assert right_answer.status_code == 200


async def test_simultaneous_unknown_device_tokens_on_the_relay_socket_hold_the_limit(
    tmp_path: Path,
) -> None:
    config = hub_config(tmp_path, auth={"max_failures": LIMIT, "failure_window_s": 600})
    async with serve_crowded(config) as hub:
        device = await hub.pair("real")

        async def handshake(token: str) -> int:
            try:
                ws = await raw_relay.open_socket(hub.base_url, token)
            except InvalidStatus as refused:
                return refused.response.status_code
            await ws.close()
            return 101

        tries = [handshake(f"rhd_guess_{n:040d}") for n in range(150)]
        *answers, right = await asyncio.gather(*tries, handshake(device.device_token))

    assert Counter(answers) == {403: LIMIT, 429: 150 - LIMIT}
    assert right == 101


async def test_simultaneous_wrong_otp_codes_never_spend_more_than_the_tries(
    tmp_path: Path, crowd: httpx.AsyncClient
) -> None:
    async with serve_crowded(no_limits(tmp_path, max_wrong_tries=5)) as hub:
        relay = await hub.relay("A")
        otp = await sent_otp(hub)
        code = await code_of(relay, otp)
        headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}

        def check(guess: str) -> Awaitable[httpx.Response]:
            body = {"otp_id": otp["otp_id"], "code": guess}
            return crowd.post(hub.base_url + "/api/v1/otp/verify", json=body, headers=headers)

        guesses = [check(wrong(code)) for _ in range(200)]
        *answers, right = await asyncio.gather(*guesses, check(code))

    kinds = Counter(a.json()["status"] for a in answers)
    assert kinds == {"failed": 4, "max_attempts": 196}
    assert right.json()["status"] == "max_attempts"


async def test_malformed_pairing_requests_sent_together_spend_no_guesses(
    tmp_path: Path, crowd: httpx.AsyncClient
) -> None:
    config = hub_config(tmp_path, pairing={"max_failures": LIMIT, "failure_window_s": 600})
    async with serve_crowded(config) as hub:
        made = await hub.post("/api/v1/relay/pairing-codes", {})
        # Neither a code nor a QR payload: nothing was guessed, so nothing is charged.
        answers = await asyncio.gather(
            *(crowd.post(hub.base_url + PAIR, json={"model": "x"}) for _ in range(100))
        )
        right = await crowd.post(
            hub.base_url + PAIR, json={"qr_payload": made.json()["qr_payload"]}
        )

    assert statuses(answers) == {422: 100}
    assert right.status_code == 201, right.text


async def test_simultaneous_sends_get_exactly_the_accounts_rate(
    tmp_path: Path, crowd: httpx.AsyncClient
) -> None:
    config = hub_config(tmp_path, limits={"send_per_minute": LIMIT})
    async with serve_crowded(config) as hub:
        await hub.pair("offline phone")
        headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        body = {"to": "+998901234567", "text": "Salom"}
        answers = await asyncio.gather(
            *(
                crowd.post(hub.base_url + "/api/v1/sms/send", json=body, headers=headers)
                for _ in range(200)
            )
        )

    assert statuses(answers) == {202: LIMIT, 429: 200 - LIMIT}


async def test_simultaneous_otp_sends_to_one_number_get_exactly_the_hourly_limit(
    tmp_path: Path, crowd: httpx.AsyncClient
) -> None:
    async with serve_crowded(no_limits(tmp_path, max_per_hour=5)) as hub:
        await hub.pair("offline phone")
        headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        body = {"to": "+998901234567", "purpose": "login"}
        answers = await asyncio.gather(
            *(
                crowd.post(hub.base_url + "/api/v1/otp/send", json=body, headers=headers)
                for _ in range(100)
            )
        )

    assert statuses(answers) == {200: 5, 429: 95}
