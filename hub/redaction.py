"""Secrets never reach the log: a filter that masks them in every record written.

At debug level uvicorn's WebSocket handshake logs every request header, the
relay's ``Authorization: Bearer <device token>`` among them; and a client may
put a token where it does not belong (a query string, which the access log
prints). ``install()`` puts ``RedactSecrets`` on every handler, so a bearer
credential, or anything shaped like a hub secret (``rh_…``, ``rhd_…``,
``whsec_…``), is masked before it is written, whoever logged it. The filter
runs only for records that are written: with logging off it costs nothing.
"""

from __future__ import annotations

import logging
import re
from typing import Final

MASK: Final = "[redacted]"
_SECRET = re.compile(r"\b(rhd?_|whsec_)[A-Za-z0-9_-]{8,}")
_BEARER = re.compile(r"(?i)\b(bearer\s+)[^\s'\",;]+")
# Loggers whose handlers write the hub's log (uvicorn's own handlers do not propagate).
_LOGGERS: Final = ("", "uvicorn", "uvicorn.access")


def redact(text: str) -> str:
    """``text`` with bearer credentials and hub secrets masked (their prefix kept)."""
    text = _BEARER.sub(rf"\g<1>{MASK}", text)
    return _SECRET.sub(rf"\g<1>{MASK}", text)


class RedactSecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "uvicorn.access" and isinstance(record.args, tuple):
            # Its formatter unpacks the arguments (client, method, path, …): keep them.
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
            return True
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return True  # a malformed call: the handler reports it, as it would anyway
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, ()
            record.__dict__.pop("color_message", None)  # uvicorn's coloured copy of msg
        return True


def install(loggers: tuple[str, ...] = _LOGGERS) -> None:
    """Mask secrets on every handler of the hub's loggers; call once logging is set up
    (after ``uvicorn.Config`` is made: it installs its own handlers)."""
    redacting = RedactSecrets()
    for name in loggers:
        for handler in logging.getLogger(name).handlers:
            if not any(isinstance(f, RedactSecrets) for f in handler.filters):
                handler.addFilter(redacting)
