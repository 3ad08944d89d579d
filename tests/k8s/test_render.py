"""Every kustomization renders, and what it renders parses into well-formed, uniquely named objects."""

import pytest

from tests.k8s.conftest import KUSTOMIZATIONS, only, pod_templates


@pytest.mark.parametrize("name", KUSTOMIZATIONS)
def test_renders_well_formed_objects(rendered, name):
    docs = rendered[name]
    seen = set()
    for doc in docs:
        assert isinstance(doc, dict) and doc.get("apiVersion") and doc.get("kind"), doc
        key = (doc["kind"], doc["metadata"]["name"])
        assert key not in seen, f"{key} rendered twice"
        seen.add(key)
    kinds = sorted(k for k, _ in seen)
    assert kinds == sorted(
        [
            "ConfigMap",
            "ConfigMap",
            "Ingress",
            *["NetworkPolicy"] * 6,
            "PersistentVolumeClaim",
            "PodMonitor",
            "PodMonitor",
            "RayService",
        ]
    )


@pytest.mark.parametrize("name", ["overlays/dev", "overlays/gpu"])
def test_overlays_pick_a_namespace_for_everything(rendered, name):
    namespaces = {doc["metadata"].get("namespace") for doc in rendered[name]}
    assert len(namespaces) == 1 and None not in namespaces


@pytest.mark.parametrize("name", KUSTOMIZATIONS)
def test_every_ray_container_has_the_tagged_image_and_the_env_configmap(rendered, name):
    """A merge patch on a custom resource replaces lists whole: a container left without its image is
    the sign of one, and a ConfigMap reference without the generated hash suffix would point nowhere."""
    docs = rendered[name]
    configmaps = {d["metadata"]["name"] for d in docs if d["kind"] == "ConfigMap"}
    for group, template in pod_templates(only(docs, "RayService")).items():
        for container in template["spec"]["containers"]:
            image = container.get("image", "")
            assert image.startswith("hugginggpt-serve") and ":" in image, (group, image)
            refs = [e["configMapRef"]["name"] for e in container.get("envFrom", [])]
            assert refs and set(refs) <= configmaps, (group, refs, configmaps)
