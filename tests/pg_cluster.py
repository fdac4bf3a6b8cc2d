"""A private PostgreSQL cluster for the tests: Debian's binaries, a temp folder, a loopback port.

PostgreSQL refuses to run as root, so when the tests run as root the cluster's
folder is given to the ``postgres`` system user (else ``nobody``) and every
server command runs as that user. Durability stays as in production: fsync,
synchronous_commit and full_page_writes are on. Only ``initdb`` skips its own
final sync of the freshly made files (``--no-sync``): a crash of the machine
during the tests loses the test cluster, never a figure or a test's meaning.

Where the binaries are missing the tests that need them skip with the reason,
except in CI (``RELAYHUB_REQUIRE_POSTGRES=1``), where they fail.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg

from hub.store.postgres import migrate_database

ROLE = "relayhub"
REQUIRE_ENV = "RELAYHUB_REQUIRE_POSTGRES"


def binaries() -> Path | None:
    """The newest installed PostgreSQL's bin folder, or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_version)
    return Path(found[-1]).parent if found else None


def _version(path: str) -> int:
    version = Path(path).parent.parent.name
    return int(version) if version.isdigit() else 0


def missing_reason() -> str | None:
    """Why no cluster can start here, or None when one can."""
    if binaries() is None:
        return "PostgreSQL is not installed (apt-get install postgresql)"
    if os.geteuid() == 0 and _server_user() is None:
        return "running as root and neither the postgres nor the nobody user exists"
    return None


def _server_user() -> str | None:
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            return name
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


_PREFIX = "relayhub-pg-"
_OWNER = "owner.pid"  # the test process that made the cluster


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_orphans(parent: Path | None = None) -> list[Path]:
    """Stop and remove clusters whose test process died without cleaning up
    (a SIGKILLed pytest leaves its server running and its folder behind)."""
    swept = []
    for root in Path(parent or tempfile.gettempdir()).glob(_PREFIX + "*"):
        owner = root / _OWNER
        try:
            pid = int(owner.read_text())
        except (OSError, ValueError):
            continue  # being made right now, or not ours
        if _alive(pid):
            continue
        PgCluster.found(root).destroy()
        swept.append(root)
    return swept


class PgCluster:
    """One initdb'd cluster, started and stopped (and restarted) on demand."""

    @classmethod
    def found(cls, root: Path) -> PgCluster:
        """A handle on a cluster already on disk (to stop and remove it)."""
        cluster = cls.__new__(cls)
        bin_dir = binaries()
        assert bin_dir is not None, missing_reason()
        cluster.bin, cluster.root = bin_dir, root
        cluster.data, cluster.log = root / "data", root / "server.log"
        cluster.user = _server_user() if os.geteuid() == 0 else None
        cluster.port, cluster.started_in_s = 0, 0.0
        return cluster

    def __init__(self) -> None:
        bin_dir = binaries()
        assert bin_dir is not None, missing_reason()
        sweep_orphans()
        self.bin = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix=_PREFIX))
        (self.root / _OWNER).write_text(str(os.getpid()))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.port = _free_port()
        self.user = _server_user() if os.geteuid() == 0 else None
        if self.user is not None:
            entry = pwd.getpwnam(self.user)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        self._run(
            "initdb", "-D", str(self.data), "-U", ROLE, "--auth=trust",
            "--encoding=UTF8", "--locale=C", "--no-sync", "--no-instructions",
        )  # fmt: skip
        self.started_in_s = 0.0

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{ROLE}@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        began = time.monotonic()
        options = " ".join(
            [
                f"-p {self.port}",
                "-c listen_addresses=127.0.0.1",
                f"-c unix_socket_directories={self.root}",
                "-c fsync=on",
                "-c synchronous_commit=on",
                "-c full_page_writes=on",
                "-c max_connections=200",
            ]
        )
        self._run("pg_ctl", "start", "-w", "-D", str(self.data), "-l", str(self.log), "-o", options)
        self.started_in_s = time.monotonic() - began

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "stop", "-w", "-D", str(self.data), "-m", mode)

    def create_database(self, name: str, template: str = "template1") -> str:
        """A new empty database (a copy of ``template``); its URL."""
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        return self.url(name)

    def destroy(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)

    def _run(self, tool: str, *args: str) -> None:
        command = [str(self.bin / tool), *args]
        if self.user is not None:
            command = ["runuser", "-u", self.user, "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            log = self.log.read_text() if self.log.exists() else ""
            raise subprocess.CalledProcessError(
                done.returncode, command, done.stdout, done.stderr + log
            )


# One cluster for the whole test session, started on first use (tests/conftest.py
# stops it at the end); each hub gets a database of its own, copied from a
# template migrated once.
_shared: PgCluster | None = None
_TEMPLATE = "relayhub_template"
BACKEND_ENV = "RELAYHUB_TEST_BACKEND"


def shared_cluster() -> PgCluster:
    global _shared
    if _shared is None:
        cluster = PgCluster()
        cluster.start()
        cluster.create_database(_TEMPLATE)
        migrate_database(cluster.url(_TEMPLATE))
        _shared = cluster
    return _shared


def stop_shared_cluster() -> None:
    global _shared
    if _shared is not None:
        _shared.destroy()
        _shared = None


def database_for(key: str | Path) -> str:
    """The URL of a migrated database for ``key`` (a hub's data folder, say):
    the same key gives the same database, so a restarted hub finds its data."""
    cluster = shared_cluster()
    name = "t_" + hashlib.sha1(str(key).encode()).hexdigest()[:20]
    with psycopg.connect(cluster.url(), autocommit=True) as conn:
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
    if found:
        return cluster.url(name)
    return cluster.create_database(name, template=_TEMPLATE)


def postgres_backend() -> bool:
    """True when the tests' hubs run on PostgreSQL (RELAYHUB_TEST_BACKEND=postgres)."""
    return os.environ.get(BACKEND_ENV, "sqlite") == "postgres"
