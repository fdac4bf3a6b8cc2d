"""Only the entry points import ``hub.app``: everything else gets the running
app from the request (``request.app``), so no import cycle hides behind a
function-local import."""

from __future__ import annotations

import ast
from pathlib import Path

import hub

HUB: Path = Path(hub.__file__).parent
ENTRY_POINTS = {"cli.py"}  # builds the app it serves


def imports_of_hub_app(tree: ast.AST) -> list[int]:
    """Line numbers of every import of ``hub.app``, at any depth (function bodies too)."""
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module is not None:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        if any(name == "hub.app" or name.startswith("hub.app.") for name in names):
            lines.append(node.lineno)
    return lines


def test_the_finder_sees_module_level_and_function_local_imports() -> None:
    source = "import hub.app\ndef f():\n    from hub.app import routes\n    from hub import app\n"
    assert imports_of_hub_app(ast.parse(source)) == [1, 3, 4]
    assert imports_of_hub_app(ast.parse("from hub.apps import x\nimport hub.api")) == []


def test_only_the_entry_points_import_hub_app() -> None:
    found = {
        str(path.relative_to(HUB)): lines
        for path in sorted(HUB.rglob("*.py"))
        if (lines := imports_of_hub_app(ast.parse(path.read_text(encoding="utf-8"))))
    }
    assert set(found) <= ENTRY_POINTS, found
    assert set(found) == ENTRY_POINTS  # else ENTRY_POINTS names a module that no longer needs it
