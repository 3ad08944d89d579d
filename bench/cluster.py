"""One local Ray cluster for a benchmark run: Serve on a loopback port, replica status and memory."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bench_env() -> None:
    """What every process of the run needs: no token auth or telemetry, no hub, this checkout first."""
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    # Ray starts its workers at nice 15: on a machine shared with other work the replicas would queue
    # behind it and the run would measure the neighbours. A node that serves runs nothing else.
    os.environ.setdefault("RAY_worker_niceness", "0")
    path = os.environ.get("PYTHONPATH", "")
    if REPO not in path.split(os.pathsep):  # Ray workers inherit it: they import this checkout's code
        os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (REPO, path) if p)


@dataclass
class Cluster:
    url: str
    port: int
    gcs_address: str


@contextmanager
def local_cluster(num_cpus: int = 2) -> Iterator[Cluster]:
    """Ray + Serve for the run; always shut down, whatever happens inside."""
    import ray
    from ray import serve

    bench_env()
    # Serve's proxy and the synthetic apps run as serve_config.yaml's replicas do. Set once this process has
    # read Serve's settings: its own handles keep the defaults (benchmarks drive them from one event loop
    # after another, which a router bound to the caller's loop would not survive).
    import yaml

    from deployments.ray_env import export_ray_env

    with open(os.path.join(REPO, "serve_config.yaml")) as f:
        export_ray_env(yaml.safe_load(f))
    for attempt in range(3):  # on a busy machine the raylet gives up when its agents start slowly (20 s)
        try:
            ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=False, configure_logging=False)
            break
        except Exception:
            ray.shutdown()
            if attempt == 2:
                raise
    try:
        port = free_port()
        serve.start(http_options={"host": "127.0.0.1", "port": port})
        yield Cluster(f"http://127.0.0.1:{port}", port, ray.get_runtime_context().gcs_address)
    finally:
        try:
            serve.shutdown()
        finally:
            ray.shutdown()


def deployment_replicas(app_name: str) -> dict[str, int]:
    """Running replicas per deployment of one application, from Serve's status."""
    from ray import serve

    app = serve.status().applications.get(app_name)
    if app is None:
        return {}
    return {name: int(d.replica_states.get("RUNNING", 0)) for name, d in app.deployments.items()}


@dataclass
class ReplicaSampler:
    """Samples Serve's replica counts in a background thread (autoscaling as it happens)."""

    app_name: str
    period_s: float = 1.0
    samples: list[dict[str, Any]] = field(default_factory=list)
    marks: list[dict[str, Any]] = field(default_factory=list)  # phase boundaries, e.g. a concurrency level

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._t0 = time.perf_counter()

    def start(self) -> ReplicaSampler:
        self._thread.start()
        return self

    def now(self) -> float:
        """Seconds since the sampler was made: the clock of ``samples`` and ``marks``."""
        return round(time.perf_counter() - self._t0, 2)

    def mark(self, label: str) -> None:
        self.marks.append({"t": self.now(), "label": label})

    def latest(self, deployment: str) -> int | None:
        """The newest sampled count of running replicas of ``deployment`` (None before any sample)."""
        for sample in reversed(self.samples):
            if "error" not in sample["replicas"]:
                return sample["replicas"].get(deployment, 0)
        return None

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                replicas = deployment_replicas(self.app_name)
            except Exception as e:  # a status call that fails is a gap in the series, not a crash
                replicas = {"error": repr(e)[:200]}
            self.samples.append({"t": round(time.perf_counter() - self._t0, 2), "replicas": replicas})
            self._stop.wait(self.period_s)


def scale_events(samples: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each change of a deployment's running replicas in a sample series: when, which, from, to."""
    events, last = [], {}
    for sample in samples:
        replicas = sample["replicas"]
        if "error" in replicas:
            continue
        for name, n in replicas.items():
            if name in last and last[name] != n:
                events.append({"t": sample["t"], "deployment": name, "from": last[name], "to": n})
            last[name] = n
    return events


def deployment_of(title_rest: str, known: list[str]) -> str:
    """The deployment in what follows ``ray::ServeReplica:<app>:`` in a process title. While a replica runs
    a method Ray appends ``.<method>``; deployment names may hold dots too, so known names win."""
    rest = title_rest.split()[0] if title_rest.split() else title_rest
    matches = [name for name in known if rest == name or rest.startswith(name + ".")]
    return max(matches, key=len) if matches else rest


def replica_memory(app_name: str) -> list[dict[str, Any]]:
    """RSS and USS of this run's Serve replica processes of one app (children of this driver only, so other
    users' clusters on the machine are never counted). Ray titles them ``ray::ServeReplica:<app>:<name>``."""
    import psutil

    known = list(deployment_replicas(app_name))
    prefix = f"ray::ServeReplica:{app_name}:"
    serve_system = ("ray::ServeController", "ray::ProxyActor")
    out = []
    for proc in psutil.Process().children(recursive=True):
        try:
            title = " ".join(proc.cmdline()).strip()
            if title.startswith(prefix):
                name = deployment_of(title[len(prefix) :], known)
            elif title.split(".")[0] in serve_system:
                name = title.split(".")[0].removeprefix("ray::") + " (Serve)"
            else:
                continue
            mem = proc.memory_full_info()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        out.append(
            {
                "deployment": name,
                "pid": proc.pid,
                "rss_mb": round(mem.rss / 2**20, 1),
                "uss_mb": round(mem.uss / 2**20, 1),
            }
        )
    return sorted(out, key=lambda r: r["deployment"])
