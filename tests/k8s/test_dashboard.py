"""The Grafana dashboard charts exactly the metrics deployments/metrics.py defines, by their exported names."""

import json
import re

from ray.serve import metrics

from deployments.metrics import METRICS
from tests.k8s.conftest import K8S

DASHBOARD = K8S / "base" / "monitoring" / "hugginggpt-dashboard.json"
# Ray exports a ray.serve.metrics metric `x` as `ray_x`: counters as ray_x_total, histograms as
# ray_x_bucket / _sum / _count.
SUFFIXES = {
    metrics.Counter: ("_total",),
    metrics.Histogram: ("_bucket", "_sum", "_count"),
    metrics.Gauge: ("",),
}


def defined_metrics() -> dict[str, type]:
    return {name: metric.kind for name, metric in METRICS.items()}


def dashboard_exprs() -> list[str]:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    return [t["expr"] for p in panels for t in p.get("targets", [])]


def test_every_charted_app_metric_exists_with_its_exported_suffix():
    defined = defined_metrics()
    assert len(defined) >= 10
    for expr in dashboard_exprs():
        for exported in re.findall(r"\bray_(hugginggpt_\w+)", expr):
            base = next((n for n in defined if exported.startswith(n)), None)
            assert base is not None, f"{exported} is not defined in deployments/metrics.py"
            assert exported.removeprefix(base) in SUFFIXES[defined[base]], (exported, defined[base])


def test_every_app_metric_is_charted():
    charted = " ".join(dashboard_exprs())
    missing = [name for name in defined_metrics() if f"ray_{name}" not in charted]
    assert not missing


def test_the_issue_panels_are_there():
    titles = " ".join(p["title"].lower() for p in json.loads(DASHBOARD.read_text())["panels"])
    for needed in ("requests", "stage", "tasks", "expert", "replicas", "tokens"):
        assert needed in titles, needed


def test_panels_use_the_datasource_variable_and_do_not_overlap():
    dashboard = json.loads(DASHBOARD.read_text())
    assert {v["name"] for v in dashboard["templating"]["list"]} >= {"datasource", "cluster"}
    cells = set()
    for panel in dashboard["panels"]:
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        g = panel["gridPos"]
        for x in range(g["x"], g["x"] + g["w"]):
            for y in range(g["y"], g["y"] + g["h"]):
                assert (x, y) not in cells, f"{panel['title']} overlaps another panel"
                cells.add((x, y))


def test_replicas_per_deployment_are_charted_running_and_targeted_with_names_ray_exports():
    """Autoscaling you can see: each deployment's running replicas beside the count the autoscaler wants.
    The two gauges are Ray Serve's own; their names are checked against Ray's source, not assumed."""
    from pathlib import Path

    import ray.serve

    (panel,) = [p for p in json.loads(DASHBOARD.read_text())["panels"] if "replicas" in p["title"].lower()]
    exprs = [t["expr"] for t in panel["targets"]]
    serve_source = " ".join(
        p.read_text() for p in (Path(ray.serve.__file__).parent / "_private").glob("*.py")
    )
    for gauge in ("serve_deployment_replica_healthy", "serve_autoscaling_target_replicas"):
        assert f'"{gauge}"' in serve_source, gauge
        assert any(f"by (deployment) (ray_{gauge}{{" in e for e in exprs), gauge
