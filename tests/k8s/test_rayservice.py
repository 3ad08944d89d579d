"""The rendered RayService against KubeRay v1.7's CRD, and its cluster shape against the design."""

import jsonschema
import kubernetes_validate
import pytest

from deployments.ray_env import ray_env
from tests.k8s.conftest import CRD, KUSTOMIZATIONS, only, pod_templates, serve_config
from tests.k8s.crd_schema import rayservice_schema

K8S_VERSION = "1.33"


@pytest.fixture(scope="module")
def crd_validator():
    if not CRD.exists():
        pytest.skip(f"KubeRay CRD not found at {CRD} (it lives in shared/, beside the repository)")
    schema = rayservice_schema(CRD)
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


@pytest.mark.parametrize("name", KUSTOMIZATIONS)
def test_rayservice_validates_against_the_crd(rendered, crd_validator, name):
    errors = [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in crd_validator.iter_errors(only(rendered[name], "RayService"))
    ]
    assert not errors, "\n".join(errors)


def test_the_crd_check_refuses_a_misspelt_field(crd_validator, rendered):
    """The strictness the test above relies on: an unknown field is an error, not silently dropped."""
    rayservice = only(rendered["base"], "RayService")
    broken = {**rayservice, "spec": {**rayservice["spec"], "upgradeStrategyy": {"type": "NewCluster"}}}
    assert not crd_validator.is_valid(broken)
    group = rayservice["spec"]["rayClusterConfig"]["workerGroupSpecs"][0]
    assert not crd_validator.is_valid(
        {**rayservice, "spec": {**rayservice["spec"], "rayClusterConfig": {"workerGroupSpecs": [group]}}}
    ), "headGroupSpec is required"


@pytest.mark.parametrize("name", KUSTOMIZATIONS)
def test_pod_templates_validate_as_kubernetes_pods(rendered, name):
    """The CRD embeds PodTemplateSpec loosely; Kubernetes' own schema checks every container field."""
    for group, template in pod_templates(only(rendered[name], "RayService")).items():
        pod_template = {"apiVersion": "v1", "kind": "PodTemplate", "metadata": {"name": group}}
        kubernetes_validate.validate({**pod_template, "template": template}, K8S_VERSION, strict=True)


@pytest.mark.parametrize("name", KUSTOMIZATIONS)
def test_cluster_shape(rendered, name):
    spec = only(rendered[name], "RayService")["spec"]
    cluster = spec["rayClusterConfig"]
    assert spec["upgradeStrategy"]["type"] == "NewCluster"
    assert cluster["enableInTreeAutoscaling"] is True
    assert cluster["headGroupSpec"]["rayStartParams"]["num-cpus"] == "0"
    groups = {g["groupName"]: g for g in cluster["workerGroupSpecs"]}
    assert groups["cpu-workers"]["minReplicas"] >= 1
    for group in groups.values():
        assert group["minReplicas"] <= group.get("replicas", 0) <= group["maxReplicas"]


@pytest.mark.parametrize("name", ["base", "overlays/gpu"])
def test_gpu_group_scales_from_zero_on_tainted_gpu_nodes(rendered, name):
    cluster = only(rendered[name], "RayService")["spec"]["rayClusterConfig"]
    (gpu,) = [g for g in cluster["workerGroupSpecs"] if g["groupName"] == "gpu-workers"]
    assert gpu["minReplicas"] == 0 and gpu["maxReplicas"] >= 1
    (container,) = gpu["template"]["spec"]["containers"]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in gpu["template"]["spec"][
        "tolerations"
    ]


def test_dev_asks_for_no_gpu_anywhere(rendered):
    assert "nvidia.com/gpu" not in str(rendered["overlays/dev"])


@pytest.mark.parametrize("name", KUSTOMIZATIONS)
def test_secrets_only_by_reference(rendered, name):
    docs = rendered[name]
    assert not [d for d in docs if d["kind"] == "Secret"]
    for group, template in pod_templates(only(docs, "RayService")).items():
        for container in template["spec"]["containers"]:
            for env in container.get("env", []):
                if env["name"].endswith("_FILE"):  # a path to a mounted Secret, not a secret
                    assert env["value"].startswith("/etc/hugginggpt/"), (group, env)
                elif any(word in env["name"] for word in ("KEY", "TOKEN", "SECRET", "PASSWORD")):
                    assert "value" not in env and env["valueFrom"]["secretKeyRef"]["name"], (group, env)
    for configmap in (d for d in docs if d["kind"] == "ConfigMap"):
        assert not [k for k in configmap.get("data", {}) if "KEY" in k or "TOKEN" in k], configmap


@pytest.mark.parametrize("name", KUSTOMIZATIONS)
def test_podmonitors_scrape_ports_the_pods_declare(rendered, name):
    docs = rendered[name]
    templates = pod_templates(only(docs, "RayService"))
    ports = {
        "head": {p["name"] for c in templates["head"]["spec"]["containers"] for p in c.get("ports", [])},
        "worker": set.intersection(
            *(
                {p["name"] for c in t["spec"]["containers"] for p in c.get("ports", [])}
                for group, t in templates.items()
                if group != "head"
            )
        ),
    }
    monitors = [d for d in docs if d["kind"] == "PodMonitor"]
    assert {m["spec"]["selector"]["matchLabels"]["ray.io/node-type"] for m in monitors} == {"head", "worker"}
    for monitor in monitors:
        labels = monitor["spec"]["selector"]["matchLabels"]
        node_type = labels["ray.io/node-type"]
        for group, template in templates.items():
            if (group == "head") == (node_type == "head"):
                assert (
                    labels["app.kubernetes.io/name"]
                    == template["metadata"]["labels"]["app.kubernetes.io/name"]
                )
        for endpoint in monitor["spec"]["podMetricsEndpoints"]:
            assert endpoint["port"] in ports[node_type], (monitor["metadata"]["name"], endpoint["port"])
            assert endpoint["relabelings"][0]["targetLabel"] == "ray_io_cluster"
    head_ports = {e["port"] for m in monitors for e in m["spec"]["podMetricsEndpoints"]}
    assert {"metrics", "as-metrics", "dash-metrics"} <= head_ports


@pytest.mark.parametrize("name", KUSTOMIZATIONS)
def test_every_ray_process_gets_the_serve_settings_the_replicas_get(rendered, name):
    """The proxies (one per node) run in the pods' environment, not the app's runtime_env: catches
    serve_config.yaml changing a Serve setting (e.g. the gRPC transport) that the pods never see."""
    docs = rendered[name]
    wanted = ray_env(serve_config(docs))
    assert wanted, "serve_config.yaml sets no runtime_env.env_vars"
    maps = {d["metadata"]["name"]: d.get("data", {}) for d in docs if d["kind"] == "ConfigMap"}
    for group, template in pod_templates(only(docs, "RayService")).items():
        for container in template["spec"]["containers"]:
            env = {}
            for ref in container.get("envFrom", []):
                env |= maps[ref["configMapRef"]["name"]]
            env |= {e["name"]: e["value"] for e in container.get("env", []) if "value" in e}
            assert {k: env.get(k) for k in wanted} == wanted, (group, container["name"])
