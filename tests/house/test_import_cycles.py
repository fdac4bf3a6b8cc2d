"""No import cycle among the modules of hub/, protocol/ and relay_sim/ (issue 17).

Every import statement counts, function-local and ``TYPE_CHECKING`` ones too:
a cycle that only closes when a function runs is still a cycle. When this
fails, pass the collaborator in (a constructor argument, a callback) instead of
importing the module that calls you.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.house.import_graph import cycles, import_graph, imported_modules, module_names

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("hub", "protocol", "relay_sim")


def test_hub_protocol_and_relay_sim_have_no_import_cycle() -> None:
    found = cycles(import_graph(ROOT, PACKAGES))
    assert found == [], "import cycles:\n" + "\n".join(" → ".join(c) for c in found)


def _imports(source: str, name: str = "pkg.sub.mod", is_package: bool = False) -> set[str]:
    known = {"pkg", "pkg.sub", "pkg.sub.mod", "pkg.sub.other", "pkg.util", "pkg.util.deep"}
    return imported_modules(name, is_package, ast.parse(source), known)


def test_the_graph_counts_function_local_and_type_checking_imports() -> None:
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    import pkg.util\n"
        "def f():\n    from pkg.sub import other\n"
    )
    assert _imports(source) == {"pkg.util", "pkg.sub.other"}


def test_the_graph_resolves_relative_imports_from_a_module_and_from_a_package() -> None:
    assert _imports("from . import other\nfrom ..util import deep") == {
        "pkg.sub.other",
        "pkg.util.deep",
    }
    assert _imports("from .mod import x", name="pkg.sub", is_package=True) == {"pkg.sub.mod"}


def test_the_graph_tells_a_module_from_a_name_in_a_package() -> None:
    # ``from pkg.util import helper`` runs pkg/util/__init__.py; ``import pkg.util.deep.x``
    # reaches the deepest module of ours it names; outside modules are left out.
    assert _imports("from pkg.util import helper\nimport pkg.util.deep.x\nimport json") == {
        "pkg.util",
        "pkg.util.deep",
    }


def test_the_cycle_finder_prints_each_cycle_and_passes_a_chain() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"f"}, "f": {"e"}}
    assert cycles(graph) == [["a", "b", "c", "a"], ["e", "f", "e"]]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []


def test_the_module_names_cover_packages_and_modules(tmp_path: Path) -> None:
    (tmp_path / "pkg" / "sub").mkdir(parents=True)
    for file in ("pkg/__init__.py", "pkg/sub/__init__.py", "pkg/sub/mod.py"):
        (tmp_path / file).write_text("")
    assert set(module_names(tmp_path, ["pkg"])) == {"pkg", "pkg.sub", "pkg.sub.mod"}
