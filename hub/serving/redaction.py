"""Secrets never reach the log: a filter that masks them in every record written.

At debug level uvicorn's WebSocket handshake logs every request header, the
relay's ``Authorization: Bearer <device token>`` among them; and a client may
put a token where it does not belong (a query string, which the access log
prints). ``install()`` puts ``RedactSecrets`` on every handler, so a bearer
credential, or anything shaped like a hub secret (``rh_…``, ``rhd_…``,
``whsec_…``, a QR pairing payload's code), however percent-encoded, is masked
before it is written, whoever logged it. The filter
runs only for records that are written: with logging off it costs nothing.
"""

from __future__ import annotations

import logging
import re
from typing import Final

MASK: Final = "[redacted]"
# Each pattern is (what is kept)(the secret), matched on percent-decoded text.
_NOT_AFTER = r"(?<![A-Za-z0-9])"  # a word boundary that also holds after "_" or "%20"
_PATTERNS: Final = (
    re.compile(r"(?i)\b(bearer\s+)([^\s'\",;]+)"),
    re.compile(_NOT_AFTER + r"(rhd?_)([A-Za-z0-9_-]{8,})"),  # url-safe base64
    re.compile(_NOT_AFTER + r"(whsec_)([A-Za-z0-9+/=_-]{8,})"),  # standard base64: + / =
    # The secret of a QR pairing payload (hub.relay.devices: relayhub://pair?hub=…&code=…).
    re.compile(r"(relayhub://pair\?(?:[^\s#]*?&)?code=)([A-Za-z0-9_-]{8,})"),
)
_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")
_DECODE_ROUNDS: Final = 3  # a value encoded twice (%2572 for "r") is still found
# Loggers whose handlers write the hub's log (uvicorn's own handlers do not propagate).
_LOGGERS: Final = ("", "uvicorn", "uvicorn.access")


def _decoded(text: str) -> tuple[str, list[int]]:
    """``text`` percent-decoded, and where each decoded character starts in ``text``
    (one entry more: the end), so that a match in the decoded text maps back."""
    starts = list(range(len(text) + 1))
    for _ in range(_DECODE_ROUNDS):
        if "%" not in text:
            break
        chars: list[str] = []
        moved: list[int] = []
        i = 0
        while i < len(text):
            moved.append(starts[i])
            escape = _ESCAPE.match(text, i) if text[i] == "%" else None
            chars.append(chr(int(escape[1], 16)) if escape else text[i])
            i += 3 if escape else 1
        if len(chars) == len(text):
            break  # no escape left: decoding again changes nothing
        moved.append(starts[len(text)])
        text, starts = "".join(chars), moved
    return text, starts


def redact(text: str) -> str:
    """``text`` with bearer credentials and hub secrets masked (their prefix kept).

    Secrets are looked for in the percent-decoded text (a client's URL library
    writes ``+`` as ``%2B``, and ``%72h_`` is ``rh_``), but only the original
    text is edited: a decoded line break or quote never reaches the log.
    """
    if "%" in text:
        plain, starts = _decoded(text)
        spans = sorted(
            (starts[m.start(2)], starts[m.end(2)]) for p in _PATTERNS for m in p.finditer(plain)
        )
    else:  # nothing encoded (every access-log line of a plain request): positions are as they are
        spans = sorted((m.start(2), m.end(2)) for p in _PATTERNS for m in p.finditer(text))
    out: list[str] = []
    kept = 0
    for begin, end in spans:
        if begin < kept:  # overlaps one already masked (a bearer whsec_…): widen it
            kept = max(kept, end)
            continue
        out += [text[kept:begin], MASK]
        kept = end
    return "".join(out) + text[kept:] if out else text


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
