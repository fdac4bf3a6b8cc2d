"""Close codes have one source, ``protocol.close_codes.CloseCode``.

The hub, the simulator and the rest of ``protocol/`` must not spell a close
code as a bare number or define their own ``CLOSE_*`` constant: a second copy
can drift from the protocol (issue 17 found ``CLOSE_INTERNAL`` defined twice
and a bare 1001).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from protocol import session
from protocol.close_codes import CloseCode

ROOT = Path(__file__).resolve().parents[2]
CODES = frozenset(int(c) for c in CloseCode)
CLOSING_CALLS = frozenset({"close", "fail", "disconnect"})


def second_copies(source: str) -> list[str]:
    """Where ``source`` spells a close code itself instead of naming a CloseCode."""
    found = []
    for node in ast.walk(ast.parse(source)):
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else None
            name = node.func.id if isinstance(node.func, ast.Name) else name
            args = [*node.args, *(k.value for k in node.keywords if k.arg == "code")]
            if name in CLOSING_CALLS and any(_is_code(a) for a in args):
                found.append(f"line {line}: {name}() with a bare close code")
        elif isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            if any(_names_code(s) for s in sides) and any(_is_code(s) for s in sides):
                found.append(f"line {line}: a close code compared with a bare number")
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Name) and _is_close_name(target.id):
                    found.append(f"line {line}: defines {target.id}")
        elif isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if _is_close_name(alias.name):
                    found.append(f"line {line}: imports {alias.name}; use CloseCode")
    return found


def _is_close_name(name: str) -> bool:
    return name.startswith("CLOSE_") and name != "CLOSE_REASON_MAX_BYTES"


def _is_code(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and type(node.value) is int and node.value in CODES


def _names_code(node: ast.expr) -> bool:
    name = node.attr if isinstance(node, ast.Attribute) else getattr(node, "id", "")
    return "code" in name.lower()


def _modules() -> list[Path]:
    return sorted(p for pkg in ("hub", "relay_sim", "protocol") for p in (ROOT / pkg).rglob("*.py"))


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_of_hub_relay_sim_or_protocol_spells_a_close_code(path: Path) -> None:
    assert second_copies(path.read_text()) == []


@pytest.mark.parametrize(
    "source",
    [
        "ws.close(1001)",
        "await websocket.close(code=1008)",
        "conn.close(4409, 'replaced')",
        "session.fail(1011, 'internal')",
        "if code == 1012: pass",
        "CLOSE_INTERNAL = 1011",
        "CLOSE_GONE: Final = CloseCode.GOING_AWAY",
        "from protocol.session import CLOSE_POLICY",
    ],
)
def test_the_check_finds_each_kind_of_second_copy(source: str) -> None:
    assert second_copies(source) != []


def test_the_check_leaves_other_numbers_and_named_codes_alone() -> None:
    source = (
        "ws.close(CloseCode.GOING_AWAY)\nbatch(chunk=1000)\nms = s * 1000\n"
        "if code == CloseCode.SERVICE_RESTART: pass"
    )
    assert second_copies(source) == []


def test_the_codes_are_the_ones_the_wire_contract_names() -> None:
    # PROTOCOL.md: bad frame 1007, no hello 1008, too big 1009, revoked 4403, replaced 4409.
    named = [CloseCode.INVALID_DATA, CloseCode.POLICY, CloseCode.TOO_BIG]
    named += [CloseCode.REVOKED, CloseCode.REPLACED]
    assert [int(code) for code in named] == [1007, 1008, 1009, 4403, 4409]


def test_the_session_module_keeps_no_close_code_aliases() -> None:
    # The CLOSE_* aliases were removed; only the reason-length limit keeps the prefix.
    assert [n for n in vars(session) if _is_close_name(n)] == []
