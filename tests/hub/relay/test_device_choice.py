"""``DeviceDirectory.check_can_send``: may a message pinned (or not) to a device
and a SIM slot go to a device of this account? (Moved out of the send handler.)"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from hub.accounts.tokens import TokenAuthority
from hub.clock import ManualClock
from hub.errors import InvalidDevice
from hub.relay.devices import Device, DeviceDirectory
from hub.store.sqlite import SqliteStore
from protocol import frames as f

OTHER_ACCOUNT = "acc_other"


class Rig:
    def __init__(self, devices: DeviceDirectory, account_id: str) -> None:
        self.devices = devices
        self.account_id = account_id

    async def device(self, name: str, sims: tuple[int, ...] = (), account: str = "") -> Device:
        account_id = account or self.account_id
        code = await self.devices.create_pairing_code(account_id, name, "http://127.0.0.1")
        paired = await self.devices.pair(
            pairing_code=code.code, qr_payload=None, device_name=name, model=None, app_version=None
        )
        assert paired is not None
        if sims:
            hello = f.Hello(
                app_version="1", model="m", os="android",
                sims=[f.Sim(slot=s, carrier="c") for s in sims],
                limits=f.Limits(parts_per_minute=30),
            )  # fmt: skip
            self.devices.record_hello(paired.device_id, hello)
        device = self.devices.get(account_id, paired.device_id)
        assert device is not None
        return device

    def refusal(self, device_id: str | None, sim_slot: int | None) -> tuple[str, str]:
        with pytest.raises(InvalidDevice) as refused:
            self.devices.check_can_send(self.account_id, device_id, sim_slot)
        return refused.value.field, str(refused.value)


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    store = SqliteStore(tmp_path / "hub.db")
    await store.open()
    clock = ManualClock()
    await TokenAuthority(store, clock).bootstrap("rh_device_choice_token_0")
    row = await store.fetchone("SELECT id FROM accounts")
    assert row is not None
    await store.execute(
        "INSERT INTO accounts (id, name, created_at) VALUES (?, 'other', ?)",
        (OTHER_ACCOUNT, "2026-01-01T00:00:00Z"),
    )
    yield Rig(DeviceDirectory(store, clock, 600), row["id"])
    await store.barrier()
    await store.close()


async def test_an_account_without_devices_is_told_to_pair_one(rig: Rig) -> None:
    await rig.device("elsewhere", account=OTHER_ACCOUNT)

    assert rig.refusal(None, None) == (
        "device_id",
        "no device is paired yet; pair the Android relay app first",
    )


async def test_any_device_will_do_when_none_is_named(rig: Rig) -> None:
    await rig.device("A", sims=(0,))
    await rig.device("B")  # has not said hello: its slots are not known yet

    rig.devices.check_can_send(rig.account_id, None, None)
    rig.devices.check_can_send(rig.account_id, None, 0)


async def test_a_slot_no_device_of_the_account_has_is_refused_naming_the_known_ones(
    rig: Rig,
) -> None:
    await rig.device("A", sims=(1, 0))
    await rig.device("elsewhere", sims=(2,), account=OTHER_ACCOUNT)

    assert rig.refusal(None, 2) == (
        "sim_slot",
        "no device of this account has a SIM in slot 2 (slots: 0, 1)",
    )


async def test_a_named_device_must_belong_to_the_account(rig: Rig) -> None:
    theirs = await rig.device("elsewhere", account=OTHER_ACCOUNT)
    await rig.device("A")

    assert rig.refusal(theirs.id, None) == (
        "device_id",
        f"no device {theirs.id} in this account",
    )
    assert rig.refusal("dev_nope", None) == ("device_id", "no device dev_nope in this account")


async def test_a_disabled_device_is_refused_with_the_fix(rig: Rig) -> None:
    device = await rig.device("A")
    await rig.devices.update(device, disabled=True)

    assert rig.refusal(device.id, None) == (
        "device_id",
        f"device {device.id} is disabled; enable it or pick another",
    )


async def test_a_named_device_must_have_the_slot_asked_for(rig: Rig) -> None:
    device = await rig.device("A", sims=(0, 1))
    rig.devices.check_can_send(rig.account_id, device.id, 1)

    assert rig.refusal(device.id, 3) == (
        "sim_slot",
        f"device {device.id} has no SIM in slot 3 (it has 0, 1)",
    )
