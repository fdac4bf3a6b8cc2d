"""The dashboard sign-in link: one per data folder, kept in a private file.

A start never prints the link (stdout of a service often lands in a shared
journal); it writes it to ``dashboard-link.txt`` in the data folder, created
0600, and ``relayhub dashboard-link`` prints it for the operator at a terminal.
A link stays the same across restarts until it nears its expiry, so a restart
signs nobody out; then a new one is written and the old one still works until
its own expiry. An operator who wants a link dead revokes its token (the
Tokens view, or ``relayhub token revoke``); the hub then writes a new one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Final

from hub.accounts.tokens import TokenAuthority
from hub.clock import rfc3339

LINK_FILE: Final = "dashboard-link.txt"
VALID_FOR: Final = timedelta(hours=12)
RENEW_WITHIN: Final = timedelta(hours=1)  # a link with less time left is replaced
CHECK_EVERY_S: Final = 60.0  # how soon a revoked or deleted link is replaced

_HEADER: Final = (
    "# relayhub dashboard sign-in link for this data folder. Whoever has it can use\n"
    "# the dashboard (every scope but admin) until it expires: keep it private.\n"
    "# Print it with `relayhub dashboard-link`.\n"
)


@dataclass(frozen=True)
class SavedLink:
    url: str
    token_id: str
    expires_at: datetime


def read(path: Path) -> SavedLink | None:
    """The link saved at ``path``; None if there is none or it is not one of ours."""
    try:
        text = path.read_text()
    except (FileNotFoundError, UnicodeDecodeError):
        return None
    fields = dict(
        line.split(": ", 1) for line in text.splitlines() if ": " in line and line[:1] != "#"
    )
    try:
        return SavedLink(
            fields["link"], fields["token_id"], datetime.fromisoformat(fields["expires_at"])
        )
    except (KeyError, ValueError):
        return None


def write(path: Path, link: SavedLink) -> None:
    """Replace the file at once; it is never readable by others, not even briefly."""
    text = (
        f"{_HEADER}link: {link.url}\ntoken_id: {link.token_id}\n"
        f"expires_at: {rfc3339(link.expires_at)}\n"
    )
    staging = path.with_name(path.name + ".new")
    staging.unlink(missing_ok=True)
    fd = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)
    os.replace(staging, path)


async def ensure(auth: TokenAuthority, path: Path, origin: str, now: datetime) -> SavedLink:
    """Keep a working link at ``path``: the saved one while its token is live and
    not near expiry (rewritten only if the origin changed), else a new one."""
    saved = read(path)
    if saved is not None and saved.expires_at - now > RENEW_WITHIN:
        live = await auth.dashboard_link_ids()
        if saved.token_id in live:
            _, _, fragment = saved.url.partition("#")
            url = f"{origin}/dashboard/#{fragment}"
            if url != saved.url:
                saved = SavedLink(url, saved.token_id, saved.expires_at)
                write(path, saved)
            return saved
    expires_at = now + VALID_FOR
    expires_at -= timedelta(microseconds=expires_at.microsecond % 1000)  # as stored: to the ms
    secret, token_id = await auth.dashboard_sign_in(expires_at)
    fresh = SavedLink(f"{origin}/dashboard/#token={secret}", token_id, expires_at)
    write(path, fresh)
    return fresh
