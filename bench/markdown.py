"""The report as markdown tables (reports/bench.md), the form the README's performance section takes.

python -m bench.markdown reports/bench.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def _table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join("" if v is None else str(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def _ms(seconds: float | None) -> str:
    return "" if seconds is None else f"{seconds * 1000:.0f} ms"


def overhead(r: dict[str, Any]) -> str:
    tb = r["taskbench"]
    rows = []
    for name, s in r["schedulers"].items():
        m = s["summary"]
        rows.append(
            [
                name,
                m["plans"],
                f"{m['ratio']['p50']:.2f}",
                f"{m['ratio']['p95']:.2f}",
                *(f"{m['by_shape'][k]['ratio']['p50']:.2f}" for k in ("single", "chain", "dag")),
                _ms(m["overhead_per_task_s"]["p50"]),
                _ms(m["hop_overhead_s"]["p50"]),
                _ms(m["hop_overhead_s"]["p95"]),
                _ms(m["execute_overhead_s"]["p50"]),
                f"{_ms(m['outside_execute_s']['p50'])} / {_ms(m['outside_execute_s']['p95'])}",
                len(s["errors"]),
            ]
        )
    head = (
        f"TaskBench gold plans: {tb['records']} records, {tb['converted']} converted, {tb['executable']} "
        f"executable, {tb['replayed']} replayed ({tb['replayed_by_shape']}); experts "
        f"{_ms(r['expert_latency_s'])}, polling interval {r['polling_interval_s']} s.\n\n"
    )
    breakdown = "\n\n" + profile(r["profile"]) if "profile" in r else ""
    return (
        head
        + _table(
            [
                "scheduler",
                "plans",
                "measured/critical p50",
                "p95",
                "single p50",
                "chain p50",
                "dag p50",
                "overhead/task p50",
                "handle hop p50",
                "hop p95",
                "in execute p50",
                "around execute p50 / p95",
                "errors",
            ],
            rows,
        )
        + breakdown
    )


def load(r: dict[str, Any]) -> str:
    rows = []
    for lv in r["levels"]:
        slowest = max(lv["task_seconds"].items(), key=lambda kv: kv[1].get("p50", 0), default=("", {}))
        rows.append(
            [
                lv["concurrency"],
                lv["requests"],
                lv["requests_per_s"],
                f"{lv['latency_s']['p50']:.2f} s",
                f"{lv['latency_s']['p99']:.2f} s",
                lv["errors"],
                f"{slowest[0]} {slowest[1].get('p50', 0):.2f} s",
            ]
        )
    events = r["replicas"]["events"]
    marks = r["replicas"]["marks"]
    scaled = (
        "; ".join(f"{e['deployment']} {e['from']}→{e['to']} at {e['t']:.0f} s" for e in events)
        or "no replica count changed"
    )
    phases = ", ".join(f"{m['label']} at {m['t']:.0f} s" for m in marks)
    return (
        _table(
            ["concurrency", "requests", "req/s", "p50", "p99", "errors", "slowest expert call (p50)"], rows
        )
        + f"\n\nAutoscaling: {scaled} (phases: {phases})."
    )


def batching(r: dict[str, Any]) -> str:
    rows = [
        [
            mode,
            m["calls"],
            m["calls_per_s"],
            f"{m['latency_s']['p50'] * 1000:.0f} ms",
            m["mean_batch_size"],
            ", ".join(f"{k}×{v}" for k, v in m["batch_sizes"].items()),
        ]
        for mode, m in r["modes"].items()
    ]
    text = (
        _table(["mode", "calls", "calls/s", "p50", "mean batch", "batch sizes (size×calls)"], rows)
        + f"\n\nThroughput batched / unbatched: {r['throughput_ratio_batched_over_unbatched']:.2f} "
        f"({r['model']}, concurrency {r['concurrency']}, 1 replica)."
    )
    if r.get("sweep"):
        text += "\n\nSweep on " + r["model"] + ":\n\n" + batching_sweep(r["sweep"], r["chosen"])
    if r.get("experts"):
        text += "\n\nEvery batchable expert (batched: size 8, wait 10 ms):\n\n" + batching_experts(
            r["experts"]
        )
    return text


def batching_sweep(sweep: list[dict[str, Any]], chosen: dict[str, Any]) -> str:
    rows = [
        [
            s["max_batch_size"],
            _ms(s["batch_wait_timeout_s"]),
            s["calls_per_s"],
            _ms(s["latency_s"]["p50"]),
            _ms(s["latency_s"]["p95"]),
            s["mean_batch_size"],
            "chosen" if {k: s[k] for k in chosen} == chosen else "",
        ]
        for s in sweep
    ]
    return _table(["max_batch_size", "wait", "calls/s", "p50", "p95", "mean batch", ""], rows)


def batching_experts(experts: dict[str, Any]) -> str:
    rows = [
        [model, e["task"], e["input"], "failed", "", "", e["error"][:80]]
        if "error" in e
        else [
            model,
            e["task"],
            e["input"],
            e["modes"]["unbatched"]["calls_per_s"],
            e["modes"]["batched"]["calls_per_s"],
            e["modes"]["batched"]["mean_batch_size"],
            f"{e['ratio']:.2f}×",
        ]
        for model, e in experts.items()
    ]
    return _table(["expert", "task", "input", "unbatched calls/s", "batched", "mean batch", "ratio"], rows)


def profile(p: dict[str, Any]) -> str:
    """Where one single-task request's time goes (bench.profiling), p50 and p95 of each span."""
    rows = [
        [key, p["described"][key], _ms1(s.get("p50")), _ms1(s.get("p95"))] for key, s in p["spans"].items()
    ]
    rows.append(["total", "client-side wall time", _ms1(p["e2e_s"].get("p50")), _ms1(p["e2e_s"].get("p95"))])
    return (
        f"Where the time of one single-task request goes ({p['requests']} requests, one at a time):\n\n"
        + _table(["span", "what", "p50", "p95"], rows)
    )


