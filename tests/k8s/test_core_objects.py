"""Kubernetes' own objects validate against Kubernetes' schemas (kubernetes-validate ships them)."""

import kubernetes_validate
import pytest
import yaml

from tests.k8s.conftest import K8S, KUSTOMIZATIONS

K8S_VERSION = "1.33"
CORE_KINDS = {"ConfigMap", "PersistentVolumeClaim", "Ingress", "Service", "NetworkPolicy"}


@pytest.mark.parametrize("name", KUSTOMIZATIONS)
def test_core_objects_validate_strictly(rendered, name):
    core = [d for d in rendered[name] if d["kind"] in CORE_KINDS]
    assert {d["kind"] for d in core} == {"ConfigMap", "PersistentVolumeClaim", "Ingress", "NetworkPolicy"}
    for doc in core:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


@pytest.mark.parametrize("name", KUSTOMIZATIONS)
def test_ingress_routes_to_the_serve_service_kuberay_creates(rendered, name):
    docs = rendered[name]
    (ingress,) = [d for d in docs if d["kind"] == "Ingress"]
    (rayservice,) = [d for d in docs if d["kind"] == "RayService"]
    http = yaml.safe_load(rayservice["spec"]["serveConfigV2"])["http_options"]
    for path in ingress["spec"]["rules"][0]["http"]["paths"]:
        backend = path["backend"]["service"]
        assert backend["name"] == f"{rayservice['metadata']['name']}-serve-svc"
        assert backend["port"]["number"] == http["port"]


def test_grafana_dashboard_ships_in_a_labelled_configmap(rendered):
    (configmap,) = [
        d
        for d in rendered["base"]
        if d["kind"] == "ConfigMap" and "grafana_dashboard" in d["metadata"].get("labels", {})
    ]
    (text,) = configmap["data"].values()
    assert text == (K8S / "base" / "monitoring" / "hugginggpt-dashboard.json").read_text()
