"""Many simulated relays in one process, as ``relayhub sim`` runs them.

The fleet pairs the devices its state file does not hold yet (which needs an
access token), saves them so the next run reconnects the same devices, starts
a ``SimRelay`` for each and reports a one-line summary about once a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import httpx

from protocol import frames as f
from relay_sim.pairing import PairedDevice, pair_device
from relay_sim.profiles import Profile
from relay_sim.relay import SimRelay
from relay_sim.state import load_devices, save_devices

logger = logging.getLogger(__name__)


class FleetError(Exception):
    """The fleet cannot start; the message says what to do about it."""


class Fleet:
    """``count`` relays of one ``profile``; ``run`` until cancelled."""

    def __init__(
        self,
        hub_url: str,
        token: str | None,
        count: int,
        profile: Profile,
        state_file: Path | None,
        seed: int | None = None,
        *,
        summary_interval_s: float = 1.0,
        http: httpx.AsyncClient | None = None,
        on_job: Callable[[str, f.Send], None] | None = None,
    ) -> None:
        if count < 1:
            raise ValueError(f"a fleet needs at least one relay, not {count}")
        self.hub_url = hub_url
        self.token = token
        self.count = count
        self.profile = profile
        self.state_file = state_file
        self.seed = seed
        self.summary_interval_s = summary_interval_s
        self._http = http  # for pairing; by default one is made when needed
        self.on_job = on_job  # handed to every relay: told of each job it gets
        self.relays: list[SimRelay] = []

    async def run(self, summary: Callable[[str], None] | None) -> None:
        """Pair what is missing, start every relay and report until cancelled."""
        devices = await self._paired_devices()
        self.relays = [
            SimRelay(
                device,
                self.profile,
                seed=None if self.seed is None else self.seed + index,
                on_job=self.on_job,
            )
            for index, device in enumerate(devices)
        ]
        try:
            for relay in self.relays:
                await relay.start()
            while True:
                if summary is not None:
                    summary(self.summary_line())
                await asyncio.sleep(self.summary_interval_s)
        finally:
            results = await asyncio.gather(
                *(relay.stop() for relay in self.relays), return_exceptions=True
            )
            for result in results:
                if isinstance(result, Exception):
                    logger.error("a relay did not stop cleanly", exc_info=result)

    def summary_line(self) -> str:
        """E.g. ``relays 3/3 online · jobs 120 · repeats 2 · sent 118 · failed 2 · delivered 110
        · outbox 4``.

        ``jobs`` counts distinct jobs received, ``repeats`` the ``send`` frames
        for a job the relay already had (offered again after a reconnect or an
        ack timeout); the report counts exclude duplicates.
        """
        reports = Counter(type(report) for relay in self.relays for report in relay.reports)
        online = sum(relay.online for relay in self.relays)
        frames = sum(len(relay.jobs_received) for relay in self.relays)
        jobs = sum(len({job.id for job in relay.jobs_received}) for relay in self.relays)
        outbox = sum(relay.outbox_size for relay in self.relays)
        return (
            f"relays {online}/{len(self.relays)} online · jobs {jobs} · repeats {frames - jobs} · "
            f"sent {reports[f.Sent]} · failed {reports[f.Failed]} · "
            f"delivered {reports[f.Delivered]} · outbox {outbox}"
        )

    def drop_all(self) -> int:
        """Abort every relay's socket at once; each reconnects with no backoff delay.

        A reconnect storm, as when a cell tower or the hub's network blips.
        Returns how many sockets were dropped.
        """
        return sum(relay.drop() for relay in self.relays)

    async def _paired_devices(self) -> list[PairedDevice]:
        devices = load_devices(self.state_file) if self.state_file is not None else []
        missing = self.count - len(devices)
        if missing <= 0:
            return devices[: self.count]
        if not self.token:
            where = self.state_file or "memory (no state file)"
            raise FleetError(
                f"{self.count} relay(s) wanted but {where} holds {len(devices)} paired devices; "
                f"pairing {missing} more needs an access token with the devices.manage scope "
                "(--token or RELAYHUB_TOKEN)"
            )
        async with contextlib.AsyncExitStack() as stack:
            client = self._http
            if client is None:
                client = await stack.enter_async_context(httpx.AsyncClient(timeout=10))
            for _ in range(missing):
                name = _free_name(devices)
                devices.append(await pair_device(client, self.hub_url, self.token, name))
                # Save after each pairing: a failure later must not lose this token.
                if self.state_file is not None:
                    save_devices(self.state_file, devices)
        return devices


def _free_name(devices: list[PairedDevice]) -> str:
    taken = {device.name for device in devices}
    number = len(devices) + 1
    while f"Sim relay {number}" in taken:
        number += 1
    return f"Sim relay {number}"
