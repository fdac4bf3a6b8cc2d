"""Pieces of portable SQL that several feature modules build statements from."""

from __future__ import annotations

from datetime import datetime

from hub.clock import rfc3339


def set_clause(changes: dict[str, object]) -> tuple[str, tuple[object, ...]]:
    """``"a = ?, b = ?"`` and its values for a partial UPDATE, in storage form:
    bool → 0/1, datetime → RFC 3339, list → space-separated. Column names come
    from the hub's own code, never from a client."""
    values: list[object] = []
    for value in changes.values():
        if isinstance(value, bool):
            value = int(value)
        elif isinstance(value, datetime):
            value = rfc3339(value)
        elif isinstance(value, list):
            value = " ".join(value)
        values.append(value)
    return ", ".join(f"{name} = ?" for name in changes), tuple(values)
