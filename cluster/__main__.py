"""`make cluster`: a local multi-node Ray cluster (a head standing for a CPU node, a worker standing for a GPU
node) with the app deployed on it, experts placed by cluster/serve-overrides.yaml. It serves until Ctrl-C.

    python -m cluster                          # API on :8000, Ray dashboard on :8265
    python -m cluster --dashboard-port 0       # no dashboard

While it runs, type a command (each answer is one JSON line on stdout):
    status        nodes, and where each replica runs
    remove gpu    kill every process of the GPU node (a lost machine)
    add gpu       start a new GPU node; Serve places the pending experts on it
    quit
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]


def _env() -> None:
    """What every process of the cluster inherits: this checkout importable, no telemetry, no token auth,
    and serve_config.yaml's Serve settings (the proxies' transport)."""
    from deployments.ray_env import export_ray_env

    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    export_ray_env(yaml.safe_load((REPO / "serve_config.yaml").read_text()))
    path = os.environ.get("PYTHONPATH", "")
    if str(REPO) not in path.split(os.pathsep):
        os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), path) if p)


def say(event: str, **fields: Any) -> None:
    print(json.dumps({"event": event, **fields}), flush=True)


def note(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m cluster", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--port", type=int, default=8000, help="the API's port on loopback")
    parser.add_argument("--dashboard-port", type=int, default=8265, help="the Ray dashboard's; 0: none")
    parser.add_argument("--artifact-store", default="var/artifacts", help="the store every node shares")
    parser.add_argument("--overrides", type=Path, help="more overrides, as in cluster/serve-overrides.yaml")
    parser.add_argument("--ready-timeout", type=float, default=600, help="seconds to wait for /readyz")
    parser.add_argument(
        "--control", action="store_true", help="driven by a program: stdin closing stops the cluster"
    )
    opts = parser.parse_args(argv)
    _env()
    # SIGTERM ends the cluster like Ctrl-C: every raylet and replica process is stopped on the way out.
    signal.signal(signal.SIGTERM, _interrupt)

    from cluster.app import cluster_config, deploy, placement, statuses, wait_ready
    from cluster.local import LocalCluster

    store = opts.artifact_store if "://" in opts.artifact_store else str(Path(opts.artifact_store).resolve())
    extra = yaml.safe_load(opts.overrides.read_text()) if opts.overrides else None
    config = cluster_config(opts.port, store, extra)
    url = f"http://127.0.0.1:{opts.port}"
    t0 = time.monotonic()
    cluster = LocalCluster(dashboard_port=opts.dashboard_port or None)
    try:
        cluster.start()
        note(f"cluster up in {time.monotonic() - t0:.0f} s: {', '.join(n.name for n in cluster.nodes)}")
        deploy(config)
        ready_s = wait_ready(url, opts.ready_timeout)
        say(
            "ready",
            url=url,
            dashboard=cluster.dashboard_url,
            address=cluster.address,
            seconds=round(time.monotonic() - t0, 1),
            app_ready_s=round(ready_s, 1),
            nodes=cluster.describe(),
            placement=placement(cluster.name_of),
        )
        note(
            f"HuggingGPT at {url}   Ray dashboard: {cluster.dashboard_url or 'off'}   "
            f"`serve status --address {cluster.address}` from another shell.\n"
            "Commands: status | remove gpu | add gpu | quit   (Ctrl-C stops everything)"
        )
        _serve_commands(cluster, opts.control, placement, statuses)
    except KeyboardInterrupt:
        note("stopping the cluster")
    finally:
        _stop(cluster)
    return 0


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _serve_commands(cluster, control: bool, placement, statuses) -> None:
    while True:
        line = sys.stdin.readline()
        if not line:  # stdin closed: a driving program has gone; a person's shell may just be detached
            if control:
                return
            signal.pause()
            continue
        words = line.split()
        if not words:
            continue
        try:
            if words[0] in ("quit", "exit"):
                return
            if words[0] == "status":
                pass
            elif words[0] == "remove" and len(words) == 2:
                say("removed", node=cluster.remove(words[1]).name)
            elif words[0] == "add" and len(words) == 2:
                say("added", node=cluster.add(words[1]).name)
            else:
                say(
                    "error",
                    message=f"unknown command {line.strip()!r}; try status, remove gpu, add gpu, quit",
                )
                continue
            say(
                "status",
                nodes=cluster.describe(),
                deployments=statuses(),
                placement=placement(cluster.name_of),
            )
        except Exception as e:  # a failed command is reported; the cluster goes on
            say("error", message=f"{type(e).__name__}: {e}")


def _stop(cluster) -> None:
    try:
        from ray import serve

        serve.shutdown()
    except Exception:
        pass
    try:
        cluster.shutdown()
    except Exception as e:
        note(f"shutdown: {type(e).__name__}: {e}")


if __name__ == "__main__":
    sys.exit(main())
