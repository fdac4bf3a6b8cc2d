"""Many simulated relays in one process, as ``relayhub sim`` runs them.

The fleet runs the devices its state file holds for this hub (``--hub``); with
an access token it first asks the hub which of them the token's account still
has, drops the ones the hub no longer knows, and pairs what is missing. Each
relay's report seq continues above what the file says it used (see
``relay_sim.ledger``). It reports a one-line summary about once a second, and a
note of its own when the hub refuses a device.
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
from relay_sim.account import account_devices
from relay_sim.ledger import SEQ_BLOCK, ReservingLedger
from relay_sim.pairing import PairingError, pair_device
from relay_sim.profiles import Profile
from relay_sim.relay import SimRelay
from relay_sim.state import SavedDevice, StateFile, hub_key, locked

logger = logging.getLogger(__name__)

TOKEN_SOURCES = "--token or RELAYHUB_TOKEN"


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
        on_note: Callable[[str], None] | None = None,
        fresh: bool = False,
    ) -> None:
        if count < 1:
            raise ValueError(f"a fleet needs at least one relay, not {count}")
        self.hub_url = hub_url
        self.hub = hub_key(hub_url)  # how messages and the state file name this hub
        self.token = token
        self.count = count
        self.profile = profile
        self.state_file = state_file
        self.seed = seed
        self.summary_interval_s = summary_interval_s
        self.fresh = fresh  # forget this hub's saved devices and pair new ones
        self._http = http  # for pairing; by default one is made when needed
        self.on_job = on_job  # handed to every relay: told of each job it gets
        self._on_note = on_note  # a line for the user, beside the summary
        self.relays: list[SimRelay] = []
        self.notes: list[str] = []
        self.state = StateFile(state_file, {})

    async def run(self, summary: Callable[[str], None] | None) -> None:
        """Pair what is missing, start every relay and report until cancelled."""
        with locked(self.state_file):
            self.state = StateFile.load(self.state_file)
            devices = await self._devices_to_run()
            started_at = [saved.seq for saved in devices]
            # One durable write reserves a first block for every device, rather
            # than one write per device at its first report (a fleet may be large).
            for saved in devices:
                saved.seq += SEQ_BLOCK
            self.state.save()
            self.relays = [
                self._relay(saved, index, last_seq)
                for index, (saved, last_seq) in enumerate(zip(devices, started_at, strict=True))
            ]
            try:
                for relay in self.relays:
                    await relay.start()
                while True:
                    if summary is not None:
                        summary(self.summary_line())
                    if all(relay.refused is not None for relay in self.relays):
                        raise FleetError(
                            f"the hub at {self.hub} refused every device (see above);"
                            " nothing is left to run"
                        )
                    await asyncio.sleep(self.summary_interval_s)
            finally:
                results = await asyncio.gather(
                    *(relay.stop() for relay in self.relays), return_exceptions=True
                )
                for result in results:
                    if isinstance(result, Exception):
                        logger.error("a relay did not stop cleanly", exc_info=result)
                self._record_last_seqs(devices)

    def summary_line(self) -> str:
        """E.g. ``relays 3/3 online · jobs 120 · repeats 2 · sent 118 · failed 2 · delivered 110
        · outbox 4`` (and ``· refused 1`` once the hub has refused a device).

        ``jobs`` counts distinct jobs received, ``repeats`` the ``send`` frames
        for a job the relay already had (offered again after a reconnect or an
        ack timeout); the report counts exclude duplicates.
        """
        reports = Counter(type(report) for relay in self.relays for report in relay.reports)
        online = sum(relay.online for relay in self.relays)
        frames = sum(len(relay.jobs_received) for relay in self.relays)
        jobs = sum(len({job.id for job in relay.jobs_received}) for relay in self.relays)
        outbox = sum(relay.outbox_size for relay in self.relays)
        refused = sum(relay.refused is not None for relay in self.relays)
        return (
            f"relays {online}/{len(self.relays)} online · jobs {jobs} · repeats {frames - jobs} · "
            f"sent {reports[f.Sent]} · failed {reports[f.Failed]} · "
            f"delivered {reports[f.Delivered]} · outbox {outbox}"
            + (f" · refused {refused}" if refused else "")
        )

    def drop_all(self) -> int:
        """Abort every relay's socket at once; each reconnects with no backoff delay.

        A reconnect storm, as when a cell tower or the hub's network blips.
        Returns how many sockets were dropped.
        """
        return sum(relay.drop() for relay in self.relays)

    # --- which devices run ------------------------------------------------------

    async def _devices_to_run(self) -> list[SavedDevice]:
        if self.fresh and not self.token:
            raise FleetError(
                f"--fresh pairs new devices, which needs an access token with the"
                f" devices.manage scope ({TOKEN_SOURCES}); nothing was forgotten"
            )
        if self.fresh:
            if forgotten := self.state.forget(self.hub_url):
                self._note(f"forgot the {len(forgotten)} device(s) saved for {self.hub}")
            self.state.save()
        saved = self.state.devices(self.hub_url)
        if not self.token:
            if len(saved) < self.count:
                where = self.state_file or "memory (no state file)"
                raise FleetError(
                    f"{self.count} relay(s) wanted but {where} holds {len(saved)} device(s)"
                    f" paired with {self.hub}; pairing {self.count - len(saved)} more needs an"
                    f" access token with the devices.manage scope ({TOKEN_SOURCES})"
                )
            return saved[: self.count]
        async with contextlib.AsyncExitStack() as stack:
            client = self._http
            if client is None:
                client = await stack.enter_async_context(httpx.AsyncClient(timeout=10))
            usable = await self._still_known(client, self.token, saved)
            while len(usable) < self.count:
                name = _free_name(saved)
                device = await pair_device(client, self.hub_url, self.token, name)
                fresh = SavedDevice.of(device)
                saved.append(fresh)
                usable.append(fresh)
                # Save after each pairing: a failure later must not lose this token.
                self.state.save()
        return usable[: self.count]

    async def _still_known(
        self, client: httpx.AsyncClient, token: str, saved: list[SavedDevice]
    ) -> list[SavedDevice]:
        """The saved devices the token's account has, enabled; forgets those the hub lost."""
        try:
            known = await account_devices(client, self.hub_url, token)
        except PairingError as exc:
            raise FleetError(
                f"{self.hub} refused the access token: HTTP {exc.status} {exc.code}: {exc.detail}"
                f" (check {TOKEN_SOURCES}; it must be a token of this hub)"
            ) from None
        if known is None:
            return list(saved)  # the token may not read devices: trust the file
        gone = [d for d in saved if d.device_id not in known.enabled | known.disabled]
        if gone:
            saved[:] = [d for d in saved if d not in gone]
            self.state.save()
            self._note(
                f"forgot {_names(gone)}: {self.hub} does not know them for this token's account"
                " (its data was wiped, they were revoked, or another account paired them);"
                " pairing new ones in their place"
            )
        disabled = [d for d in saved if d.device_id in known.disabled]
        if disabled:
            self._note(
                f"skipping {_names(disabled)}: disabled on {self.hub} (enable them in the"
                " dashboard to run them again)"
            )
        return [d for d in saved if d.device_id in known.enabled]

    # --- running them -----------------------------------------------------------

    def _relay(self, saved: SavedDevice, index: int, last_seq: int) -> SimRelay:
        def reserve(seq: int) -> None:
            saved.seq = seq
            self.state.save()

        return SimRelay(
            saved.paired(),
            self.profile,
            seed=None if self.seed is None else self.seed + index,
            on_job=self.on_job,
            on_refused=self._refused,
            ledger=ReservingLedger(last_seq, reserve, reserved=saved.seq),
        )

    def _record_last_seqs(self, devices: list[SavedDevice]) -> None:
        """After a clean stop, keep each device's exact last seq (no gap on the next run)."""
        changed = False
        for saved, relay in zip(devices, self.relays, strict=True):
            if relay.ledger.last_seq != saved.seq:
                saved.seq = relay.ledger.last_seq
                changed = True
        if changed:
            self.state.save()

    def _refused(self, relay: SimRelay, status: int, retry_after_s: float | None) -> None:
        who = f"device {relay.name} ({relay.device_id})"
        if status == httpx.codes.TOO_MANY_REQUESTS:
            wait = "a while" if retry_after_s is None else f"{retry_after_s:g} s"
            self._note(
                f"{who} was braked by {self.hub} (HTTP 429): too many unknown device tokens"
                f" came from this address; trying again in {wait}"
            )
            return
        fix = "run again" if self.token else f"run again with {TOKEN_SOURCES}"
        self._note(
            f"{who} was refused by {self.hub} (HTTP {status}): its token is unknown there"
            f" (the hub's data was wiped, or the device was revoked or disabled). This relay"
            f" has stopped; {fix} to forget the devices the hub lost and pair new ones"
            " (--fresh forgets every device saved for this hub)"
        )

    def _note(self, line: str) -> None:
        self.notes.append(line)
        if self._on_note is not None:
            self._on_note(line)
        else:
            logger.warning("%s", line)


def _names(devices: list[SavedDevice]) -> str:
    return ", ".join(f"{d.name} ({d.device_id})" for d in devices)


def _free_name(devices: list[SavedDevice]) -> str:
    taken = {device.name for device in devices}
    number = len(devices) + 1
    while f"Sim relay {number}" in taken:
        number += 1
    return f"Sim relay {number}"
