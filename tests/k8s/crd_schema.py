"""The KubeRay CRD's openAPIV3Schema as a JSON Schema that rejects what the API server would reject.

A structural CRD schema is OpenAPI v3, not quite JSON Schema: `x-kubernetes-int-or-string` means "an
integer or a string" without a `type`, and an object without `x-kubernetes-preserve-unknown-fields` has
its unknown fields refused by `kubectl apply` (strict field validation) — JSON Schema would allow them.
CEL rules (`x-kubernetes-validations`) are left out: the API server alone can run them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


def to_json_schema(node: Any) -> Any:
    if isinstance(node, list):
        return [to_json_schema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: to_json_schema(v) for k, v in node.items() if not k.startswith("x-kubernetes-")}
    if node.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if node.get("nullable"):
        out.pop("nullable")
        if "type" in out:
            out["type"] = [out["type"], "null"]
    if (
        "properties" in node
        and "additionalProperties" not in node
        and not node.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    return out


def rayservice_schema(crd_path: Path, version: str = "v1") -> dict:
    crd = yaml.safe_load(crd_path.read_text())
    (served,) = [v for v in crd["spec"]["versions"] if v["name"] == version]
    schema = to_json_schema(served["schema"]["openAPIV3Schema"])
    # metadata is an opaque object in a CRD schema; the API server checks it as ObjectMeta.
    schema["properties"]["metadata"] = {"type": "object"}
    return schema
