"""The hub as a user installs it: a wheel in a clean venv, run from an empty folder.

Builds the sdist and, from it, the wheel (as `uv build` does, so a file missing
from either shows up here), installs the wheel with the locked run-time
dependencies into a new venv, starts `relayhub serve` from a folder that holds
no source tree and no hub.toml, and asks it for health, /docs and /dashboard.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.hub_process import READY_LINE, free_port

ROOT = Path(__file__).resolve().parents[2]
ADMIN_TOKEN = "rh_wheel_admin_token_0123456789abcdef"


def _uv() -> str:
    found = shutil.which("uv") or str(ROOT / ".tools" / "bin" / "uv")
    if not Path(found).is_file():
        reason = "uv is not installed: `make install` bootstraps it into .tools/"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return found


def _run(*command: str | Path, env: dict[str, str] | None = None) -> None:
    done = subprocess.run(
        [str(c) for c in command], capture_output=True, text=True, env=env, timeout=300
    )
    assert done.returncode == 0, f"{command} failed:\n{done.stdout}\n{done.stderr}"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    _run(_uv(), "build", "--quiet", "--out-dir", out, ROOT)
    (built,) = out.glob("relayhub-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The venv's bin folder, with the wheel and exactly the locked run-time set."""
    venv = tmp_path_factory.mktemp("venv")
    uv = _uv()
    env = {**os.environ, "VIRTUAL_ENV": str(venv)}
    _run(uv, "venv", "--quiet", "--allow-existing", "--python", sys.executable, venv)
    _run(uv, "pip", "sync", "--quiet", "--require-hashes", ROOT / "requirements/run.txt", env=env)
    _run(uv, "pip", "install", "--quiet", "--no-deps", wheel, env=env)
    return venv / "bin"


@pytest.fixture(scope="module")
def served(installed: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`relayhub serve` from the venv, in an empty folder; yields its base URL."""
    cwd = tmp_path_factory.mktemp("elsewhere")
    port = free_port()
    env = {
        # Nothing of the source tree may be importable: only the installed package.
        "PATH": f"{installed}:{os.environ['PATH']}",
        "HOME": str(cwd),
        "RELAYHUB_ADMIN_TOKEN": ADMIN_TOKEN,
    }
    process = subprocess.Popen(
        [installed / "relayhub", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    log: list[str] = []
    ready = threading.Event()

    def drain() -> None:  # reads to the end, so a full pipe never blocks the hub
        assert process.stderr is not None
        for line in process.stderr:
            log.append(line)
            if READY_LINE in line:
                ready.set()
        ready.set()  # the process exited

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        ready.wait(timeout=30)
        if process.poll() is not None or not any(READY_LINE in line for line in log):
            pytest.fail("the installed hub did not start:\n" + "".join(log))
        yield f"http://127.0.0.1:{port}"
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=20)
        reader.join(timeout=10)
        if process.stderr is not None:
            process.stderr.close()


def test_wheel_carries_what_the_hub_reads_at_run_time(wheel: Path) -> None:
    archive = zipfile.ZipFile(wheel)
    names = set(archive.namelist())
    # hub/schema.sql links to the top-level schema.sql: the wheel holds its text.
    assert archive.read("hub/schema.sql") == (ROOT / "schema.sql").read_bytes()
    assert "hub/web/dashboard/index.html" in names
    assert "hub/web/docs/text.toml" in names
    assert "hub/devdocs/example_templates/python/post.py.tmpl" in names  # /docs's examples
    assert not any(name.startswith("tests/") for name in names)


def test_installed_hub_is_not_the_source_tree(installed: Path) -> None:
    where = subprocess.run(
        [installed / "python", "-c", "import hub; print(hub.__file__)"],
        capture_output=True, text=True, cwd=installed, check=True,
    ).stdout  # fmt: skip
    assert "site-packages" in where
    assert str(ROOT) not in where


def test_installed_hub_serves_health_docs_and_dashboard(served: str) -> None:
    with httpx.Client(base_url=served, timeout=10) as client:
        health = client.get("/api/v1/health")
        assert health.status_code == 200, health.text
        assert health.json()["storage"] == "ok"

        docs = client.get("/docs")
        assert docs.status_code == 200
        assert "/api/v1/sms/send" in docs.text

        dashboard = client.get("/dashboard/")
        assert dashboard.status_code == 200
        assert "<html" in dashboard.text.lower()

        assert client.get("/api/v1/openapi.json").json()["openapi"].startswith("3.")
