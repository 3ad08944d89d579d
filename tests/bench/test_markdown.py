"""The markdown rendering of a report built from the harness's own result shapes."""

from bench.client import Outcome
from bench.load import level_result
from bench.markdown import render
from bench.overhead import plan_row, summarise
from bench.plans import GoldPlan
from bench.stats import summary
from bench.streaming import describe
from controller.schema import Plan, Task


def test_render_every_section():
    plan = GoldPlan("p", "single", Plan(tasks=[Task(id=0, task="summarization")]))
    body = {"results": [{"status": "ok", "elapsed_s": 0.105}], "timings": {"execute_s": 0.11}}
    rows = [plan_row(plan, 0.1, 0.12, body), {**plan_row(plan, 0.1, 0.13, body), "shape": "chain"}]
    rows.append({**rows[0], "shape": "dag"})
    overhead = {
        "taskbench": {"records": 3, "converted": 3, "executable": 3, "replayed": 3, "replayed_by_shape": {}},
        "expert_latency_s": 0.1,
        "polling_interval_s": 0.5,
        "schedulers": {"dag": {"summary": summarise(rows), "errors": [], "plans": rows}},
    }
    results = {"hugginggpt": {"results": [{"task": "text-to-image", "status": "ok", "elapsed_s": 0.2}]}}
    load = {
        "levels": [level_result(1, [Outcome(0.3, True, None, results, "caption")], 0.3)],
        "replicas": {
            "events": [{"t": 5.0, "deployment": "x", "from": 1, "to": 2}],
            "marks": [],
            "samples": [],
        },
    }
    mode = {"calls": 2, "calls_per_s": 10.0, "latency_s": summary([0.1]), "mean_batch_size": 1.0}
    batching = {
        "model": "m",
        "concurrency": 32,
        "modes": {
            "unbatched": {**mode, "batch_sizes": {"1": 2}},
            "batched": {**mode, "batch_sizes": {"2": 1}},
        },
        "throughput_ratio_batched_over_unbatched": 1.0,
        "chosen": {"max_batch_size": 8, "batch_wait_timeout_s": 0.01},
        "sweep": [{**mode, "max_batch_size": 8, "batch_wait_timeout_s": 0.01, "latency_s": summary([0.1])}],
        "experts": {
            "m": {"task": "t", "input": "i", "ratio": 1.0, "modes": {"unbatched": mode, "batched": mode}}
        },
    }
    overhead["profile"] = {
        "requests": 1,
        "spans": {"http_proxy": summary([0.004])},
        "described": {"http_proxy": "client ↔ ingress"},
        "e2e_s": summary([0.11]),
    }
    streaming = describe(50, 0.1)
    for entry in streaming["plans"].values():
        for m in ("not_streamed", "streamed"):
            entry["modes"][m] = {"first_expert_call_s": summary([1.0]), "e2e_s": summary([2.0]), "errors": []}
    memory = [{"deployment": "Controller", "pid": 1, "rss_mb": 300.0, "uss_mb": 200.0}]
    report = {
        "started": "now",
        "total_s": 1.0,
        "note": "noisy",
        "overhead": overhead,
        "load": load,
        "batching": batching,
        "streaming": streaming,
        "cold_start_memory": {
            "serve_run": {"to_running_s": 1.0, "to_readyz_s": 1.1, "deployments": 8},
            "memory_idle": memory,
        },
    }
    text = render(report)
    for title in ("Orchestration overhead", "under load", "Batching", "Streaming plans", "Cold start"):
        assert f". {title}" in text or title in text
    assert "| http_proxy | client ↔ ingress | 4.0 ms | 4.0 ms |" in text
    assert "| 8 | 10 ms | 10.0 | 100 ms | 100 ms | 1.0 | chosen |" in text
    assert "| dag | 3 |" in text and "x 1→2 at 5 s" in text and "| Controller | 300.0 |" in text
