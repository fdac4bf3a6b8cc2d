"""The data folder is the hub's user's alone: the folder 0700, every file in it 0600.

It holds message texts, pairing-code hashes (a six-digit code is reversed from
its hash in a moment) and the keys that seal secrets, so no other local user
may read any of it. Each file is created with its mode (the database before
SQLite opens it: SQLite gives its WAL and shared-memory files the database's
mode), whatever the umask. ``tighten`` takes group and other permissions off a
folder an older version left readable, and off the hub's own files in it.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Final

FOLDER_MODE: Final = 0o700
FILE_MODE: Final = 0o600
_OTHERS: Final = 0o077  # group and other permission bits
# What the hub keeps in its folder (files of another program there are not ours to change).
HUB_FILES: Final = (
    "relayhub.db", "relayhub.db-wal", "relayhub.db-shm", "relayhub.db-journal",
    "relayhub.lock", "dashboard-link.txt", "dashboard-link.txt.new", "webhook.key", "otp.key",
)  # fmt: skip


def make_folder(folder: Path) -> None:
    """Create ``folder`` (and its parents) if missing; a new data folder is 0700."""
    folder.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)


def create_file(path: Path) -> None:
    """Create ``path`` empty and 0600 if it is missing (an existing file is left as it is)."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, FILE_MODE))


def tighten(folder: Path) -> list[str]:
    """Take group and other permissions off ``folder`` and the hub's files in it;
    one sentence for each path that had them, for the log."""
    changed = []
    for path in (folder, *(folder / name for name in HUB_FILES)):
        try:
            info = path.lstat()
        except FileNotFoundError:
            continue
        if stat.S_ISLNK(info.st_mode) or not info.st_mode & _OTHERS:
            continue  # a link's target is not the hub's to change
        was = stat.S_IMODE(info.st_mode)
        now = was & ~_OTHERS
        path.chmod(now)
        shown = f"{path}/" if path == folder else str(path)
        changed.append(f"{shown} was readable by other local users ({was:#o}); now {now:#o}")
    return changed
