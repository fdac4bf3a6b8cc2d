"""Tests for ``relay_sim/state.py``: the file of paired devices, per hub, with their seq."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from relay_sim.pairing import PairedDevice
from relay_sim.state import (
    UNKNOWN_SEQ_FLOOR,
    SavedDevice,
    StateFile,
    StateFileError,
    hub_key,
    load_devices,
    locked,
    save_devices,
)

HUB = "http://127.0.0.1:8080"
OTHER_HUB = "http://127.0.0.1:8081"
WS = "ws://127.0.0.1:8080/api/v1/relay/ws"
OTHER_WS = "ws://127.0.0.1:8081/api/v1/relay/ws"
DEVICES = [
    PairedDevice("dev_1", "dtok_1", WS, "Sim relay 1"),
    PairedDevice("dev_2", "dtok_2", WS, "Sim relay 2"),
]


def test_saved_devices_load_back_with_their_seq_and_stay_private(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    state = StateFile.load(path)
    state.devices(HUB).extend([SavedDevice.of(DEVICES[0], seq=1000), SavedDevice.of(DEVICES[1])])

    state.save()

    assert StateFile.load(path).devices(HUB) == [
        SavedDevice("dev_1", "dtok_1", WS, "Sim relay 1", 1000),
        SavedDevice("dev_2", "dtok_2", WS, "Sim relay 2", 0),
    ]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]


def test_state_file_keeps_devices_under_the_hub_that_paired_them(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    state = StateFile.load(path)
    state.devices(HUB).append(SavedDevice.of(DEVICES[0], seq=7))
    state.devices(OTHER_HUB + "/").append(
        SavedDevice("dev_9", "dtok_9", OTHER_WS, "Sim relay 1", 3)
    )

    state.save()

    assert json.loads(path.read_text()) == {
        "version": 2,
        "hubs": {
            HUB: [{"device_id": "dev_1", "device_token": "dtok_1", "ws_url": WS,
                   "name": "Sim relay 1", "seq": 7}],
            OTHER_HUB: [{"device_id": "dev_9", "device_token": "dtok_9", "ws_url": OTHER_WS,
                         "name": "Sim relay 1", "seq": 3}],
        },
    }  # fmt: skip
    assert [d.device_id for d in StateFile.load(path).devices(OTHER_HUB)] == ["dev_9"]


def test_old_list_file_loads_under_each_devices_own_hub_above_any_seq_it_used(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state.json"
    path.write_text(
        json.dumps(
            [
                {"device_id": "dev_1", "device_token": "dtok_1", "ws_url": WS, "name": "A"},
                {"device_id": "dev_9", "device_token": "dtok_9", "ws_url": OTHER_WS, "name": "B"},
            ]
        )
    )

    state = StateFile.load(path)

    assert state.devices(HUB) == [SavedDevice("dev_1", "dtok_1", WS, "A", UNKNOWN_SEQ_FLOOR)]
    assert state.devices(OTHER_HUB) == [
        SavedDevice("dev_9", "dtok_9", OTHER_WS, "B", UNKNOWN_SEQ_FLOOR)
    ]


def test_old_list_file_is_rewritten_in_the_new_shape_on_save(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text(
        json.dumps([{"device_id": "dev_1", "device_token": "dtok_1", "ws_url": WS, "name": "A"}])
    )

    StateFile.load(path).save()

    assert json.loads(path.read_text())["version"] == 2
    assert StateFile.load(path).devices(HUB)[0].seq == UNKNOWN_SEQ_FLOOR


@pytest.mark.parametrize(
    ("url", "key"),
    [
        ("http://127.0.0.1:8080", HUB),
        ("http://127.0.0.1:8080/", HUB),
        ("HTTP://127.0.0.1:8080", HUB),
        (WS, HUB),
        ("wss://hub.example.com:443/api/v1/relay/ws", "https://hub.example.com"),
        ("https://hub.example.com/sms/", "https://hub.example.com/sms"),
        ("ws://[::1]:9000/api/v1/relay/ws", "http://[::1]:9000"),
    ],
)
def test_hub_key_names_a_hub_the_same_by_its_base_url_or_its_socket_url(url: str, key: str) -> None:
    assert hub_key(url) == key


def test_missing_state_file_holds_no_devices(tmp_path: Path) -> None:
    assert StateFile.load(tmp_path / "absent.json").hubs == {}


@pytest.mark.parametrize(
    "content", ['{"not": "a state file"}', "[1, 2]", "not json", '{"version": 2, "hubs": []}']
)
def test_broken_state_file_is_reported_with_what_to_do(tmp_path: Path, content: str) -> None:
    path = tmp_path / "state.json"
    path.write_text(content)

    with pytest.raises(StateFileError, match=r"state\.json is not a relay_sim state file") as e:
        StateFile.load(path)

    assert "--state" in str(e.value)


def test_newer_state_file_version_is_refused_not_misread(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text('{"version": 3, "hubs": {}}')

    with pytest.raises(StateFileError, match="version 3"):
        StateFile.load(path)


def test_save_devices_adds_fresh_devices_under_their_hub(tmp_path: Path) -> None:
    path = tmp_path / "state.json"

    save_devices(path, DEVICES)

    assert load_devices(path, HUB) == DEVICES
    assert load_devices(path, OTHER_HUB) == []
    assert [d.seq for d in StateFile.load(path).devices(HUB)] == [0, 0]


def test_state_file_is_held_by_one_simulator_at_a_time(tmp_path: Path) -> None:
    path = tmp_path / "state.json"

    with locked(path), pytest.raises(StateFileError, match="another relayhub sim"):  # noqa: SIM117
        with locked(path):
            pass

    with locked(path):  # released when the first one ended
        pass
