"""PNG plots of the report (matplotlib, headless)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def overhead(result: dict[str, Any], path: Path) -> Path:
    """Measured / critical path per plan, by shape and scheduler; and measured vs critical path."""
    schedulers = result["schedulers"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    labels, data = [], []
    for name, s in schedulers.items():
        for shape in ("single", "chain", "dag"):
            ratios = [p["ratio"] for p in s["plans"] if p["shape"] == shape]
            if ratios:
                labels.append(f"{name}\n{shape}")
                data.append(ratios)
    left.boxplot(data, tick_labels=labels, showfliers=True)
    left.axhline(1.0, color="grey", linestyle="--", linewidth=1)
    left.set_ylabel("measured / critical path")
    left.set_title(f"TaskBench plans, experts {result['expert_latency_s'] * 1000:.0f} ms")
    for name, s in schedulers.items():
        xs = [p["critical_path_s"] for p in s["plans"]]
        ys = [p["e2e_s"] for p in s["plans"]]
        right.scatter(xs, ys, s=12, alpha=0.6, label=name)
    top = max((p["critical_path_s"] for s in schedulers.values() for p in s["plans"]), default=1)
    right.plot([0, top], [0, top], color="grey", linestyle="--", linewidth=1, label="critical path")
    right.set_xlabel("critical path (s)")
    right.set_ylabel("measured end to end (s)")
    right.legend()
    return _save(fig, path)


def load(result: dict[str, Any], path: Path) -> Path:
    levels = result["levels"]
    c = [lv["concurrency"] for lv in levels]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.plot(c, [lv["requests_per_s"] for lv in levels], marker="o")
    left.set_xscale("log", base=2)
    left.set_xlabel("concurrency")
    left.set_ylabel("requests / s")
    left.set_title("throughput (offline profile)")
    for q in ("p50", "p99"):
        right.plot(c, [lv["latency_s"].get(q) for lv in levels], marker="o", label=q)
    right.set_xscale("log", base=2)
    right.set_xlabel("concurrency")
    right.set_ylabel("latency (s)")
    right.legend()
    right.set_title("latency")
    return _save(fig, path)


def autoscaling(result: dict[str, Any], path: Path) -> Path:
    samples = [s for s in result["replicas"]["samples"] if "error" not in s["replicas"]]
    names = sorted({n for s in samples for n in s["replicas"]})
    fig, ax = plt.subplots(figsize=(10, 4))
    for i, name in enumerate(names):
        # A small vertical offset per deployment keeps equal counts from hiding each other.
        ys = [s["replicas"].get(name, 0) + 0.03 * i for s in samples]
        ax.step([s["t"] for s in samples], ys, where="post", label=name)
    top = max((n for s in samples for n in s["replicas"].values()), default=1)
    ax.set_ylim(0, top + 1)
    ax.set_yticks(range(top + 2))
    for mark in result["replicas"]["marks"]:
        ax.axvline(mark["t"], color="grey", linestyle=":", linewidth=1)
        ax.text(mark["t"], top + 0.9, mark["label"], fontsize=8, va="top")
    ax.set_xlabel("time (s)")
    ax.set_ylabel("running replicas")
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1, 0.5))
    ax.set_title("replicas per deployment during the load test")
    return _save(fig, path)


def autoscaling_timeline(result: dict[str, Any], path: Path) -> Path:
    """Running replicas over time of the driven expert and the scale-to-zero one, with the phases."""
    fig, ax = plt.subplots(figsize=(10, 4))
    samples = [s for s in result["replicas"]["samples"] if "error" not in s["replicas"]]
    for part in ("driven", "to_zero"):
        name = result[part]["deployment"]
        ys = [s["replicas"].get(name, 0) for s in samples]
        ax.step([s["t"] for s in samples], ys, where="post", label=name)
    top = max(
        (s["replicas"].get(result[p]["deployment"], 0) for s in samples for p in ("driven", "to_zero")),
        default=1,
    )
    for mark in result["replicas"]["marks"]:
        ax.axvline(mark["t"], color="grey", linestyle=":", linewidth=1)
        ax.text(mark["t"], top + 0.8, mark["label"], fontsize=8, va="top")
    ax.set_ylim(0, top + 1)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("running replicas")
    ax.legend(fontsize=8, loc="center right")
    ax.set_title("autoscaling: scale-up under load, scale-down after it, scale from zero")
    return _save(fig, path)


def batching(result: dict[str, Any], path: Path) -> Path:
    modes = result["modes"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.bar(list(modes), [m["calls_per_s"] for m in modes.values()], color=["tab:grey", "tab:blue"])
    left.set_ylabel("calls / s")
    left.set_title(f"{result['model']}, concurrency {result['concurrency']}, 1 replica")
    sizes = modes["batched"]["batch_sizes"]
    right.bar([int(s) for s in sizes], list(sizes.values()))
    right.set_xlabel("batch size")
    right.set_ylabel("model calls")
    right.set_title("batch sizes with @serve.batch")
    return _save(fig, path)


def streaming(result: dict[str, Any], path: Path) -> Path:
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    shapes = list(result["plans"])
    for ax, metric, title in zip(
        axes, ("first_expert_call_s", "e2e_s"), ("time to first expert call", "end to end"), strict=True
    ):
        for j, mode in enumerate(("not_streamed", "streamed")):
            ys = [result["plans"][s]["modes"][mode][metric].get("p50", 0) for s in shapes]
            ax.bar([i + 0.38 * j for i in range(len(shapes))], ys, width=0.38, label=mode.replace("_", " "))
        ax.set_xticks([i + 0.19 for i in range(len(shapes))], shapes)
        ax.set_ylabel("seconds (median)")
        ax.set_title(f"{title}, {result['tokens_per_s']:g} tokens/s")
        ax.legend()
    return _save(fig, path)


def memory(replicas: list[dict[str, Any]], path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(9, 0.35 * len(replicas) + 1.2))
    names = [r["deployment"] for r in replicas]
    ax.barh(names, [r["rss_mb"] for r in replicas], label="RSS", color="tab:grey")
    ax.barh(names, [r["uss_mb"] for r in replicas], label="USS (not shared)", color="tab:blue")
    ax.set_xlabel("MiB")
    ax.set_title("memory per replica process, offline profile")
    ax.legend()
    return _save(fig, path)


def soak(report: dict[str, Any], path: Path) -> Path:
    """RSS of every replica over time, and the latency of each successful request over time."""
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(11, 7), sharex=True)
    by: dict[str, list[tuple[float, float]]] = {}
    for s in report["samples"]:
        by.setdefault(f"{s['deployment']} ({s['pid']})", []).append((s["t"] / 60, s["rss_mb"]))
    for name, points in sorted(by.items()):
        top.plot([t for t, _ in points], [r for _, r in points], label=name, linewidth=1)
    top.set_ylabel("RSS (MB)")
    top.set_title(f"soak: {report['minutes']} min at concurrency {report['concurrency']}")
    top.legend(fontsize=6, ncol=2)
    bottom.scatter([t / 60 for t, _ in report["latencies"]], [s for _, s in report["latencies"]], s=4)
    bottom.set_ylabel("latency (s)")
    bottom.set_xlabel("minutes")
    return _save(fig, path)
