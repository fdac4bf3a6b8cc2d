"""One rule for text a client gives the hub: no control characters.

A NUL or an escape in a name is never meant, shows as nothing (or as garbage)
in the dashboard and on a phone, and a NUL cuts SQLite's full-text query
parser short, which once turned a search into a 503. So every text of a
request (body fields, query parameters, path ids, CSV cells) is held to this
rule before it reaches storage or a query: no C0 or C1 control character and
no DEL. Newline, tab and carriage return are text only where a text may span
lines (an SMS, a metadata value); elsewhere a field is one line.
"""

from __future__ import annotations

import re
from typing import Any, Final

import msgspec

_ANY_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_BUT_BREAKS: Final = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_RAW_SUSPECT: Final = re.compile(rb"[\x00-\x1f\x7f\\]|\xc2[\x80-\x9f]")
# The fields of a request body that may span lines: the SMS text of a send
# and the values of a recipient's metadata (merged into such texts).
MULTILINE: Final = re.compile(r"(?:text|metadata\.[^.\[]+)")


def may_hold_control(raw: bytes) -> bool:
    """Whether a JSON body could hold a control character: only as an escape
    (``\\u0000``, ``\\n``), a raw DEL or a UTF-8 C1; most bodies have none and
    are not walked."""
    return _RAW_SUSPECT.search(raw) is not None


def control_character(text: str, multiline: bool = False) -> str | None:
    """Why ``text`` is refused, naming its first control character and the fix;
    None if it has none (``multiline``: newline, tab and CR are allowed)."""
    found = (_CONTROL_BUT_BREAKS if multiline else _ANY_CONTROL).search(text)
    if found is None:
        return None
    allowed = (
        "only newline, tab and carriage return are allowed"
        if multiline
        else "this field is one line of text, without line breaks or tabs"
    )
    return (
        f"has a control character (U+{ord(found.group()):04X}) at position {found.start()}:"
        f" remove it; {allowed}"
    )


def control_problems(value: Any, path: str) -> list[dict[str, str]]:
    """``{field, message}`` for each text in ``value`` (a decoded body, or part
    of one) that has a control character; ``path`` is where ``value`` sits."""
    if isinstance(value, str):
        why = control_character(value, multiline=MULTILINE.fullmatch(path) is not None)
        return [] if why is None else [{"field": path, "message": why}]
    if isinstance(value, msgspec.Struct):  # (its __struct_* names: fields() is slow)
        names = zip(value.__struct_fields__, value.__struct_encode_fields__, strict=True)
        value = {encoded: getattr(value, name) for name, encoded in names}
    if isinstance(value, dict):
        problems = []
        for key, item in value.items():
            problems += control_problems(item, f"{path}.{key}" if path else str(key))
        return problems
    if isinstance(value, list):
        return [p for i, item in enumerate(value) for p in control_problems(item, f"{path}[{i}]")]
    return []
