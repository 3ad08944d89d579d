"""The app on the local multi-node cluster: serve_config.yaml with cluster/serve-overrides.yaml applied (the
same renderer as the KubeRay overlays), deployed the way `serve run serve_config.yaml` deploys, and where
each replica runs."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import yaml

from k8s.render_serve_config import APP, SERVE_CONFIG, merge, render

OVERRIDES = Path(__file__).with_name("serve-overrides.yaml")


def cluster_config(port: int, artifact_store: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """``extra``: more overrides in the same format (tests narrow the experts and point at their LLM)."""
    overrides = merge(yaml.safe_load(OVERRIDES.read_text()), extra or {})
    overrides = merge(overrides, {"args": {"artifact_store": artifact_store}})
    config = render(yaml.safe_load(SERVE_CONFIG.read_text()), overrides)
    # Loopback, as serve_config.yaml has it (render() opens it for pods). One proxy, on the head: every
    # raylet here shares this machine's address, so a proxy per node would contend for one port.
    config["http_options"] = {**config["http_options"], "host": "127.0.0.1", "port": port}
    config["proxy_location"] = "HeadOnly"
    return config


def deploy(config: dict[str, Any]) -> None:
    """What `serve run <config>` does: start Serve with the config's HTTP options, submit the apps."""
    from ray.serve._private.api import serve_start
    from ray.serve.schema import ServeDeploySchema

    schema = ServeDeploySchema.model_validate(config)
    client = serve_start(http_options=schema.http_options.model_dump(), proxy_location=schema.proxy_location)
    client.deploy_apps(schema, _blocking=False)


def wait_ready(url: str, timeout_s: float, alive: Callable[[], bool] = lambda: True) -> float:
    """Seconds until the app is RUNNING and /readyz answers 200; raises past ``timeout_s``."""
    from ray import serve

    start = time.monotonic()
    while time.monotonic() - start < timeout_s:
        app = serve.status().applications.get(APP)
        status = str(getattr(app.status, "value", app.status)) if app else None
        if status == "DEPLOY_FAILED":
            raise RuntimeError(f"{APP} failed to deploy: {app.message[:1000]}")
        if status == "RUNNING":
            try:
                if httpx.get(url + "/readyz", timeout=10).status_code == 200:
                    return time.monotonic() - start
            except httpx.HTTPError:
                pass
        if not alive():
            raise RuntimeError("the cluster stopped while the app was starting")
        time.sleep(1)
    raise TimeoutError(f"{APP} was not ready within {timeout_s:.0f} s")


def placement(name_of: Callable[[str], str]) -> dict[str, list[dict[str, str]]]:
    """deployment -> its replicas, each with the node it runs on (by name) and its state."""
    from ray.serve.context import _get_global_client

    app = _get_global_client().get_serve_details().get("applications", {}).get(APP, {})
    return {
        name: [
            {
                "node": name_of(r["node_id"]) if r.get("node_id") else "unplaced",
                "state": str(getattr(r["state"], "value", r["state"])),
            }
            for r in d.get("replicas", [])
        ]
        for name, d in sorted(app.get("deployments", {}).items())
    }


def statuses() -> dict[str, str]:
    """deployment -> Serve's status (HEALTHY, UNHEALTHY, UPDATING, ...)."""
    from ray import serve

    app = serve.status().applications.get(APP)
    return {n: str(getattr(d.status, "value", d.status)) for n, d in (app.deployments if app else {}).items()}
