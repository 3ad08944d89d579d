"""Several raylets on this machine as one Ray cluster (Ray's own ``ray.cluster_utils.Cluster``): a head that
stands for a CPU node and a worker that stands for a GPU node, each with a custom resource of its own, so
that a replica asking for that resource lands on that node, as a KubeRay GPU worker group's does for
``num_gpus``. Nodes can be removed (all their processes killed: a lost machine) and added back."""

from __future__ import annotations

import os
import socket
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

# Node roles -> the custom resource a node of that role offers. A replica asks for 1 of its node's, so a
# node takes up to NODE_SLOTS replicas; the amount only has to be larger than any replica count.
ROLES = {"cpu": "cpu_node", "gpu": "gpu_node"}
HEAD_ROLE = "cpu"  # the Serve controller, the proxy and the Ingress live on the head
NODE_SLOTS = 1000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def isolate_ray_temp_dir() -> str:
    """A private Ray temp folder for this cluster's processes. ``Cluster`` writes its address to
    ``<temp>/ray/ray_current_cluster``, where any plain ``ray.init()`` on this machine would find it and
    join this cluster instead of starting its own (other test sessions, other people's runs)."""
    path = os.environ.get("RAY_TMPDIR") or tempfile.mkdtemp(prefix="hg-cluster-", dir="/tmp")
    os.environ["RAY_TMPDIR"] = path  # short on purpose: Ray's socket paths live below it (108-byte limit)
    return path


@dataclass
class Node:
    role: str
    index: int  # the n-th node of its role started by this run
    handle: Any  # ray._private.node.Node

    @property
    def name(self) -> str:
        return f"{self.role}-node-{self.index}"

    @property
    def node_id(self) -> str:
        return self.handle.node_id


@dataclass
class LocalCluster:
    """``start()`` brings up the head (role ``cpu``) and one node per role in ``workers``; the driver (this
    process) connects to it. Every process of the cluster ends with ``shutdown()`` or with this process."""

    workers: tuple[str, ...] = ("gpu",)
    cpus_per_node: int = 1  # replicas ask for 0 CPUs; this only admits Ray's own small tasks
    dashboard_port: int | None = None  # None: no dashboard
    nodes: list[Node] = field(default_factory=list)  # the live ones
    started: Counter[str] = field(default_factory=Counter)  # nodes started per role, removed ones too

    def start(self) -> LocalCluster:
        import ray
        from ray.cluster_utils import Cluster

        isolate_ray_temp_dir()
        head_args: dict[str, Any] = {
            **self._node_args(HEAD_ROLE, 1),
            "gcs_server_port": free_port(),
            "include_dashboard": self.dashboard_port is not None,
        }
        if self.dashboard_port is not None:
            head_args |= {"dashboard_host": "127.0.0.1", "dashboard_port": self.dashboard_port}
        self._cluster = Cluster(initialize_head=True, head_node_args=head_args)
        self.started[HEAD_ROLE] += 1
        self.nodes.append(Node(HEAD_ROLE, 1, self._cluster.head_node))
        for role in self.workers:
            self.add(role)
        ray.init(address=self._cluster.address, log_to_driver=False, configure_logging=False)
        return self

    @property
    def address(self) -> str:
        return self._cluster.address

    @property
    def dashboard_url(self) -> str | None:
        return f"http://127.0.0.1:{self.dashboard_port}" if self.dashboard_port is not None else None

    def add(self, role: str) -> Node:
        if role not in ROLES:
            raise ValueError(f"unknown node role {role!r}; roles: {', '.join(ROLES)}")
        index = self.started[role] + 1  # a node added back is a new machine: a new name
        node = Node(role, index, self._cluster.add_node(**self._node_args(role, index)))
        self.started[role] = index
        self.nodes.append(node)
        return node

    def remove(self, role: str) -> Node:
        """Kill every process of the newest live worker node of ``role``: to Ray and Serve, a lost machine."""
        live = [n for n in self.nodes if n.role == role and n.handle is not self._cluster.head_node]
        if not live:
            raise ValueError(f"no {role} worker node to remove")
        node = live[-1]
        self._cluster.remove_node(node.handle, allow_graceful=False)
        self.nodes.remove(node)
        return node

    def name_of(self, node_id: str) -> str:
        return next((n.name for n in self.nodes if n.node_id == node_id), f"lost node {node_id[:8]}")

    def describe(self) -> list[dict[str, Any]]:
        return [
            {"name": n.name, "role": n.role, "node_id": n.node_id, "resource": ROLES[n.role]}
            for n in self.nodes
        ]

    def shutdown(self) -> None:
        import ray

        try:
            ray.shutdown()
        finally:
            self._cluster.shutdown()

    def _node_args(self, role: str, index: int) -> dict[str, Any]:
        return {
            "num_cpus": self.cpus_per_node,
            "resources": {ROLES[role]: NODE_SLOTS},
            "node_name": f"{role}-node-{index}",
        }
