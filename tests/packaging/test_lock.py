"""The lock is what installs: every dependency pyproject.toml names is pinned in it.

`make lock` writes requirements/*.txt from pyproject.toml; a dependency added
to pyproject.toml without `make lock` would be missing here, and `uv pip sync`
would install without it.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^([A-Za-z0-9_.-]+)==[^\s;]+", re.M)


def _name(requirement: str) -> str:
    bare = re.split(r"[\s\[<>=!~;]", requirement, maxsplit=1)[0]
    return re.sub(r"[-_.]+", "-", bare).lower()


def _pinned(lock: str) -> set[str]:
    text = (ROOT / "requirements" / lock).read_text()
    assert "--hash=sha256:" in text  # installs refuse anything unhashed
    return {_name(name) for name in PIN.findall(text)}


def test_every_dependency_of_pyproject_is_pinned_in_the_locks() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    run = {_name(r) for r in project["dependencies"]}
    dev = {_name(r) for r in project["optional-dependencies"]["dev"]}
    assert run - _pinned("run.txt") == set()
    assert (run | dev) - _pinned("dev.txt") == set()


def test_the_run_lock_and_the_dev_lock_pin_the_same_versions() -> None:
    def versions(lock: str) -> dict[str, str]:
        text = (ROOT / "requirements" / lock).read_text()
        return {_name(n): v for n, v in re.findall(r"^([A-Za-z0-9_.-]+)==([^\s;]+)", text, re.M)}

    run, dev = versions("run.txt"), versions("dev.txt")
    assert {name: dev.get(name) for name in run} == run
