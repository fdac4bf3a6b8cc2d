"""Guards for the layering of errors (issue 17, item 3): the domain raises the
plain refusals of ``hub/errors.py`` and knows nothing of HTTP; only the HTTP
layer (``hub/api``, the app, the developer docs, ``hub/serving``, the command
line) imports ``hub.api``, which alone words a refusal as a problem body.

Exceptions defined anywhere else in ``hub/`` are process or machinery errors,
listed below with where they live; a new refusal belongs in ``hub/errors.py``.
"""

from __future__ import annotations

import ast
import builtins
from pathlib import Path

from tests.house.import_graph import imported_modules, module_names

ROOT = Path(__file__).resolve().parents[2]
HTTP_LAYER = ("hub.api", "hub.app", "hub.devdocs", "hub.serving", "hub.cli")
# Not refusals of a request: the process, storage, the wire, outgoing HTTP.
MACHINERY_ERRORS = {
    "hub.api.errors.ApiError",  # the API's own problem, raised by handlers
    "hub.cli.StartRefused",
    "hub.cluster.control.BadPayload",  # a NOTIFY payload from another node, not a request
    "hub.config.ConfigError",
    "hub.messaging.writes.ReportGap",  # a write's consistency check, inside a transaction
    "hub.serving.data_lock.DataFolderBusy",
    "hub.store.interface.Conflict",
    "hub.store.interface.StorageUnavailable",
    "hub.store.interface.NodeFenced",  # a reaped cluster node's commit, refused by the database
    "hub.store.postgres_writer.OpWentOnAfterConflict",  # a write op's bug, inside a transaction
    "hub.webhooks.http.RequestFailed",
    "hub.webhooks.http._ClosedBeforeAnswer",
}
BUILTIN_EXCEPTIONS = {
    name
    for name, value in vars(builtins).items()
    if isinstance(value, type) and issubclass(value, BaseException)
}


def in_http_layer(module: str) -> bool:
    return any(module == layer or module.startswith(layer + ".") for layer in HTTP_LAYER)


def exception_classes(sources: dict[str, str]) -> set[str]:
    """``module.Class`` of every exception class the sources define (by base, to a fixpoint)."""
    classes = [
        (module, node)
        for module, source in sources.items()
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.ClassDef)
    ]
    known = set(BUILTIN_EXCEPTIONS)
    found: set[str] = set()
    grew = True
    while grew:
        grew = False
        for module, node in classes:
            bases = {ast.unparse(base).rpartition(".")[2] for base in node.bases}
            if node.name not in known and bases & known:
                known.add(node.name)
                found.add(f"{module}.{node.name}")
                grew = True
    return found


def hub_sources() -> dict[str, str]:
    return {name: path.read_text() for name, path in module_names(ROOT, ["hub"]).items()}


def test_only_the_http_layer_imports_hub_api() -> None:
    modules = module_names(ROOT, ["hub", "protocol", "relay_sim"])
    known = set(modules)
    reaching = sorted(
        name
        for name, path in modules.items()
        if not in_http_layer(name)
        and any(
            target == "hub.api" or target.startswith("hub.api.")
            for target in imported_modules(
                name, path.name == "__init__.py", ast.parse(path.read_text()), known
            )
        )
    )
    assert not reaching, f"these import hub.api (raise a hub.errors refusal instead): {reaching}"


def test_every_exception_outside_hub_errors_is_a_listed_machinery_error() -> None:
    defined = exception_classes(hub_sources())
    refusals = {name for name in defined if name.startswith("hub.errors.")}
    elsewhere = defined - refusals

    assert elsewhere == MACHINERY_ERRORS
    assert "hub.errors.RateLimited" in refusals and "hub.errors.PartlyStored" in refusals


def test_the_check_finds_an_exception_defined_beside_its_rule() -> None:
    source = "class Refused(ValueError): pass\nclass Worse(Refused): pass\nclass Plain: pass"
    sources = {"hub.rules": source}

    assert exception_classes(sources) == {"hub.rules.Refused", "hub.rules.Worse"}
