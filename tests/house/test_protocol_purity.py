"""``protocol/`` stays sans-I/O (STYLE.md 1): it imports nothing of the hub or the
simulator, no module that does I/O or keeps time, and never reads the clock.

Time comes in as arguments (``at``), bytes go out through ``data_to_send()``;
that is what lets the protocol tests run synchronously and exhaustively.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PROTOCOL = Path(__file__).resolve().parents[2] / "protocol"

# What protocol/ may import: pure standard-library modules, msgspec, itself.
# A new pure module may join the list; one that does I/O or keeps time may not.
ALLOWED = frozenset({
    "__future__", "abc", "collections", "dataclasses", "datetime", "enum", "functools",
    "itertools", "math", "re", "string", "typing", "unicodedata", "msgspec", "protocol",
})  # fmt: skip
CLOCK_READS = frozenset({"now", "utcnow", "today"})  # datetime.now() and kin


def impurities(source: str) -> list[str]:
    """Where ``source`` imports something outside ALLOWED or reads the wall clock."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""] if node.level == 0 else []
        elif isinstance(node, ast.Call) and (read := _clock_read(node.func)):
            found.append(f"line {node.lineno}: reads the clock ({read})")
            continue
        else:
            continue
        for name in names:
            if name.partition(".")[0] not in ALLOWED:
                found.append(f"line {node.lineno}: imports {name}")
    return found


def _clock_read(func: ast.expr) -> str:
    """``datetime.now`` and kin when ``func`` names one (``datetime.date.today`` too), else ""."""
    if not isinstance(func, ast.Attribute) or func.attr not in CLOCK_READS:
        return ""
    owner = func.value
    name = owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", "")
    return f"{name}.{func.attr}" if name in {"datetime", "date"} else ""


@pytest.mark.parametrize("path", sorted(PROTOCOL.rglob("*.py")), ids=lambda p: p.name)
def test_protocol_module_imports_no_io_and_reads_no_clock(path: Path) -> None:
    assert impurities(path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize(
    "source",
    [
        "import asyncio",
        "import socket",
        "from time import monotonic",
        "def f():\n    import sqlite3",
        "from hub.clock import Clock",
        "import relay_sim.link",
        "from datetime import datetime\nstamp = datetime.now()",
        "import datetime\nday = datetime.date.today()",
    ],
)
def test_the_check_finds_each_kind_of_impurity(source: str) -> None:
    assert impurities(source) != []


def test_the_check_leaves_pure_imports_and_datetime_types_alone() -> None:
    source = (
        "from datetime import UTC, datetime\nimport msgspec\nfrom . import frames\n"
        "from protocol.frames import Send\nat = datetime(2026, 1, 1, tzinfo=UTC)\n"
    )
    assert impurities(source) == []
