"""serve_config.yaml is the one source of truth: it must validate, match what build_app makes, and run."""

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml
from ray.serve.schema import ServeDeploySchema

from deployments.invoker import INGRESS_DEPLOYMENT, POOL_DEPLOYMENT, deployment_name
from deployments.settings import AppArgs
from experts.catalog import load_catalog

CONFIG = Path(__file__).resolve().parents[2] / "serve_config.yaml"


def load() -> dict:
    return yaml.safe_load(CONFIG.read_text())


def test_validates_under_rays_own_schema():
    schema = ServeDeploySchema.model_validate(load())
    app = schema.applications[0]
    assert app.import_path == "deployments.app:build_app" and app.route_prefix == "/"


def test_args_are_valid_app_args_and_name_runnable_catalog_models():
    args = AppArgs.model_validate(load()["applications"][0]["args"])
    catalog = load_catalog(args.profile)
    for model in args.experts.models or []:
        spec = catalog.get(model)
        assert spec is not None and spec.runnable, model


def test_every_deployment_entry_names_a_deployment_the_app_builds():
    app = load()["applications"][0]
    args = AppArgs.model_validate(app["args"])
    built = {INGRESS_DEPLOYMENT, POOL_DEPLOYMENT} | {deployment_name(m) for m in args.experts.models or []}
    configured = {d["name"] for d in app["deployments"]}
    assert configured == built  # a typo would silently leave a deployment on defaults


@pytest.mark.replaces_app
def test_serve_run_reaches_running(ray_app, tmp_path):
    """`serve run serve_config.yaml` against the session's cluster; it replaces the test app, so it runs last."""
    import ray
    from ray import serve

    config = load()
    config["applications"][0]["args"]["artifact_store"] = str(tmp_path / "artifacts")
    path = tmp_path / "serve_config.yaml"
    path.write_text(yaml.safe_dump(config))
    serve_bin = str(Path(sys.executable).with_name("serve"))
    address = ray.get_runtime_context().gcs_address
    env = {**os.environ, "RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "HUGGINGGPT_LLM_BASE_URL", "HUGGINGGPT_LLM_API_KEY"):
        env.pop(name, None)  # this test checks the no-LLM default: the embedded LLM
    proc = subprocess.Popen(
        [serve_bin, "run", "--address", address, str(path)],
        env=env,
        cwd=CONFIG.parent,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    configured = {d["name"] for d in config["applications"][0]["deployments"]}
    start = time.perf_counter()
    try:
        status = None
        while time.perf_counter() - start < 240:
            app = serve.status().applications.get("hugginggpt")
            status = app.status if app else None
            # Every configured deployment is up (the embedded LLM comes on top: no LLM is configured).
            if status == "RUNNING" and configured <= set(app.deployments):
                break
            assert proc.poll() is None, "serve run exited early"
            time.sleep(1)
        print(f"\nserve run serve_config.yaml -> RUNNING in {time.perf_counter() - start:.1f} s")
        assert status == "RUNNING"
        ready = httpx.get(ray_app.url + "/readyz", timeout=10).json()
        assert ready["experts"]["offline/tiny-stable-diffusion"] == "HEALTHY"
        # No LLM in the environment: the config deployed the embedded one, reached through its handle.
        assert "embedded" in ready["llm"]
        plan = httpx.post(
            ray_app.url + "/tasks",
            timeout=600,
            json={"messages": [{"role": "user", "content": "Draw a picture of a lighthouse."}]},
        )
        # Exact, not all(...) over a list that may be empty: an empty plan is a failure here.
        assert plan.status_code == 200 and [t["task"] for t in plan.json()] == ["text-to-image"]
        # The autoscaling values Serve applies are the file's, deployment by deployment (the schema
        # tests above only show that the file parses).
        from ray.serve.context import _get_global_client

        details = _get_global_client().get_serve_details()["applications"]["hugginggpt"]["deployments"]
        for wanted in config["applications"][0]["deployments"]:
            applied = details[wanted["name"]]["deployment_config"]
            for key, value in wanted.get("autoscaling_config", {}).items():
                assert applied["autoscaling_config"][key] == value, (wanted["name"], key)
            if "max_ongoing_requests" in wanted:
                assert applied["max_ongoing_requests"] == wanted["max_ongoing_requests"], wanted["name"]
            if "user_config" in wanted:
                assert applied["user_config"] == wanted["user_config"], wanted["name"]
    finally:
        proc.terminate()
        proc.wait(timeout=60)
