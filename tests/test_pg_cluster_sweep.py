"""A cluster left running by a killed test process is stopped and removed by the
next one, while a live process's cluster is left alone."""

from __future__ import annotations

import socket
import subprocess
import sys

from tests.pg_cluster import PgCluster, sweep_orphans


def _accepts(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_dead_owners_cluster_is_stopped_and_removed_a_live_ones_is_kept(
    postgres_alone: PgCluster,
) -> None:
    orphan = PgCluster()
    orphan.start()
    try:
        (orphan.root / "owner.pid").write_text(str(_dead_pid()))

        swept = sweep_orphans(orphan.root.parent)

        assert orphan.root in swept
        assert not orphan.root.exists()
        assert not _accepts(orphan.port)
        assert postgres_alone.root not in swept  # its owner, this process, is alive
        assert _accepts(postgres_alone.port)
    finally:
        orphan.destroy()
