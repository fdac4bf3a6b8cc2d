"""The simulator's state file: the devices it has paired, so a restart reuses them.

The file is a JSON list of ``{device_id, device_token, ws_url, name}``. It
holds device tokens, which are secrets, so it is written owner-only and
replaced atomically (a crash mid-write never loses the devices already paired).
"""

from __future__ import annotations

import os
from pathlib import Path

import msgspec

from relay_sim.pairing import PairedDevice


class StateFileError(Exception):
    """The state file exists but cannot be used."""


def load_devices(path: Path) -> list[PairedDevice]:
    """The devices saved in ``path``; none if the file does not exist yet."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    try:
        return msgspec.json.decode(data, type=list[PairedDevice])
    except msgspec.DecodeError as exc:
        raise StateFileError(f"{path} is not a relay_sim state file: {exc}") from None


def save_devices(path: Path, devices: list[PairedDevice]) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(msgspec.json.format(msgspec.json.encode(devices)))
        file.write(b"\n")
    temporary.replace(path)
