"""A new user_config reaches a running expert replica in place, as `serve deploy serve_config.yaml` (or a
RayService update) applies it: same replica, no restart, new batch size. serve.run from Python gives each
deploy a fresh code version and so always restarts replicas; only a config deploy shows the live path."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from ray import serve
from ray.serve.schema import ServeDeploySchema

from deployments.invoker import deployment_name

APP = "reconfig"
MODEL = "offline/tiny-bert-sentiment"  # batches, and runs in milliseconds
TASK = "text-classification"


def config(ray_app, user_config: dict[str, Any]) -> ServeDeploySchema:
    """The product's own app (one expert, no pool) beside the session's, as a declarative config."""
    args = {
        "profile": "offline",
        "llm": ray_app.args["llm"],
        "artifact_store": ray_app.args["artifact_store"],
        "experts": {"models": [MODEL], "pool": False},
    }
    return ServeDeploySchema.model_validate(
        {
            "applications": [
                {
                    "name": APP,
                    "route_prefix": f"/{APP}",
                    "import_path": "deployments.app:build_app",
                    "args": args,
                    "deployments": [{"name": deployment_name(MODEL), "user_config": user_config}],
                }
            ]
        }
    )


def apply(ray_app, user_config: dict[str, Any]) -> None:
    # What the dashboard's PUT /api/serve/applications/ (the `serve deploy` CLI, KubeRay) calls on the
    # controller; the session cluster runs without a dashboard, so the test calls it directly.
    serve.context._get_global_client().deploy_apps(config(ray_app, user_config))


def wait_running(max_batch_size: int, deadline_s: float = 240) -> tuple[Any, dict[str, Any]]:
    """Poll until the app is RUNNING and its expert replica reports the wanted batch size."""
    start = time.monotonic()
    stats: dict[str, Any] = {}
    while time.monotonic() - start < deadline_s:
        app = serve.status().applications.get(APP)
        if app is not None and app.status == "RUNNING":
            expert = serve.get_deployment_handle(deployment_name(MODEL), app_name=APP)
            stats = expert.stats.remote().result(timeout_s=30)
            if stats.get("max_batch_size") == max_batch_size:
                return expert, stats
        time.sleep(0.5)
    raise AssertionError(f"{APP} never reached max_batch_size {max_batch_size}: {stats}")


def four_at_once(expert) -> None:
    with ThreadPoolExecutor(4) as pool:
        calls = [
            pool.submit(lambda i=i: expert.remote(TASK, {"text": f"text {i}"}).result(timeout_s=60))
            for i in range(4)
        ]
        assert all(call.result()["labels"] for call in calls)


@pytest.fixture
def reconfig_app(ray_app):
    yield
    serve.delete(APP)


def test_a_config_deploy_changes_the_batch_size_of_the_running_replica(ray_app, reconfig_app):
    """Catches reconfigure() not reaching @serve.batch (four inputs still one call) and anything that makes
    a user_config change restart the replica (its counters would start again from zero)."""
    apply(ray_app, {"batching": True, "max_batch_size": 4, "batch_wait_timeout_s": 1.0})
    expert, _ = wait_running(4)
    four_at_once(expert)
    first = expert.stats.remote().result(timeout_s=30)
    assert first["model_calls"] == 1 and first["inputs"] == 4, first

    apply(ray_app, {"batching": True, "max_batch_size": 2, "batch_wait_timeout_s": 1.0})
    _, live = wait_running(2)
    assert live["inputs"] == 4, f"the replica restarted: {live}"  # same replica, counters kept
    four_at_once(expert)
    after = expert.stats.remote().result(timeout_s=30)
    assert after["inputs"] == 8 and after["model_calls"] == 3, after  # 1 call of 4, then 2 calls of 2
