"""One hub per data folder: an OS lock held for the life of the process.

``relayhub serve`` takes the lock before it opens anything else, so a second
start on the same folder stops without touching the database. The lock is
``flock`` on ``relayhub.lock``: the kernel drops it when the process ends in
any way (SIGKILL and power cuts included), so a dead hub never blocks the next
start. The holder writes its pid and address into the file only to name
itself in the refusal; the lock, not the text, decides who owns the folder.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from hub.serving import private_files

LOCK_FILE: Final = "relayhub.lock"


@dataclass(frozen=True)
class Holder:
    """What the running hub wrote about itself (either may be missing: it writes
    them just after taking the lock, and the address only once it listens)."""

    pid: int | None
    address: str | None


class DataFolderBusy(Exception):
    def __init__(self, folder: Path, holder: Holder) -> None:
        super().__init__(f"{folder} is in use by another relayhub")
        self.folder = folder
        self.holder = holder


class DataFolderLock:
    """Held from ``acquire`` until ``release`` or the end of the process."""

    def __init__(self, fd: int, path: Path) -> None:
        self._fd = fd
        self.path = path

    @classmethod
    def acquire(cls, folder: Path) -> DataFolderLock:
        """Take the folder (creating it if needed), or raise ``DataFolderBusy``."""
        private_files.make_folder(folder)
        path = folder / LOCK_FILE
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            raise DataFolderBusy(folder, holder) from None
        lock = cls(fd, path)
        lock.describe(None)
        return lock

    def describe(self, address: str | None) -> None:
        """Write this process's pid (and address, once known) for a refused start to show."""
        text = f"pid: {os.getpid()}\n" + (f"address: {address}\n" if address else "")
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, text.encode(), 0)

    def release(self) -> None:
        if self._fd < 0:
            return
        os.ftruncate(self._fd, 0)  # no stale pid left behind for a reader to trust
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        self._fd = -1


def holder_of(folder: Path) -> Holder | None:
    """The hub serving ``folder`` now, or None if no process holds it."""
    try:
        fd = os.open(folder / LOCK_FILE, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    try:
        try:
            # A shared lock, dropped at once: it only succeeds when no hub holds the folder.
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read_holder(fd)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def _read_holder(fd: int) -> Holder:
    fields: dict[str, str] = {}
    for line in os.pread(fd, 4096, 0).decode(errors="replace").splitlines():
        key, _, value = line.partition(": ")
        fields[key] = value.strip()
    pid = None
    with contextlib.suppress(KeyError, ValueError):
        pid = int(fields["pid"])
    return Holder(pid, fields.get("address") or None)
