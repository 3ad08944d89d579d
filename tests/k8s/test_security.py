"""The cluster's locks, read off the rendered manifests: NetworkPolicies, pod and container security
contexts, service-account tokens, where each secret is mounted, and TLS on the Ingress."""

from __future__ import annotations

import pytest
import yaml

from deployments.http.security import KEYS_FILE_ENV
from tests.k8s.conftest import KUSTOMIZATIONS, only, pod_templates

APP = {"app.kubernetes.io/name": "hugginggpt"}


def policies(docs: list[dict]) -> list[dict]:
    return [d for d in docs if d["kind"] == "NetworkPolicy"]


def ingress_rules(docs: list[dict]) -> list[tuple[dict, list[dict]]]:
    """(peer, ports) for every ingress rule of every policy that selects the Ray pods."""
    return [
        (peer, rule.get("ports", []))
        for p in policies(docs)
        if p["spec"]["podSelector"].get("matchLabels") == APP
        for rule in p["spec"].get("ingress", [])
        for peer in rule.get("from", [])
    ]


@pytest.mark.parametrize("name", KUSTOMIZATIONS)
def test_everything_is_denied_then_opened_narrowly(rendered, name):
    docs = rendered[name]
    deny = [p for p in policies(docs) if "ingress" not in p["spec"] and "egress" not in p["spec"]]
    assert deny and set(deny[0]["spec"]["policyTypes"]) == {"Ingress", "Egress"}
    assert deny[0]["spec"]["podSelector"]["matchLabels"] == APP
    # Ray pods carry the label the policies select (KubeRay copies template labels onto pods).
    for template in pod_templates(only(docs, "RayService")).values():
        assert template["metadata"]["labels"]["app.kubernetes.io/name"] == "hugginggpt"
    for peer, ports in ingress_rules(docs):
        numbers = {p["port"] for p in ports}
        if peer.get("podSelector", {}).get("matchLabels") == APP and "namespaceSelector" not in peer:
            continue  # the Ray pods among themselves
        assert "ipBlock" not in peer, "no address range may reach the pods"
        if 8000 in numbers:  # the API: the ingress controller alone
            assert peer["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "ingress-nginx"}
            assert numbers == {8000}
        if 8265 in numbers:  # the dashboard: the KubeRay operator alone
            assert peer["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "kuberay-operator"}
        assert numbers, f"a rule without ports opens everything: {peer}"


@pytest.mark.parametrize("name", KUSTOMIZATIONS)
def test_egress_never_reaches_cloud_metadata_or_private_ranges(rendered, name):
    blocks = [
        peer["ipBlock"]
        for p in policies(rendered[name])
        for rule in p["spec"].get("egress", [])
        for peer in rule.get("to", [])
        if "ipBlock" in peer
    ]
    v4 = next(b for b in blocks if b["cidr"] == "0.0.0.0/0")
    assert {"169.254.0.0/16", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"} <= set(v4["except"])
    v6 = next(b for b in blocks if b["cidr"] == "::/0")
    assert {"fc00::/7", "fe80::/10"} <= set(v6["except"])


@pytest.mark.parametrize("name", KUSTOMIZATIONS)
def test_pods_run_unprivileged_without_service_account_tokens(rendered, name):
    rayservice = only(rendered[name], "RayService")
    for group, template in pod_templates(rayservice).items():
        spec = template["spec"]
        assert spec["automountServiceAccountToken"] is False, group
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        for container in spec["containers"]:
            sc = container["securityContext"]
            assert sc["allowPrivilegeEscalation"] is False and sc["capabilities"]["drop"] == ["ALL"]
            assert sc["readOnlyRootFilesystem"] is True
            mounts = {m["mountPath"] for m in container["volumeMounts"]}
            assert "/tmp" in mounts, f"{group}: Ray and the caches need a writable /tmp"
    # The autoscaler alone talks to the Kubernetes API: the token is mounted into it, nowhere else.
    autoscaler = rayservice["spec"]["rayClusterConfig"]["autoscalerOptions"]
    assert any(m["mountPath"].endswith("serviceaccount") for m in autoscaler["volumeMounts"])
    assert autoscaler["securityContext"]["allowPrivilegeEscalation"] is False


@pytest.mark.parametrize("name", KUSTOMIZATIONS)
def test_each_secret_only_where_it_is_needed(rendered, name):
    templates = pod_templates(only(rendered[name], "RayService"))

    def env_names(group: str) -> set[str]:
        return {e["name"] for c in templates[group]["spec"]["containers"] for e in c.get("env", [])}

    # The head builds the app: the API keys (a required Secret, as a file) and the LLM key live there.
    head = templates["head"]["spec"]
    assert {KEYS_FILE_ENV, "OPENAI_API_KEY"} <= env_names("head") and "HF_TOKEN" not in env_names("head")
    (keys,) = [v for v in head["volumes"] if v["name"] == "api-keys"]
    assert keys["secret"] == {"secretName": "hugginggpt-api-keys", "optional": False}
    # Workers run experts: the hub token, and nothing that opens the API or the LLM account.
    for group in (g for g in templates if g != "head"):
        assert env_names(group) == {"HF_TOKEN"}, group
        volumes = {v["name"] for v in templates[group]["spec"]["volumes"]}
        assert "api-keys" not in volumes


@pytest.mark.parametrize("name", KUSTOMIZATIONS)
def test_the_ingress_terminates_tls_and_routes_only_the_app(rendered, name):
    docs = rendered[name]
    ingress = only(docs, "Ingress")
    (tls,) = ingress["spec"]["tls"]
    (rule,) = ingress["spec"]["rules"]
    assert tls["secretName"] and rule["host"] in tls["hosts"]
    assert ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/force-ssl-redirect"] == "true"
    paths = {p["path"] for p in rule["http"]["paths"]}
    assert paths == {"/v1/", "/hugginggpt", "/tasks", "/results", "/healthz", "/readyz", "/ui/", "/"}
    catch_all = [p for p in rule["http"]["paths"] if p["path"] == "/"]
    assert catch_all[0]["pathType"] == "Exact", "a / prefix would expose every other Serve app"
    # Every other Serve application (the GPU overlay's LLM at /llm) has a route prefix none of these match.
    for app in yaml.safe_load(only(docs, "RayService")["spec"]["serveConfigV2"])["applications"]:
        if app["name"] != "hugginggpt":
            assert not any(app["route_prefix"].startswith(p) for p in paths - {"/"}), app["route_prefix"]
