"""The simulator's state file: the devices it paired, per hub, and how far each one's seq went.

Shape (version 2)::

    {"version": 2,
     "hubs": {"http://127.0.0.1:8080": [
         {"device_id": "dev_…", "device_token": "…", "ws_url": "ws://…/api/v1/relay/ws",
          "name": "Sim relay 1", "seq": 1000}]}}

Devices belong to the hub that paired them, so they are kept under that hub's
base URL (``hub_key``); pointing the simulator at another hub pairs devices
for that one and leaves these for later. ``seq`` is the highest report seq the
device may have used: a restart continues above it (see ``relay_sim.ledger``).

Version 1 was a bare list of devices with no seq. It still loads: each device
goes under the hub its ``ws_url`` points at, and since nothing says how far its
seq went, it continues from ``UNKNOWN_SEQ_FLOOR`` (the old simulator restarted
at 1 on every run, so no run of it came near that).

The file holds device tokens, which are secrets, so it is written owner-only
and replaced atomically (a crash mid-write never loses the devices already paired).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit

import msgspec

from relay_sim.pairing import PairedDevice

VERSION: Final = 2
UNKNOWN_SEQ_FLOOR: Final = 1_000_000_000
_WS_PATH: Final = "/api/v1/relay/ws"
_DEFAULT_PORTS: Final = {"http": 80, "https": 443}


class StateFileError(Exception):
    """The state file exists but cannot be used."""


class SavedDevice(msgspec.Struct):
    """A paired device as the state file keeps it."""

    device_id: str
    device_token: str
    ws_url: str
    name: str
    seq: int = 0  # every report seq up to this one may have been used

    @classmethod
    def of(cls, device: PairedDevice, seq: int = 0) -> SavedDevice:
        return cls(device.device_id, device.device_token, device.ws_url, device.name, seq)

    def paired(self) -> PairedDevice:
        return PairedDevice(self.device_id, self.device_token, self.ws_url, self.name)


class _Document(msgspec.Struct):
    version: int
    hubs: dict[str, list[SavedDevice]]


class _OldDevice(msgspec.Struct):
    """A device in a version 1 file: no seq."""

    device_id: str
    device_token: str
    ws_url: str
    name: str


def hub_key(url: str) -> str:
    """The base URL a hub is known by: ``http://host:port`` (plus any path prefix it is under).

    Takes the hub's base URL (``--hub``) or a device's ``ws_url`` and gives the
    same key for both, so devices are found again whichever way they are named.
    """
    parts = urlsplit(url.strip())
    scheme = {"ws": "http", "wss": "https"}.get(parts.scheme.lower(), parts.scheme.lower())
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"  # an IPv6 literal
    port = f":{parts.port}" if parts.port and parts.port != _DEFAULT_PORTS.get(scheme) else ""
    path = parts.path.rstrip("/")
    path = path.removesuffix(_WS_PATH)
    return f"{scheme}://{host}{port}{path}"


class StateFile:
    """The devices of every hub, loaded from ``path``; ``save`` writes them all back."""

    def __init__(self, path: Path | None, hubs: dict[str, list[SavedDevice]]) -> None:
        self.path = path  # None: kept in memory only
        self.hubs = hubs

    @classmethod
    def load(cls, path: Path | None) -> StateFile:
        """The file at ``path`` (a version 1 file is converted); empty if there is none yet."""
        if path is None:
            return cls(None, {})
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return cls(path, {})
        return cls(path, _decode(path, data))

    def devices(self, hub_url: str) -> list[SavedDevice]:
        """The devices paired with the hub at ``hub_url``, oldest first (a live list)."""
        return self.hubs.setdefault(hub_key(hub_url), [])

    def forget(self, hub_url: str) -> list[SavedDevice]:
        """Drop every device of that hub; returns what was dropped."""
        return self.hubs.pop(hub_key(hub_url), [])

    def save(self) -> None:
        """Write every hub's devices, durably: on disk before this returns."""
        if self.path is None:
            return
        hubs = {key: devices for key, devices in self.hubs.items() if devices}
        data = msgspec.json.format(msgspec.json.encode(_Document(VERSION, hubs))) + b"\n"
        temporary = self.path.with_name(f".{self.path.name}.tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())  # a seq reservation must survive a power cut too
        temporary.replace(self.path)


@contextlib.contextmanager
def locked(path: Path | None) -> Iterator[None]:
    """Hold the state file for one simulator at a time.

    Two simulators on one file would run the same devices, and each socket
    would replace the other's (close 4409) over and over.
    """
    if path is None:
        yield
        return
    lock_path = path.with_name(
        f"{path.name}.lock" if path.name.startswith(".") else f".{path.name}.lock"
    )
    descriptor = os.open(lock_path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise StateFileError(
                f"another relayhub sim is running with {path}; stop it, or give this one"
                " its own file with --state OTHER.json"
            ) from None
        yield
    finally:
        os.close(descriptor)  # releases the lock


def load_devices(path: Path, hub_url: str) -> list[PairedDevice]:
    """The devices ``path`` holds for the hub at ``hub_url``."""
    return [saved.paired() for saved in StateFile.load(path).devices(hub_url)]


def save_devices(path: Path, devices: list[PairedDevice]) -> None:
    """Add ``devices`` (fresh: seq 0) under the hub each one's ``ws_url`` points at."""
    state = StateFile.load(path)
    for device in devices:
        state.devices(device.ws_url).append(SavedDevice.of(device))
    state.save()


def _decode(path: Path, data: bytes) -> dict[str, list[SavedDevice]]:
    try:
        document = msgspec.json.decode(data, type=_Document)
    except msgspec.DecodeError as exc:
        try:
            old = msgspec.json.decode(data, type=list[_OldDevice])
        except msgspec.DecodeError:
            raise StateFileError(
                f"{path} is not a relay_sim state file ({exc}); move it away or pass"
                " another --state FILE"
            ) from None
    else:
        if document.version != VERSION:
            raise StateFileError(
                f"{path} is a version {document.version} state file; this simulator reads"
                f" version {VERSION} (and the bare list of version 1): upgrade relayhub"
            )
        return document.hubs
    hubs: dict[str, list[SavedDevice]] = {}
    for device in old:
        saved = SavedDevice(
            device.device_id, device.device_token, device.ws_url, device.name, UNKNOWN_SEQ_FLOOR
        )
        hubs.setdefault(hub_key(device.ws_url), []).append(saved)
    return hubs