def _ms1(seconds: float | None) -> str:
    return "" if seconds is None else f"{seconds * 1000:.1f} ms"


def streaming(r: dict[str, Any]) -> str:
    rows = []
    for shape, e in r["plans"].items():
        for mode, m in e["modes"].items():
            rows.append(
                [
                    shape,
                    e["tasks"],
                    e["plan_tokens"],
                    f"{e['generation_s']:.2f} s",
                    mode.replace("_", " "),
                    f"{m['first_expert_call_s']['p50']:.2f} s",
                    f"{m['e2e_s']['p50']:.2f} s",
                    len(m["errors"]),
                ]
            )
    return (
        _table(
            [
                "plan",
                "tasks",
                "tokens",
                "emission",
                "mode",
                "first expert call p50",
                "end to end p50",
                "errors",
            ],
            rows,
        )
        + f"\n\n{r['tokens_per_s']:g} tokens/s, experts {_ms(r['expert_latency_s'])}; {r['token_mapping']}."
    )


def cold_start(r: dict[str, Any]) -> str:
    cold = r["serve_run"]
    idle = {m["pid"]: m for m in r["memory_idle"]}
    after = {m["pid"]: m for m in r.get("memory_after_load", [])}
    rows = []
    for pid in sorted(idle.keys() | after.keys(), key=lambda p: (idle.get(p) or after[p])["deployment"]):
        m = idle.get(pid) or after[pid]
        label = m["deployment"] + ("" if pid in idle else " (added by autoscaling)")
        rows.append(
            [
                label,
                idle.get(pid, {}).get("rss_mb"),
                idle.get(pid, {}).get("uss_mb"),
                after.get(pid, {}).get("rss_mb"),
            ]
        )
    total = sum(m["rss_mb"] for m in r["memory_idle"])
    return (
        f"`serve run` (offline profile, {cold['deployments']} deployments) to RUNNING: "
        f"{cold['to_running_s']} s; to /readyz 200: {cold['to_readyz_s']} s.\n\n"
        + _table(["replica", "RSS idle (MiB)", "USS idle (MiB)", "RSS after load (MiB)"], rows)
        + f"\n\nRSS summed over the idle processes (shared pages counted in each): {total:.0f} MiB."
    )


def autoscaling_line(r: dict[str, Any]) -> str:
    """The timeline in one line, as `make bench` prints it."""
    s, c, load = r["scaling"], r["cold_start"], r["load"]
    return (
        f"  {r['driven']['deployment']}: {s['replicas_before']} -> {s['replicas_peak']} replicas under "
        f"concurrency {load['concurrency']} (first scale-up after {s['first_scale_up_s']} s, peak after "
        f"{s['to_peak_s']} s), back to {s['replicas_before']} {s['back_to_before_s']} s after the load; "
        f"{r['to_zero']['deployment']} from zero: cold call {c['cold_call_s']} s, warm p50 "
        f"{c['warm_call_s'].get('p50')} s"
    )


def autoscaling(r: dict[str, Any]) -> str:
    s, c, load = r["scaling"], r["cold_start"], r["load"]
    cfg = r["driven"]["autoscaling_config"]
    rows = [
        [
            r["driven"]["deployment"],
            f"{cfg['min_replicas']}..{cfg['max_replicas']}, target {cfg['target_ongoing_requests']}, "
            f"up {cfg['upscale_delay_s']} s, down {cfg['downscale_delay_s']} s",
            f"{s['replicas_before']} -> {s['replicas_peak']}",
            s["first_scale_up_s"],
            s["to_peak_s"],
            s["back_to_before_s"],
        ]
    ]
    return (
        f"Concurrency {load['concurrency']} for {load['seconds']} s on a synthetic expert of "
        f"{_ms(r['driven']['latency_s'])}: {load['requests_per_s']} req/s, p50 {load['latency_s'].get('p50')} s, "
        f"errors {load['errors']}.\n\n"
        + _table(
            [
                "deployment",
                "autoscaling",
                "replicas",
                "first scale-up (s)",
                "to peak (s)",
                "back after load (s)",
            ],
            rows,
        )
        + f"\n\nScale to zero ({r['to_zero']['deployment']}, a real tiny model): the first call at 0 replicas "
        f"took {c['cold_call_s']} s, warm calls p50 {c['warm_call_s'].get('p50')} s: a cold start costs "
        f"{c['cold_start_cost_s']} s."
    )


def render(report: dict[str, Any]) -> str:
    parts = [f"Run of {report['started']}, {report['total_s']} s in all. {report['note']}"]
    sections = [
        ("1. Orchestration overhead", "overhead", overhead),
        ("2. Throughput and latency under load", "load", load),
        ("3. Batching", "batching", batching),
        ("4. Streaming plans", "streaming", streaming),
        ("5. Cold start and memory", "cold_start_memory", cold_start),
        ("6. Autoscaling", "autoscaling", autoscaling),
    ]
    for title, key, fn in sections:
        if key in report:
            parts.append(f"### {title}\n\n{fn(report[key])}")
    return "\n\n".join(parts) + "\n"


if __name__ == "__main__":
    path = Path(sys.argv[1] if len(sys.argv) > 1 else "reports/bench.json")
    print(render(json.loads(path.read_text())))
