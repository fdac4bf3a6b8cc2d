"""End-to-end harness: a real uvicorn server on a free port, a real SQLite file,
real relay_sim relays over real sockets, and a real HTTP client.

``hub_server`` runs the hub in the test's event loop (so a test can hold a
``ManualClock`` and move time); ``HubProcess`` runs it as a separate process
for tests that kill it.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import itertools
import socket
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection

from hub.app import create_app
from hub.clock import Clock, ManualClock
from hub.config import Config, load_config
from hub.hub import Hub
from hub.serving.server import HubServer, bind, uvicorn_config
from hub.webhooks.http import Pool
from relay_sim.pairing import PairedDevice, pair_device
from relay_sim.profiles import PROFILES, Profile
from relay_sim.relay import SimRelay
from tests.e2e import raw_relay
from tests.pg_cluster import BACKEND_ENV, database_for, postgres_backend

ADMIN_TOKEN = "rh_e2e_admin_token_0123456789abcdef"
_seeds = itertools.count(1)

# Which backend each end-to-end test's hubs run on. RELAYHUB_TEST_BACKEND=postgres
# (make test-pg): every test on PostgreSQL. Otherwise every test on SQLite, and a
# test marked ``both_backends`` (a module's ``pytestmark``) once more on PostgreSQL,
# which skips with the reason where PostgreSQL is not installed (fails in CI).
#
# The whole suite on both backends does not fit `make test`'s 10 minutes, so a
# module is marked when it walks every operation (security_tenants, schemathesis)
# or changes state through storage: messages (send_flow, relay_faults, waiting,
# lifecycle_events, idempotency, security_never_twice, sms_text), SIGKILL and
# storage faults (crash_recovery, webhook_crash, chaos, faults_storage), devices,
# tokens, accounts and their limits, lists, recipients, OTP, webhooks and the event
# stream. Left on SQLite only: refusals made before storage is touched (bad
# requests, hostile input, control characters, URL and SSRF checks, access
# without a token), socket and HTTP-connection behaviour, the CLI's start-up, and
# page headers; `make test-pg` runs those on PostgreSQL too.
BOTH_BACKENDS = "both_backends"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{BOTH_BACKENDS}: also run on PostgreSQL in `make test` (tests/e2e/conftest.py says why)",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    marked = metafunc.definition.get_closest_marker(BOTH_BACKENDS) is not None
    if marked and not postgres_backend() and "storage_backend" in metafunc.fixturenames:
        # Module scope: a module's tests run on SQLite, then all again on PostgreSQL,
        # and a module-scoped fixture that asks for storage_backend is made per backend.
        metafunc.parametrize(
            "storage_backend", ["sqlite", "postgres"], indirect=True, scope="module"
        )


@pytest.fixture(scope="module", autouse=True)
def storage_backend(request: pytest.FixtureRequest) -> Iterator[str]:
    """The backend this module's hubs (in process or not) and its direct reads use."""
    backend: str = getattr(request, "param", "postgres" if postgres_backend() else "sqlite")
    if backend == "postgres":
        request.getfixturevalue("postgres")  # the shared cluster, or the skip's reason
    with pytest.MonkeyPatch.context() as env:
        env.setenv(BACKEND_ENV, backend)
        yield backend


def hub_config(data_dir: Path, **sections: dict[str, Any]) -> Config:
    """A test hub's configuration; on PostgreSQL (RELAYHUB_TEST_BACKEND=postgres)
    with a database of the data folder's own."""
    overrides: dict[str, Any] = {"server": {"data_dir": str(data_dir), "port": 0}}
    if postgres_backend():
        overrides["storage"] = {"url": database_for(data_dir)}
    for name, values in sections.items():
        overrides.setdefault(name, {}).update(values)
    return load_config(overrides=overrides)


@dataclass
class RunningHub:
    """One hub served by uvicorn in this event loop, with helpers to drive it."""

    config: Config
    clock: Clock
    base_url: str
    client: httpx.AsyncClient
    app: Any
    relays: list[SimRelay] = field(default_factory=list)
    sockets: list[ClientConnection] = field(default_factory=list)

    async def open_socket(self, token: str, **options: Any) -> ClientConnection:
        """A hand-driven relay socket (see raw_relay), closed when the hub stops."""
        ws = await raw_relay.open_socket(self.base_url, token, **options)
        self.sockets.append(ws)
        return ws

    @property
    def hub(self) -> Hub:
        hub: Hub = self.app.state.hub
        return hub

    @property
    def manual_clock(self) -> ManualClock:
        assert isinstance(self.clock, ManualClock), "start hub_server with a ManualClock"
        return self.clock

    async def pair(self, name: str) -> PairedDevice:
        return await pair_device(self.client, self.base_url, ADMIN_TOKEN, name)

    async def relay(
        self,
        name: str,
        profile: Profile | None = None,
        *,
        device: PairedDevice | None = None,
        welcomed: bool = True,
        **options: Any,
    ) -> SimRelay:
        """Pair (unless ``device`` is given) and start a simulated relay."""
        relay = SimRelay(
            device or await self.pair(name),
            profile or PROFILES["ideal"],
            seed=next(_seeds),
            **options,
        )
        self.relays.append(relay)
        await relay.start()
        if welcomed:
            await relay.wait_welcomed()
            # What the hello changed (its device.online event) is stored by now.
            await self.hub.store.write(lambda conn: None)
        return relay

    async def send(self, to: str = "+998901234567", text: str = "Salom", **fields: Any) -> str:
        """POST /v1/sms/send; asserts 202 and returns the request id."""
        response = await self.post("/api/v1/sms/send", {"to": to, "text": text, **fields})
        assert response.status_code == 202, response.text
        request_id: str = response.json()["request_id"]
        return request_id

    async def status(self, request_id: str) -> dict[str, Any]:
        response = await self.get(f"/api/v1/messages/status?request_id={request_id}")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def post(self, path: str, body: Any, token: str | None = ADMIN_TOKEN) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return await self.client.post(self.base_url + path, json=body, headers=headers)

    async def get(self, path: str, token: str | None = ADMIN_TOKEN) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return await self.client.get(self.base_url + path, headers=headers)


