"""Tests for ``relay_sim/state.py``: the file of paired devices."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from relay_sim.pairing import PairedDevice
from relay_sim.state import StateFileError, load_devices, save_devices

DEVICES = [
    PairedDevice("dev_1", "dtok_1", "ws://127.0.0.1:8080/api/v1/relay/ws", "Sim relay 1"),
    PairedDevice("dev_2", "dtok_2", "ws://127.0.0.1:8080/api/v1/relay/ws", "Sim relay 2"),
]


def test_saved_devices_load_back_and_stay_private(tmp_path: Path) -> None:
    path = tmp_path / "state.json"

    save_devices(path, DEVICES)

    assert load_devices(path) == DEVICES
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]


def test_state_file_is_a_json_list_of_devices(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text(
        '[{"device_id": "dev_1", "device_token": "dtok_1",'
        ' "ws_url": "ws://127.0.0.1:8080/api/v1/relay/ws", "name": "Sim relay 1"}]'
    )

    assert load_devices(path) == DEVICES[:1]


def test_missing_state_file_holds_no_devices(tmp_path: Path) -> None:
    assert load_devices(tmp_path / "absent.json") == []


def test_broken_state_file_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text('{"not": "a list"}')

    with pytest.raises(StateFileError, match=r"state\.json"):
        load_devices(path)
