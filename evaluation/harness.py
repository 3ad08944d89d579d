"""The planning evaluation harness: run real planners side by side over TaskBench requests and report
TaskBench's node / edge F1, t-F1 / v-F1 (arguments), unusable replies, latency p50/p95, tokens, memory.

    python -m evaluation                                   # the trained planner on the dev split
    python -m evaluation --data data.json                  # any TaskBench-format JSONL (raw data.json lines)
    python -m evaluation --planners trained,llm,llm+trained --base-url http://127.0.0.1:8500/v1 --model m
    python -m evaluation --planners llm --embedded ...     # start the embedded LLM on a free port, then stop it

On the dev split, only requests held out of the demo pool and of the planner's training are evaluated.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import shlex
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

import httpx
from pydantic import BaseModel, Field

from controller.config import ControllerConfig, decide_llm
from controller.demo_pool import PLAN_TYPES, GoldRecord, load_pool
from controller.demos import DemoSource, StaticDemos
from controller.llm import LLMClient, LLMUnavailable
from controller.messages import Conversation
from controller.planning import FallbackPlanner, LLMPlanner, Planner
from controller.retrieval import RetrievalDemos
from controller.schema import StageUsage, Task
from evaluation.scores import PRF, argument_sets, edge_set, micro_prf, node_set
from evaluation.taskbench import assert_disjoint, convert_all, load_dev, load_raw
from experts.tasks import TASK_TYPES

DemoMode = Literal["none", "static", "retrieved"]


class SampleResult(BaseModel):
    id: str
    type: str
    request: str
    gold: list[Task]
    predicted: list[Task] = Field(default_factory=list)
    outcome: Literal["plan", "empty", "parse_failure", "llm_error"]
    reason: str | None = None
    attempts: int = 0
    repairs: list[str] = Field(default_factory=list)
    latency_s: float
    prompt_tokens: int = 0
    completion_tokens: int = 0


class GroupMetrics(BaseModel):
    samples: int
    node: PRF
    edge: PRF
    t_f1: float | None  # argument names (TaskBench's task-argname F1)
    v_f1: float | None  # argument names and values (task-argname-value F1)
    p50_latency_s: float
    p95_latency_s: float
    parse_failure_rate: float
    empty_plan_rate: float
    llm_error_rate: float
    retry_rate: float
    mean_latency_s: float
    mean_prompt_tokens: float
    mean_completion_tokens: float


class Report(BaseModel):
    settings: dict[str, object]
    overall: GroupMetrics
    by_type: dict[str, GroupMetrics]
    samples: list[SampleResult]


class Comparison(BaseModel):
    """Several planners over the same requests; ``planners`` keyed by planner name."""

    data: str
    planners: dict[str, Report]


def group_metrics(results: Sequence[SampleResult]) -> GroupMetrics:
    n = len(results)

    def rate(outcome: str) -> float:
        return sum(r.outcome == outcome for r in results) / n if n else 0.0

    def mean(values: list[float]) -> float:
        return sum(values) / n if n else 0.0

    args = [(argument_sets(r.gold), argument_sets(r.predicted)) for r in results]
    latencies = sorted(r.latency_s for r in results)
    return GroupMetrics(
        samples=n,
        node=micro_prf((node_set(r.gold), node_set(r.predicted)) for r in results),
        edge=micro_prf((edge_set(r.gold), edge_set(r.predicted)) for r in results),
        t_f1=micro_prf((g[0], p[0]) for g, p in args).f1,
        v_f1=micro_prf((g[1], p[1]) for g, p in args).f1,
        p50_latency_s=percentile(latencies, 0.5),
        p95_latency_s=percentile(latencies, 0.95),
        parse_failure_rate=rate("parse_failure"),
        empty_plan_rate=rate("empty"),
        llm_error_rate=rate("llm_error"),
        retry_rate=sum(r.attempts > 1 for r in results) / n if n else 0.0,
        mean_latency_s=mean([r.latency_s for r in results]),
        mean_prompt_tokens=mean([r.prompt_tokens for r in results]),
        mean_completion_tokens=mean([r.completion_tokens for r in results]),
    )


def percentile(sorted_values: Sequence[float], q: float) -> float:
    if not sorted_values:
        return 0.0
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def summarise(results: Sequence[SampleResult], settings: dict[str, object]) -> Report:
    by_type = {t: group_metrics([r for r in results if r.type == t]) for t in PLAN_TYPES}
    return Report(
        settings=settings,
        overall=group_metrics(results),
        by_type={t: m for t, m in by_type.items() if m.samples},
        samples=list(results),
    )


async def evaluate_one(planner: Planner, record: GoldRecord, offered: set[str]) -> SampleResult:
    usage = StageUsage()
    start = time.perf_counter()
    base = {"id": record.id, "type": record.type, "request": record.request, "gold": record.tasks}
    try:
        outcome = await planner.plan(Conversation(request=record.request), offered, usage)
    except LLMUnavailable as e:
        return SampleResult(**base, outcome="llm_error", reason=str(e), latency_s=time.perf_counter() - start)
    latency = time.perf_counter() - start
    tokens = {"prompt_tokens": usage.prompt_tokens, "completion_tokens": usage.completion_tokens}
    if outcome.plan is not None:
        return SampleResult(
            **base,
            predicted=outcome.plan.tasks,
            outcome="plan",
            attempts=outcome.attempts,
            repairs=outcome.plan.repairs,
            latency_s=latency,
            **tokens,
        )
    # An empty plan is a chat answer (or a question for a missing input); anything else is a failure.
    reason = outcome.chitchat_reason or ""
    empty = "empty plan" in reason or "needs no model" in reason or outcome.ask is not None
    return SampleResult(
        **base,
        outcome="empty" if empty else "parse_failure",
        reason=outcome.chitchat_reason,
        attempts=outcome.attempts,
        latency_s=latency,
        **tokens,
    )


async def evaluate(
    planner: Planner,
    records: Sequence[GoldRecord],
    offered: set[str],
    concurrency: int = 1,
    progress: bool = False,
) -> list[SampleResult]:
    gate = asyncio.Semaphore(concurrency)
    done = 0

    async def run(record: GoldRecord) -> SampleResult:
        nonlocal done
        async with gate:
            result = await evaluate_one(planner, record, offered)
        done += 1
        if progress:
            print(
                f"[{done}/{len(records)}] {record.type:6} {result.outcome:13} {result.latency_s:5.1f}s "
                f"gold={sorted(node_set(result.gold))} pred={sorted(node_set(result.predicted))}",
                file=sys.stderr,
                flush=True,
            )
        return result

    return list(await asyncio.gather(*(run(r) for r in records)))


def demo_source(mode: DemoMode, pool: Sequence[GoldRecord]) -> DemoSource:
    if mode == "none":
        return StaticDemos([])
    if mode == "static":
        return StaticDemos()
    from experts.embeddings import default_embedder

    return RetrievalDemos(pool, default_embedder())


def select_records(split: str, limit: int | None, pool: Sequence[GoldRecord]) -> list[GoldRecord]:
    """Dev records (already interleaved by type, so any prefix is stratified), never pool ones."""
    if split != "dev":
        raise ValueError(f"unknown split {split!r}; only 'dev' is held out of the demo pool")
    records = load_dev()
    assert_disjoint(records, pool)
    return records[:limit] if limit else records


PLANNERS = ("trained", "llm", "llm+trained")


def make_planner(name: str, llm: LLMClient | None, args: argparse.Namespace, pool) -> Planner:
    from controller.trained_planner.planner import TrainedPlanner

    if name == "trained":
        planner = TrainedPlanner()
        planner.warm()  # loading is not planning: keep it out of the first sample's latency
        return planner
    assert llm is not None
    config = ControllerConfig(plan_demos=args.k)
    llm_planner = LLMPlanner(llm, config, demo_source(args.demos, pool))
    if name == "llm":
        return llm_planner
    trained = TrainedPlanner()
    trained.warm()
    return FallbackPlanner(llm_planner, trained)


def load_records(args: argparse.Namespace, pool: Sequence[GoldRecord]) -> list[GoldRecord]:
    if args.data is None:
        return select_records(args.split, args.limit, pool)
    records, failures = convert_all(load_raw(args.data))
    if failures:
        print(
            f"{len(failures)} records of {args.data} have no valid plan in our schema; skipped",
            file=sys.stderr,
        )
    return records[: args.limit] if args.limit else records


async def run_eval(args: argparse.Namespace, base_url: str | None) -> Comparison:
    pool = load_pool()
    records = load_records(args, pool)
    llm = None
    if base_url is not None:
        decided = decide_llm(base_url=base_url, model=args.model)
        assert decided is not None  # an explicit base URL always decides
        llm_config = decided.model_copy(
            update={"timeout_s": args.timeout, "max_retries": 1, "structured_output": args.structured}
        )
        llm = LLMClient(llm_config)
    offered = set(TASK_TYPES)
    reports: dict[str, Report] = {}
    try:
        for name in args.planners:
            planner = make_planner(name, llm, args, pool)
            start = time.perf_counter()
            results = await evaluate(planner, records, offered, args.concurrency, progress=not args.quiet)
            wall = time.perf_counter() - start
            settings: dict[str, object] = {
                "planner": name,
                "data": str(args.data or args.split),
                "limit": args.limit,
                "concurrency": args.concurrency,
                "wall_s": round(wall, 1),
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            }
            if name != "trained":
                settings.update(
                    base_url=base_url,
                    model=args.model,
                    demos=args.demos,
                    k=args.k,
                    structured=args.structured,
                )
            reports[name] = summarise(results, settings)
    finally:
        if llm is not None:
            await llm.close()
    return Comparison(data=str(args.data or args.split), planners=reports)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def embedded_llm(command: str | None = None, startup_timeout_s: float = 600) -> Iterator[str]:
    """Start the embedded LLM server (or ``command``, formatted with {python} and {port}) on a free
    loopback port; yield its base URL; stop it."""
    port = free_port()
    if command is None:
        from deployments.llm import server  # imported, so a moved server fails here, not in a subprocess

        argv = [sys.executable, "-m", server.__name__, "--host", "127.0.0.1", "--port", str(port)]
    else:
        argv = shlex.split(command.format(python=shlex.quote(sys.executable), port=port))
    proc = subprocess.Popen(argv)
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + startup_timeout_s
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"the embedded LLM exited with code {proc.returncode} before serving")
            try:
                if httpx.get(f"{base_url}/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the embedded LLM did not answer within {startup_timeout_s:.0f} s")
            time.sleep(0.5)
        yield base_url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def format_table(comparison: Comparison) -> str:
    def pct(v: float | None) -> str:
        return "  -  " if v is None else f"{100 * v:5.1f}"

    lines = [
        f"{'planner':12} {'group':8} {'n':>4} {'node F1':>7} {'edge F1':>7} {'t-F1':>6} {'v-F1':>6} "
        f"{'unusable':>8} {'p50':>7} {'p95':>7}"
    ]
    for planner, report in comparison.planners.items():
        for name, m in [("overall", report.overall), *report.by_type.items()]:
            lines.append(
                f"{planner:12} {name:8} {m.samples:4d} {pct(m.node.f1):>7} {pct(m.edge.f1):>7} "
                f"{pct(m.t_f1):>6} {pct(m.v_f1):>6} {pct(m.parse_failure_rate + m.llm_error_rate):>8} "
                f"{m.p50_latency_s:6.2f}s {m.p95_latency_s:6.2f}s"
            )
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m evaluation",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--planners",
        type=lambda v: [x.strip() for x in v.split(",") if x.strip()],
        default=None,
        help=f"comma-separated, from {', '.join(PLANNERS)}; default: llm with an endpoint, else trained",
    )
    p.add_argument(
        "--data", type=Path, default=None, help="a TaskBench-format JSONL instead of the dev split"
    )
    where = p.add_mutually_exclusive_group()
    where.add_argument("--base-url", help="an OpenAI-compatible endpoint, e.g. http://127.0.0.1:8500/v1")
    where.add_argument("--embedded", action="store_true", help="start the embedded LLM for this run")
    p.add_argument("--embedded-cmd", default=None, help="another command that serves an LLM on {port}")
    p.add_argument("--model", default="smollm2-135m-instruct")
    p.add_argument("--split", default="dev", choices=["dev"])
    p.add_argument("--limit", type=int, default=None, help="first N dev records (stratified by type)")
    p.add_argument("--demos", default="retrieved", choices=["none", "static", "retrieved"])
    p.add_argument("-k", type=int, default=ControllerConfig().plan_demos, help="demonstrations per prompt")
    p.add_argument(
        "--structured",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="JSON-schema constrained decoding (response_format)",
    )
    p.add_argument("--concurrency", type=int, default=1)
    p.add_argument("--timeout", type=float, default=300.0, help="seconds per LLM call")
    p.add_argument("--out", type=Path, default=Path("reports/eval-plan.json"))
    p.add_argument("--quiet", action="store_true")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> Comparison:
    args = parse_args(argv)
    needs_llm = args.base_url is not None or args.embedded
    args.planners = args.planners or (["llm"] if needs_llm else ["trained"])
    unknown = [p for p in args.planners if p not in PLANNERS]
    if unknown:
        raise SystemExit(f"unknown planner(s) {unknown}; choose from {', '.join(PLANNERS)}")
    if any(p != "trained" for p in args.planners) and not needs_llm:
        raise SystemExit("the llm planners need --base-url URL or --embedded")
    if args.embedded:
        with embedded_llm(args.embedded_cmd) as base_url:
            report = asyncio.run(run_eval(args, base_url))
    else:
        report = asyncio.run(run_eval(args, args.base_url))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report.model_dump_json(indent=1) + "\n")
    print(format_table(report))
    print(f"report: {args.out}")
    return report


if __name__ == "__main__":
    main()
