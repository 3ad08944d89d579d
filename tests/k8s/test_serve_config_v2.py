"""serveConfigV2 is serve_config.yaml with the cluster's deltas: valid for Ray, for the app, and not stale."""

import copy

import pytest
import yaml
from ray.serve.schema import ServeDeploySchema

from deployments.invoker import INGRESS_DEPLOYMENT, POOL_DEPLOYMENT, deployment_name
from deployments.settings import AppArgs
from experts.catalog import catalog_for_profile
from k8s import render_serve_config as rsc
from tests.k8s.conftest import KUSTOMIZATIONS, pod_templates, serve_config


@pytest.mark.parametrize("name", KUSTOMIZATIONS)
def test_validates_under_rays_serve_deploy_schema(rendered, name):
    schema = ServeDeploySchema.model_validate(serve_config(rendered[name]))
    assert "hugginggpt" in {app.name for app in schema.applications}


@pytest.mark.parametrize("name", KUSTOMIZATIONS)
def test_app_args_and_deployments_match_what_build_app_makes(rendered, name):
    (app,) = [a for a in serve_config(rendered[name])["applications"] if a["name"] == "hugginggpt"]
    args = AppArgs.model_validate(app["args"])
    catalog = catalog_for_profile(args.profile)
    models = args.experts.models or [m.id for m in catalog.default_models()]
    built = {INGRESS_DEPLOYMENT, POOL_DEPLOYMENT} | {deployment_name(m) for m in models}
    assert {d["name"] for d in app["deployments"]} == built


@pytest.mark.parametrize("name", KUSTOMIZATIONS)
def test_artifacts_live_on_the_volume_every_worker_mounts(rendered, name):
    docs = rendered[name]
    (app,) = [a for a in serve_config(docs)["applications"] if a["name"] == "hugginggpt"]
    store = app["args"]["artifact_store"]
    rayservice = next(d for d in docs if d["kind"] == "RayService")
    for group, template in pod_templates(rayservice).items():
        if group == "head":
            continue  # runs no replica
        mounts = {
            m["mountPath"]: m["name"] for c in template["spec"]["containers"] for m in c["volumeMounts"]
        }
        volume = {v["name"]: v for v in template["spec"]["volumes"]}[mounts[store]]
        assert volume["persistentVolumeClaim"]["claimName"] == "hugginggpt-artifacts", group


@pytest.mark.parametrize("name", KUSTOMIZATIONS)
def test_every_replica_asks_for_a_cpu_or_a_gpu(rendered, name):
    """The head has num-cpus 0 only so that replicas avoid it, and the autoscaler only sees asks."""
    (app,) = [a for a in serve_config(rendered[name])["applications"] if a["name"] == "hugginggpt"]
    for deployment in app["deployments"]:
        actor = deployment["ray_actor_options"]
        assert actor.get("num_cpus", 0) > 0 or actor.get("num_gpus", 0) > 0, deployment["name"]


def test_gpu_overlay_packs_fractional_experts_and_serves_its_llm(rendered):
    config = serve_config(rendered["overlays/gpu"])
    apps = {a["name"]: a for a in config["applications"]}
    app = apps["hugginggpt"]
    assert app["args"]["profile"] in ("lite", "full")
    fractions = [
        d["ray_actor_options"]["num_gpus"]
        for d in app["deployments"]
        if d["name"].startswith("expert:") and 0 < d["ray_actor_options"].get("num_gpus", 0) < 1
    ]
    assert len(fractions) >= 2 and sorted(fractions)[0] + sorted(fractions)[1] <= 1  # two share a GPU
    llm = apps["llm"]
    assert llm["import_path"] == "ray.serve.llm:build_openai_app"
    served = {c["model_loading_config"]["model_id"] for c in llm["args"]["llm_configs"]}
    assert app["args"]["llm"]["model"] in served
    assert app["args"]["llm"]["base_url"].endswith(llm["route_prefix"] + "/v1")


def test_dev_overlay_runs_the_offline_profile_without_gpus(rendered):
    (app,) = serve_config(rendered["overlays/dev"])["applications"]
    assert app["args"]["profile"] == "offline"
    assert all(d["ray_actor_options"].get("num_gpus", 0) == 0 for d in app["deployments"])


@pytest.mark.parametrize("folder", rsc.targets(), ids=lambda p: str(p.relative_to(rsc.K8S)))
def test_generated_patches_match_serve_config(folder):
    """Drift: the committed patch must be exactly what `make k8s` writes from serve_config.yaml now."""
    committed = (folder / rsc.GENERATED).read_text()
    assert committed == rsc.expected(folder), f"{folder / rsc.GENERATED} is stale: run `make k8s`"


def test_every_kustomization_with_overrides_uses_its_generated_patch():
    for folder in rsc.targets():
        kustomization = yaml.safe_load((folder / "kustomization.yaml").read_text())
        assert {"path": rsc.GENERATED} in kustomization["patches"], folder


def test_a_serve_config_edit_reaches_the_rendered_config():
    """What the drift test guards: an edit of serve_config.yaml changes every generated serveConfigV2."""
    source = yaml.safe_load(rsc.SERVE_CONFIG.read_text())
    edited = copy.deepcopy(source)
    edited["applications"][0]["args"]["controller"]["max_tasks"] = 7
    for folder in rsc.targets():
        overrides = yaml.safe_load((folder / rsc.OVERRIDES).read_text())
        before, after = rsc.render(source, overrides), rsc.render(edited, overrides)
        assert after["applications"][0]["args"]["controller"]["max_tasks"] == 7
        assert before != after


def test_merge_semantics():
    base = {"a": {"b": 1, "c": 2}, "d": [1, 2]}
    assert rsc.merge(base, {"a": {"b": 3}, "d": [3]}) == {"a": {"b": 3, "c": 2}, "d": [3]}
    assert rsc.merge(base, {"a": {"c": None}}) == {"a": {"b": 1}, "d": [1, 2]}
    assert base == {"a": {"b": 1, "c": 2}, "d": [1, 2]}  # inputs untouched


def test_check_mode_reports_a_stale_patch(tmp_path, monkeypatch):
    folder = tmp_path / "k8s" / "overlays" / "x"
    folder.mkdir(parents=True)
    (folder / rsc.OVERRIDES).write_text("args: {artifact_store: /mnt/artifacts}\n")
    monkeypatch.setattr(rsc, "ROOT", tmp_path)
    monkeypatch.setattr(rsc, "K8S", tmp_path / "k8s")
    assert rsc.main(["--check"]) == 1  # missing
    assert rsc.main([]) == 0 and (folder / rsc.GENERATED).exists()
    assert rsc.main(["--check"]) == 0
    (folder / rsc.GENERATED).write_text("stale\n")
    assert rsc.main(["--check"]) == 1
