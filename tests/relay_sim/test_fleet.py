"""Tests for ``relay_sim/fleet.py``: a fleet of saved devices against the stub hub."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from relay_sim.fleet import Fleet, FleetError
from relay_sim.ledger import SEQ_BLOCK
from relay_sim.pairing import PairedDevice
from relay_sim.profiles import PROFILES
from relay_sim.state import SavedDevice, StateFile, load_devices, save_devices
from tests.relay_sim.stub_hub import DEVICE_ID, DEVICE_TOKEN, StubHub, job


class SummaryLines:
    """Collects the fleet's summary lines; a test waits for one that says something."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self._new_line = asyncio.Event()

    def __call__(self, line: str) -> None:
        self.lines.append(line)
        self._new_line.set()
        self._new_line = asyncio.Event()

    async def wait_for(self, *parts: str) -> str:
        async with asyncio.timeout(5):
            while not (self.lines and all(part in self.lines[-1] for part in parts)):
                await self._new_line.wait()
        return self.lines[-1]


async def test_fleet_runs_saved_devices_and_summarises_them(hub: StubHub, tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    unused = PairedDevice("dev_2", "dtok_2", "ws://127.0.0.1:9/api/v1/relay/ws", "Sim relay 2")
    save_devices(state, [hub.device(), unused])
    fleet = Fleet(hub.ws_url, None, 1, PROFILES["ideal"], state, seed=1, summary_interval_s=0.01)
    summary = SummaryLines()

    running = asyncio.create_task(fleet.run(summary))
    await summary.wait_for("relays 1/1 online")
    await hub.send_job(job("req_1"))
    line = await summary.wait_for("delivered 1", "outbox 0")
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running

    assert line == (
        "relays 1/1 online · jobs 1 · repeats 0 · sent 1 · failed 0 · delivered 1 · outbox 0"
    )
    assert [relay.device_id for relay in fleet.relays] == [hub.device().device_id]
    assert fleet.relays[0].close_codes == [1001]


async def test_fleet_drop_all_reconnects_every_relay_and_counts_repeated_jobs(
    hub: StubHub, tmp_path: Path
) -> None:
    state = tmp_path / "state.json"
    save_devices(state, [hub.device()])
    fleet = Fleet(hub.ws_url, None, 1, PROFILES["stalled"], state, summary_interval_s=0.01)
    summary = SummaryLines()
    running = asyncio.create_task(fleet.run(summary))
    await summary.wait_for("relays 1/1 online")
    await hub.send_job(job("req_1"))
    await summary.wait_for("jobs 1 · repeats 0")

    dropped = fleet.drop_all()
    assert fleet.summary_line().startswith("relays 0/1 online")
    await hub.wait_until(lambda: len(hub.hellos) == 2)
    await hub.send_job(job("req_1"))  # what the hub does for a job still dispatched
    line = await summary.wait_for("repeats 1")
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running

    assert dropped == 1
    assert line.startswith("relays 1/1 online · jobs 1 · repeats 1")
    assert fleet.relays[0].close_codes[0] is None  # aborted: no close frame
    assert not hub.acks  # a stalled relay holds its job unanswered


async def test_fleet_pairs_missing_devices_and_saves_them(hub: StubHub, tmp_path: Path) -> None:
    def pair(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/devices"):
            return httpx.Response(200, json={"ok": True, "items": [], "next_cursor": None})
        if request.url.path.endswith("/pairing-codes"):
            return httpx.Response(201, json={"ok": True, "pairing_code": "483-921"})
        device = hub.device()
        return httpx.Response(
            201,
            json={
                "device_id": device.device_id,
                "device_token": device.device_token,
                "ws_url": device.ws_url,
            },
        )

    state = tmp_path / "state.json"
    async with httpx.AsyncClient(transport=httpx.MockTransport(pair)) as http:
        fleet = Fleet(
            "http://hub.test",
            "tok_admin",
            1,
            PROFILES["ideal"],
            state,
            summary_interval_s=0.01,
            http=http,
        )
        summary = SummaryLines()
        running = asyncio.create_task(fleet.run(summary))
        await summary.wait_for("relays 1/1 online")
        running.cancel()
        with pytest.raises(asyncio.CancelledError):
            await running

    assert load_devices(state, "http://hub.test") == [
        PairedDevice(DEVICE_ID, DEVICE_TOKEN, hub.ws_url, "Sim relay 1")
    ]


async def test_fleet_without_a_token_says_how_to_pair_the_missing_devices(
    tmp_path: Path,
) -> None:
    fleet = Fleet("http://127.0.0.1:9", None, 2, PROFILES["ideal"], tmp_path / "state.json")

    with pytest.raises(FleetError, match="RELAYHUB_TOKEN") as caught:
        await fleet.run(None)

    assert "holds 0 device(s) paired with http://127.0.0.1:9" in str(caught.value)
    assert not (tmp_path / "state.json").exists()


def test_fleet_needs_at_least_one_relay() -> None:
    with pytest.raises(ValueError, match="at least one"):
        Fleet("http://127.0.0.1:9", None, 0, PROFILES["ideal"], None)


async def stop_fleet(running: asyncio.Task[None]) -> None:
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running


async def test_fleet_runs_only_the_devices_saved_for_the_hub_it_is_pointed_at(
    hub: StubHub, tmp_path: Path
) -> None:
    state = tmp_path / "state.json"
    elsewhere = PairedDevice("dev_9", "dtok_9", "ws://127.0.0.1:9/api/v1/relay/ws", "Sim relay 1")
    save_devices(state, [elsewhere, hub.device()])
    fleet = Fleet(hub.base_url, None, 1, PROFILES["ideal"], state, summary_interval_s=0.01)
    summary = SummaryLines()

    running = asyncio.create_task(fleet.run(summary))
    await summary.wait_for("relays 1/1 online")
    await stop_fleet(running)

    assert [relay.device_id for relay in fleet.relays] == [DEVICE_ID]
    assert load_devices(state, "http://127.0.0.1:9") == [elsewhere]  # kept for later


async def test_fleet_continues_each_devices_seq_and_keeps_the_last_one(
    hub: StubHub, tmp_path: Path
) -> None:
    path = tmp_path / "state.json"
    state = StateFile.load(path)
    state.devices(hub.base_url).append(SavedDevice.of(hub.device(), seq=41))
    state.save()
    fleet = Fleet(hub.base_url, None, 1, PROFILES["ideal"], path, summary_interval_s=0.01)
    summary = SummaryLines()

    running = asyncio.create_task(fleet.run(summary))
    await summary.wait_for("relays 1/1 online")
    await hub.send_job(job("req_1"))
    await summary.wait_for("delivered 1", "outbox 0")
    reserved_while_running = StateFile.load(path).devices(hub.base_url)[0].seq
    await stop_fleet(running)

    assert [report.seq for report in hub.reports] == [42, 43]
    assert reserved_while_running == 41 + SEQ_BLOCK  # on disk before seq 42 went out
    assert StateFile.load(path).devices(hub.base_url)[0].seq == 43  # a clean stop: exact


async def test_fleet_says_in_plain_words_why_a_refused_device_stopped_and_ends_when_all_did(
    hub: StubHub, tmp_path: Path
) -> None:
    state = tmp_path / "state.json"
    save_devices(state, [hub.device("dtok_unknown_here")])
    notes: list[str] = []
    fleet = Fleet(
        hub.base_url, None, 1, PROFILES["ideal"], state, summary_interval_s=0.01,
        on_note=notes.append,
    )  # fmt: skip
    summary = SummaryLines()

    with pytest.raises(FleetError, match="refused every device") as stopped:
        await fleet.run(summary)

    line = summary.lines[-1]

    assert line.startswith("relays 0/1 online") and line.endswith("· refused 1")
    assert str(stopped.value) == (
        f"the hub at {hub.base_url} refused every device (see above); nothing is left to run"
    )
    assert notes == [
        f"device Stub relay ({DEVICE_ID}) was refused by {hub.base_url} (HTTP 401): its token"
        " is unknown there (the hub's data was wiped, or the device was revoked or disabled)."
        " This relay has stopped; run again with --token or RELAYHUB_TOKEN to forget the"
        " devices the hub lost and pair new ones (--fresh forgets every device saved for"
        " this hub)"
    ]
    assert fleet.relays[0].refusals == [401]  # once: it does not hammer the hub


async def test_fleet_fresh_without_a_token_forgets_nothing(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    device = PairedDevice("dev_1", "dtok_1", "ws://127.0.0.1:9/api/v1/relay/ws", "Sim relay 1")
    save_devices(state, [device])
    fleet = Fleet("http://127.0.0.1:9", None, 1, PROFILES["ideal"], state, fresh=True)

    with pytest.raises(FleetError, match="--fresh pairs new devices"):
        await fleet.run(None)

    assert load_devices(state, "http://127.0.0.1:9") == [device]