@contextlib.asynccontextmanager
async def serve_hub(
    config: Config,
    clock: Clock | None = None,
    client: httpx.AsyncClient | None = None,
    listen: Sequence[socket.socket] = (),
    webhook_pool: Pool | None = None,
) -> AsyncIterator[RunningHub]:
    """Serve a hub until the block ends; relays started through it are stopped first.

    ``listen``: listening sockets of the test's making, served together (the
    first gives ``base_url``); a socket the hub accepts inherits its listener's
    options, such as a small ``SO_SNDBUF``. They are closed when the block ends.
    ``webhook_pool``: what the hub POSTs webhooks through (e.g. a ``PostFaults`` wrapper).
    """
    started = asyncio.Event()
    app = create_app(
        config,
        clock=clock,
        admin_token=ADMIN_TOKEN,
        on_started=lambda _: started.set(),
        webhook_pool=webhook_pool,
    )
    socks = list(listen) or [bind("127.0.0.1", 0)]
    port = socks[0].getsockname()[1]
    server = HubServer(uvicorn_config(app, config, log_level="warning", port=port), app)
    serving = asyncio.create_task(server.serve(sockets=socks))
    ready = asyncio.create_task(started.wait())
    await asyncio.wait({serving, ready}, return_when=asyncio.FIRST_COMPLETED)
    if serving.done():
        ready.cancel()
        serving.result()  # raise what stopped the server
        raise RuntimeError("the hub stopped during start-up")
    own_client = client is None
    http = client or httpx.AsyncClient(timeout=10)
    running = RunningHub(config, app.state.hub.clock, f"http://127.0.0.1:{port}", http, app)
    try:
        yield running
    finally:
        for relay in running.relays:
            await relay.stop()
        for ws in running.sockets:
            await ws.close()
        if own_client:
            await http.aclose()
        server.should_exit = True
        await serving
        for sock in socks:
            sock.close()


@pytest.fixture
async def hub_server(tmp_path: Path) -> AsyncIterator[RunningHub]:
    """A hub on the system clock with default settings."""
    async with serve_hub(hub_config(tmp_path / "data")) as running:
        yield running


async def wait_any(
    relays: Iterable[SimRelay],
    predicate: Callable[[], bool],
    timeout: float = 10,  # noqa: ASYNC109 (handed to each relay's wait)
) -> None:
    """Return once ``predicate()`` holds; it is checked after every change of any relay."""
    waiters = [asyncio.create_task(r.wait_until(predicate, timeout)) for r in relays]
    try:
        done, _ = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            task.result()
    finally:
        for task in waiters:
            task.cancel()
        await asyncio.gather(*waiters, return_exceptions=True)


def sent_ids(relays: Iterable[SimRelay]) -> list[str]:
    """Every message id any relay handed to its carrier, once per time it did."""
    return [mid for r in relays for mid, n in r.sms_sent.items() for _ in range(n)]


def delivered_ids(relay: SimRelay) -> set[str]:
    from protocol import frames as f

    return {r.id for r in relay.reports if isinstance(r, f.Delivered)}


@pytest.fixture(autouse=True)
def _collect_garbage() -> Iterator[None]:
    """Collect after each test, so a socket left open is reported by the test
    that leaked it (as an unraisable ResourceWarning), not by a later one."""
    yield
    gc.collect()


async def send_until(
    stop: asyncio.Event,
    client: httpx.AsyncClient,
    url: str,
    accepted: list[str],
    tag: str,
    refusals: frozenset[int] = frozenset({503}),
) -> None:
    """POST sends to ``url`` one after another until ``stop`` is set; note each 202's id.

    For tests that kill the hub mid-stream: a request with no answer was not
    accepted, and the only other answers allowed are ``refusals``: a 503 while
    it restarts (and a balancer's 502 for a request its node died under).
    Stopped by a flag, not cancelled: a request cancelled mid-flight leaves its
    socket unclosed inside httpcore.
    """
    n = 0
    while not stop.is_set():
        n += 1
        try:
            response = await client.post(
                url,
                json={"to": "+998901234567", "text": f"{tag} {n}"},
                headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
            )
        except httpx.TransportError:
            continue  # the hub is down
        if response.status_code == 202:
            accepted.append(response.json()["request_id"])
        else:
            assert response.status_code in refusals, response.text
