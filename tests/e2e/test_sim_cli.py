"""``relayhub sim`` as a real process against real hubs: it keeps its promises across runs.

Issue 15: a restarted simulator began its report seq at 1 again, below what the
hub had stored, so every later report was dropped as a repeat and messages
stayed ``accepted``; it ignored ``--hub`` once its state file existed; and
devices the hub no longer knew showed "0/N online" forever without a word.

Each simulator here is ``python -m relay_sim`` in its own process, stopped with
SIGINT (a clean stop) or SIGKILL (a crash). The tests wait on its summary
lines; ``outbox 0`` there means the hub receipted every report, so the hub has
stored them and its message status can be asserted at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

from hub.serving.server import bind
from tests.e2e.conftest import ADMIN_TOKEN, RunningHub, hub_config, serve_hub

PROJECT = Path(__file__).resolve().parents[2]


class Simulator:
    """One ``relayhub sim`` process; its stdout read line by line."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.lines: list[str] = []

    async def line_with(self, *parts: str) -> str:
        """The next stdout line holding every one of ``parts``."""
        assert self.process.stdout is not None
        async with asyncio.timeout(20):
            while True:
                raw = await self.process.stdout.readline()
                assert raw, f"the simulator exited; it said:\n{''.join(self.lines)}"
                line = raw.decode()
                self.lines.append(line)
                if all(part in line for part in parts):
                    return line

    async def interrupt(self) -> None:
        """Ctrl-C; asserts a clean exit."""
        self.process.send_signal(signal.SIGINT)
        _, stderr = await asyncio.wait_for(self.process.communicate(), 20)
        assert self.process.returncode == 0, stderr.decode()

    async def kill(self) -> None:
        """SIGKILL: nothing of the simulator's shutdown runs."""
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()

    async def finished(self) -> tuple[int, str, str]:
        """Wait for it to exit by itself: (exit status, stdout, stderr)."""
        out, err = await asyncio.wait_for(self.process.communicate(), 20)
        assert self.process.returncode is not None
        return self.process.returncode, "".join(self.lines) + out.decode(), err.decode()


@contextlib.asynccontextmanager
async def simulator(hub_url: str, state: Path, *extra: str) -> AsyncIterator[Simulator]:
    env = {k: v for k, v in os.environ.items() if k != "RELAYHUB_TOKEN"}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "relay_sim", "--hub", hub_url, "--state", str(state),
        "--summary-interval", "0.05", *extra,
        cwd=PROJECT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    sim = Simulator(process)
    try:
        yield sim
    finally:
        if process.returncode is None:
            await sim.kill()


async def send_and_see_delivered(hub: RunningHub, sim: Simulator, texts: list[str]) -> None:
    """Send ``texts``; once the simulator has them delivered and receipted, the hub says so."""
    request_ids = [await hub.send(text=text) for text in texts]
    await sim.line_with(f"delivered {len(texts)} ", "outbox 0")
    statuses = [(await hub.status(request_id))["status"] for request_id in request_ids]
    assert statuses == ["delivered"] * len(texts), sim.lines[-1]


def saved(state: Path) -> dict[str, list[dict[str, object]]]:
    hubs: dict[str, list[dict[str, object]]] = json.loads(state.read_text())["hubs"]
    return hubs


async def test_sim_restarted_cleanly_or_killed_gets_every_later_message_delivered(
    hub_server: RunningHub, tmp_path: Path
) -> None:
    state = tmp_path / "state.json"
    token = ("--token", ADMIN_TOKEN)

    async with simulator(hub_server.base_url, state, *token) as first:
        await first.line_with("relays 1/1 online")
        await send_and_see_delivered(hub_server, first, ["one", "two"])
        await first.interrupt()
    [device] = saved(state)[hub_server.base_url]
    assert device["seq"] == 4  # a clean stop keeps the exact last seq: two sent, two delivered

    async with simulator(hub_server.base_url, state) as second:  # no token: the saved device
        await second.line_with("relays 1/1 online")
        await send_and_see_delivered(hub_server, second, ["three", "four"])
        await second.kill()
    [device] = saved(state)[hub_server.base_url]
    assert isinstance(device["seq"], int) and device["seq"] > 8  # the reserved block, not 8

    async with simulator(hub_server.base_url, state) as third:
        await third.line_with("relays 1/1 online")
        await send_and_see_delivered(hub_server, third, ["five", "six"])
        await third.interrupt()

    devices = (await hub_server.get("/api/v1/devices")).json()["items"]
    assert [d["id"] for d in devices] == [device["device_id"]]  # one device, reused each run


async def test_sim_pointed_at_another_hub_pairs_there_and_keeps_the_first_hubs_devices(
    hub_server: RunningHub, tmp_path: Path
) -> None:
    state = tmp_path / "state.json"
    first_hub = hub_server.base_url
    async with simulator(first_hub, state, "--token", ADMIN_TOKEN) as sim:
        await sim.line_with("relays 1/1 online")
        await sim.interrupt()

    async with serve_hub(hub_config(tmp_path / "second-data")) as second_hub:
        async with simulator(second_hub.base_url, state, "--token", ADMIN_TOKEN) as sim:
            await sim.line_with("relays 1/1 online")
            await send_and_see_delivered(second_hub, sim, ["to the second hub"])
            await sim.interrupt()
        second_devices = (await second_hub.get("/api/v1/devices")).json()["items"]

    hubs = saved(state)
    assert sorted(hubs) == sorted([first_hub, second_hub.base_url])
    assert [d["device_id"] for d in hubs[second_hub.base_url]] == [d["id"] for d in second_devices]
    # Back to the first hub with no token at all: its device was kept for later.
    async with simulator(first_hub, state) as sim:
        await sim.line_with("relays 1/1 online")
        await send_and_see_delivered(hub_server, sim, ["back to the first hub"])
        await sim.interrupt()


async def test_sim_says_why_the_wiped_hub_refuses_its_device_then_pairs_anew_with_a_token(
    tmp_path: Path,
) -> None:
    state = tmp_path / "state.json"
    listener = bind("127.0.0.1", 0)
    port = listener.getsockname()[1]
    async with (
        serve_hub(hub_config(tmp_path / "data"), listen=[listener]) as hub,
        simulator(hub.base_url, state, "--token", ADMIN_TOKEN) as sim,
    ):
        await sim.line_with("relays 1/1 online")
        await sim.interrupt()
    [lost] = saved(state)[f"http://127.0.0.1:{port}"]

    # The same address, its data folder wiped: the saved device token means nothing there.
    again = bind("127.0.0.1", port)
    async with serve_hub(hub_config(tmp_path / "wiped-data"), listen=[again]) as wiped:
        async with simulator(wiped.base_url, state) as sim:
            status, out, err = await sim.finished()

        assert status == 1
        assert (
            f"device {lost['name']} ({lost['device_id']}) was refused by {wiped.base_url}"
            " (HTTP 403): its token is unknown there (the hub's data was wiped, or the device"
            " was revoked or disabled). This relay has stopped; run again with --token or"
            " RELAYHUB_TOKEN to forget the devices the hub lost and pair new ones"
        ) in out
        assert "refused 1" in out
        assert f"the hub at {wiped.base_url} refused every device" in err

        async with simulator(wiped.base_url, state, "--token", ADMIN_TOKEN) as sim:
            note = await sim.line_with("forgot")
            await sim.line_with("relays 1/1 online")
            await send_and_see_delivered(wiped, sim, ["after the wipe"])
            await sim.interrupt()

    assert "does not know them for this token's account" in note
    [paired] = saved(state)[wiped.base_url]
    assert paired["device_id"] != lost["device_id"]
