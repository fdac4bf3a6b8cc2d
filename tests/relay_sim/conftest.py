from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

from relay_sim.profiles import PROFILES, Profile
from relay_sim.relay import SimRelay
from tests.relay_sim.stub_hub import DEVICE_TOKEN, StubHub

MakeRelay = Callable[..., SimRelay]


@pytest.fixture
async def hub() -> AsyncIterator[StubHub]:
    async with StubHub() as stub:
        yield stub


@pytest.fixture
async def make_relay(hub: StubHub) -> AsyncIterator[MakeRelay]:
    """Build relays for ``hub``; every one of them is stopped after the test."""
    relays: list[SimRelay] = []

    def make(
        profile: Profile = PROFILES["ideal"], *, token: str = DEVICE_TOKEN, **options: int
    ) -> SimRelay:
        relay = SimRelay(hub.device(token), profile, seed=7, **options)
        relays.append(relay)
        return relay

    yield make
    for relay in relays:
        await relay.stop()
