"""A cluster node started with a config of the caller's (a short lease, a real poll),
for the soak and the bench, where conftest's notification-only config does not fit."""

from __future__ import annotations

from tests.cluster.conftest import Cluster
from tests.e2e.conftest import ADMIN_TOKEN
from tests.e2e.hub_process import HubProcess, free_port


async def start_node(cluster: Cluster, config_toml: str) -> HubProcess:
    """One more ``relayhub serve`` on the cluster's database, with ``config_toml``."""
    index = len(cluster.nodes)
    config = cluster.root / f"node{index}.toml"
    config.write_text(config_toml)
    node = HubProcess(
        cluster.root / f"node{index}", free_port(), ADMIN_TOKEN, config, database=cluster.database
    )
    cluster.nodes.append(node)
    await node.start()
    return node
