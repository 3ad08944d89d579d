"""The applications the benchmarks deploy: synthetic experts behind the real Ingress, the offline
profile exactly as serve_config.yaml deploys it, and one real expert alone."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import yaml
from ray import serve
from ray.serve import Application

from bench.synthetic import SyntheticDeployment
from deployments.expert import ExpertDeployment
from deployments.ingress import Ingress
from deployments.invoker import deployment_name
from deployments.settings import decide
from experts.catalog import Catalog, load_catalog

SERVE_CONFIG = Path(__file__).resolve().parents[1] / "serve_config.yaml"
APP = "hugginggpt"


def llm_args(base_url: str) -> dict[str, Any]:
    return {"base_url": base_url, "model": "scripted", "timeout_s": 60, "max_retries": 0}


def one_model_per_task(catalog: Catalog) -> dict[str, str]:
    """task type -> the model id the synthetic deployment stands in for (the first runnable in the catalog)."""
    chosen: dict[str, str] = {}
    for m in catalog:
        if m.runnable:
            chosen.setdefault(m.task, m.id)
    return chosen


def synthetic_app(
    llm_base_url: str, artifact_store: str, latency_s: float, controller: dict[str, Any]
) -> Application:
    """Every task type of the offline catalog served by a synthetic expert named like the real one, and no
    pool: each task has exactly one live model, so selection needs no LLM call."""
    args = {
        "profile": "offline",
        "llm": llm_args(llm_base_url),
        "artifact_store": artifact_store,
        "controller": controller,
    }
    decided = decide(args)
    models = one_model_per_task(decided.catalog)
    experts = {
        model_id: SyntheticDeployment.options(name=deployment_name(model_id)).bind(task, latency_s)
        for task, model_id in models.items()
    }
    return Ingress.bind(decided, experts, None, None)


def offline_config(llm_base_url: str, artifact_store: str, port: int) -> dict[str, Any]:
    """serve_config.yaml with the benchmark's LLM and store, and HTTP on loopback only."""
    config = yaml.safe_load(SERVE_CONFIG.read_text())
    config["http_options"] = {**config.get("http_options", {}), "host": "127.0.0.1", "port": port}
    app = config["applications"][0]
    app["args"]["llm"] = llm_args(llm_base_url)
    app["args"]["artifact_store"] = artifact_store
    return config


def single_expert_app(model_id: str, artifact_store: str, user_config: dict[str, Any]) -> Application:
    """One real expert, one replica, admitting enough concurrent calls for @serve.batch to fill batches."""
    spec = load_catalog("offline").get(model_id)
    if spec is None:
        raise ValueError(f"{model_id} is not in the offline catalog")
    return ExpertDeployment.options(
        name=deployment_name(model_id),
        num_replicas=1,
        max_ongoing_requests=64,
        user_config=user_config,
        ray_actor_options={"num_cpus": 0},
    ).bind(artifact_store, "cpu", model=spec.model_dump(mode="json"))


def wait_running(app_name: str, expected: int, timeout_s: float) -> float:
    """Seconds until the app is RUNNING with ``expected`` deployments; raises on timeout or failure."""
    start = time.perf_counter()
    while time.perf_counter() - start < timeout_s:
        app = serve.status().applications.get(app_name)
        status = str(getattr(app.status, "value", app.status)) if app else None
        if status == "RUNNING" and len(app.deployments) >= expected:
            return time.perf_counter() - start
        if status == "DEPLOY_FAILED":
            raise RuntimeError(f"{app_name} failed to deploy: {app.message[:500]}")
        time.sleep(0.25)
    raise TimeoutError(f"{app_name} did not reach RUNNING in {timeout_s:.0f} s")
