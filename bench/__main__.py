"""Run the benchmarks on one local Ray cluster and write reports/bench.json plus PNG plots.

python -m bench                 # everything, sized for a 2-core machine (about 20 minutes)
python -m bench --only 1,4      # some of them (6: autoscaling)
python -m bench --quick         # a smoke run: small samples
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.cluster import bench_env

bench_env()  # before Ray is imported anywhere: workers inherit the environment

from bench import (  # noqa: E402
    autoscale,
    batching,
    coldstart,
    load,
    markdown,
    overhead,
    plots,
    profiling,
    streaming,
)
from bench.apps import APP, offline_config, synthetic_app  # noqa: E402
from bench.cluster import local_cluster, replica_memory  # noqa: E402
from bench.inprocess import executable  # noqa: E402
from bench.llm import script_instant  # noqa: E402
from bench.plans import convert, load_gold, stratified  # noqa: E402
from experts.catalog import load_catalog  # noqa: E402
from tests.scripted_llm import ScriptedLLM  # noqa: E402

FULL = {
    "plans_per_shape": 30,
    "levels": [(1, 12), (8, 48), (32, 96), (64, 192)],
    "batch_calls": 320,  # per mode: 2 modes × 4 experts + a 12-point sweep
    "stream_reps": 5,
}
QUICK = {"plans_per_shape": 4, "levels": [(1, 4), (8, 16)], "batch_calls": 64, "stream_reps": 2}


class Progress:
    def __init__(self) -> None:
        self.t0 = time.perf_counter()

    def __call__(self, message: str) -> None:
        print(f"[{time.perf_counter() - self.t0:6.1f} s] {message}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="1,2,3,4,5,6", help="comma-separated benchmark numbers")
    parser.add_argument("--quick", action="store_true", help="small samples, for a smoke run")
    parser.add_argument("--out", default="reports", help="folder for bench.json and the PNG plots")
    parser.add_argument("--latency", type=float, default=0.1, help="synthetic expert latency (s)")
    parser.add_argument(
        "--stream-latency", type=float, default=0.5, help="synthetic expert latency (s), benchmark 4"
    )
    parser.add_argument("--tokens-per-s", type=float, default=50.0, help="scripted LLM rate, benchmark 4")
    args = parser.parse_args(argv)
    only = {int(x) for x in args.only.split(",") if x.strip()}
    size = QUICK if args.quick else FULL
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    progress = Progress()
    report: dict[str, Any] = {
        "machine": {"cpus": _cpus(), "python": platform.python_version(), "platform": platform.platform()},
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "sizes": {k: v for k, v in size.items()},
        "note": "Timings on a shared 2-core machine: other work on it adds noise; compare within one run.",
    }

    def save() -> None:
        (out / "bench.json").write_text(json.dumps(report, indent=1))

    llm = ScriptedLLM().start()
    work = Path(tempfile.mkdtemp(prefix="hugginggpt-bench-"))
    store = str(work / "artifacts")
    try:
        with local_cluster() as cluster:
            progress(f"Ray + Serve up at {cluster.url}")
            if only & {2, 5}:
                _offline_profile(report, only, size, cluster, llm, work, store, progress, out)
                save()
            if 3 in only:
                report["batching"] = batching.run(store, 32, size["batch_calls"], progress)
                plots.batching(report["batching"], out / "batching.png")
                save()
            if only & {1, 4}:
                _synthetic(report, only, size, args, cluster, llm, store, progress, out)
                save()
            if 6 in only:
                scale = autoscale.QUICK if args.quick else autoscale.FULL
                report["autoscaling"] = autoscale.run(cluster.url, llm.base_url, store, scale, progress)
                progress(markdown.autoscaling_line(report["autoscaling"]))
                plots.autoscaling_timeline(report["autoscaling"], out / "autoscaling-timeline.png")
                save()
    finally:
        llm.stop()
    report["total_s"] = round(time.perf_counter() - progress.t0, 1)
    save()
    (out / "bench.md").write_text(markdown.render(report))
    shutil.rmtree(work, ignore_errors=True)  # kept on failure: it holds serve_run.log
    progress(f"wrote {out / 'bench.json'}, {out / 'bench.md'} and plots in {out}/")
    return 0


def _offline_profile(report, only, size, cluster, llm, work, store, progress, out) -> None:
    """Benchmarks 5 then 2 on one `serve run` of serve_config.yaml (the offline profile)."""
    progress("[5] cold start: serve run serve_config.yaml (offline profile, scripted LLM)")
    script_instant(llm, load.scripted_plans())
    config = offline_config(llm.base_url, store, cluster.port)
    proc, cold = coldstart.serve_run(config, cluster.gcs_address, work, cluster.url)
    try:
        progress(f"  RUNNING in {cold['to_running_s']} s, /readyz 200 in {cold['to_readyz_s']} s")
        idle = replica_memory(APP)
        report["cold_start_memory"] = {"serve_run": cold, "memory_idle": idle}
        plots.memory(idle, out / "memory.png")
        if 2 in only:
            report["load"] = load.run(cluster.url, APP, size["levels"], progress)
            report["load"]["autoscaling_config"] = {
                d["name"]: d.get("autoscaling_config") for d in config["applications"][0]["deployments"]
            }
            report["cold_start_memory"]["memory_after_load"] = replica_memory(APP)
            plots.load(report["load"], out / "load.png")
            plots.autoscaling(report["load"], out / "autoscaling.png")
    finally:
        coldstart.stop(proc)
        from ray import serve

        serve.delete(APP)


def _synthetic(report, only, size, args, cluster, llm, store, progress, out) -> None:
    """Benchmarks 1 and 4 over synthetic experts, one configuration deployed at a time. Between the two
    overhead runs only the Ingress is replaced; benchmark 4 uses slower experts (``--stream-latency``)
    so that the overlap of expert work with plan generation is visible above the noise."""
    from ray import serve

    def deploy(latency_s: float, **controller) -> None:
        progress(f"deploying synthetic experts ({latency_s * 1000:.0f} ms) + Ingress {controller}")
        serve.run(synthetic_app(llm.base_url, store, latency_s, controller), name=APP, route_prefix="/")

    try:
        if 1 in only:
            plans = _gold_plans(report, size["plans_per_shape"], progress)
            report["overhead"] |= {
                "expert_latency_s": args.latency,
                "polling_interval_s": 0.5,
                "schedulers": {},
            }
            for scheduler in ("dag", "polling"):
                deploy(args.latency, scheduler=scheduler, polling_interval_s=0.5)
                report["overhead"]["schedulers"][scheduler] = overhead.measure(
                    cluster.url, plans, args.latency, scheduler, progress
                )
                if scheduler == "dag":  # where one request's time goes, on the same deployment
                    busy = profiling.synthetic_busy(APP)
                    report["overhead"]["profile"] = profiling.measure(cluster.url, plans, busy, progress)
            plots.overhead(report["overhead"], out / "overhead.png")
        if 4 in only:
            report["streaming"] = streaming.describe(args.tokens_per_s, args.stream_latency)
            for streamed in (False, True):
                deploy(args.stream_latency, scheduler="dag", stream_plan=streamed)
                streaming.measure(
                    report["streaming"], cluster.url, llm, streamed, size["stream_reps"], progress
                )
            plots.streaming(report["streaming"], out / "streaming.png")
    finally:
        serve.delete(APP)


def _gold_plans(report: dict[str, Any], per_shape: int, progress) -> list:
    records = load_gold()
    conversion = convert(records, {m.task for m in load_catalog("offline")})
    converted = len(conversion.plans)
    runnable = asyncio.run(executable(conversion.plans, conversion.skipped))
    plans = stratified(runnable, per_shape)
    report["overhead"] = {
        "taskbench": {
            "records": len(records),
            "converted": converted,
            "executable": len(runnable),
            "skipped": dict(conversion.skipped.most_common()),
            "replayed": len(plans),
            "replayed_by_shape": {s: sum(p.shape == s for p in plans) for s in ("single", "chain", "dag")},
        }
    }
    progress(f"[1] TaskBench: {converted} converted, {len(runnable)} executable, {len(plans)} replayed")
    return plans


def _cpus() -> int:
    import os

    return os.cpu_count() or 0


if __name__ == "__main__":
    sys.exit(main())
