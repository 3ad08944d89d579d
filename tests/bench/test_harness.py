"""Pieces of the harness that compute numbers: rows, summaries, batch deltas, token-rate mapping."""

import json

import pytest

from bench.batching import batch_delta, best, mean_batch
from bench.client import run_errors
from bench.llm import choose_first_candidate, chunk_delay_for, generation_seconds, plan_text, tokens_of
from bench.overhead import plan_row, summarise
from bench.plans import GoldPlan
from bench.profiling import SPANS, spans
from controller.schema import Plan, Task
from tests.scripted_llm import _word_pieces


def chain(n: int) -> GoldPlan:
    tasks = [Task(id=i, task="summarization", dep=[i - 1] if i else []) for i in range(n)]
    return GoldPlan(id="c", shape="chain", plan=Plan(tasks=tasks))


def test_plan_row_against_the_critical_path():
    body = {
        "results": [{"status": "ok", "elapsed_s": 0.11}, {"status": "ok", "elapsed_s": 0.13}],
        "timings": {"execute_s": 0.25},
    }
    row = plan_row(chain(2), latency_s=0.1, seconds=0.3, body=body)
    assert row["critical_path_s"] == pytest.approx(0.2)
    assert row["ratio"] == pytest.approx(1.5)
    assert row["overhead_s"] == pytest.approx(0.1)
    assert row["overhead_per_task_s"] == pytest.approx(0.05)
    assert row["hop_overhead_s"] == pytest.approx(0.02)
    s = summarise([row, {**row, "shape": "dag", "ratio": 2.0}])
    assert s["plans"] == 2 and s["ratio"]["p50"] == pytest.approx(1.75)
    assert set(s["by_shape"]) == {"chain", "dag"}


def test_batch_sizes_between_two_snapshots():
    before = {"batch_sizes": {"1": 3, "8": 1}}
    after = {"batch_sizes": {"1": 3, "8": 5, "16": 2}}
    delta = batch_delta(before, after)
    assert delta == {"8": 4, "16": 2}
    assert mean_batch(delta) == pytest.approx((8 * 4 + 16 * 2) / 6, abs=0.01)
    assert mean_batch({}) is None


def test_token_rate_mapping_streams_a_plan_in_tokens_over_rate():
    text = plan_text([{"id": 0, "task": "text-to-image", "dep": [], "args": {"text": "a red kite"}}])
    chunks = len(_word_pieces(text))
    assert chunks > 5
    assert tokens_of(text) == len(text) / 4
    # (chunks - 1) gaps between chunks add up to the whole generation time
    assert chunk_delay_for(text, 50) * (chunks - 1) == pytest.approx(generation_seconds(text, 50))


def test_selection_reply_picks_the_first_shown_candidate():
    body = {
        "messages": [
            {"role": "system", "content": "..."},
            {
                "role": "user",
                "content": 'Task: {}\n\nCandidate models:\n- id: "a/b"; likes: 1\n- id: "c/d"; likes: 2',
            },
        ]
    }
    assert json.loads(choose_first_candidate(body))["id"] == "a/b"


def test_run_errors_reads_every_kind_of_failure():
    ok = {"results": [{"task_id": 0, "task": "t", "status": "ok"}], "errors": []}
    assert run_errors(200, ok) is None
    assert run_errors(200, {"hugginggpt": ok}) is None
    assert run_errors(503, {"error": {}}).startswith("HTTP 503")
    failed = {"results": [{"task_id": 0, "task": "t", "status": "failed", "error": "boom"}]}
    assert "failed: boom" in run_errors(200, failed)
    assert run_errors(200, {"results": []}) == "no task ran"


def test_load_breakdowns_by_shape_and_task():
    from bench.client import Outcome
    from bench.load import level_result

    def outcome(label: str, seconds: float, elapsed: float) -> Outcome:
        results = [{"task": "text-to-image", "status": "ok", "elapsed_s": elapsed}]
        return Outcome(seconds, True, None, {"hugginggpt": {"results": results}}, label)

    level = level_result(8, [outcome("a", 1.0, 0.5), outcome("b", 3.0, 1.5), Outcome(0, False, "x")], 2.0)
    assert level["requests"] == 3 and level["errors"] == 1
    assert level["requests_per_s"] == pytest.approx(1.0)
    assert level["latency_by_shape_s"]["b"]["p50"] == pytest.approx(3.0)
    assert level["task_seconds"]["text-to-image"]["n"] == 2


def test_scale_events_from_replica_samples():
    from bench.cluster import scale_events

    samples = [
        {"t": 0.0, "replicas": {"a": 1, "b": 1}},
        {"t": 1.0, "replicas": {"error": "status call failed"}},
        {"t": 2.0, "replicas": {"a": 2, "b": 1}},
        {"t": 3.0, "replicas": {"a": 2, "b": 1}},
        {"t": 4.0, "replicas": {"a": 1, "b": 1}},
    ]
    assert scale_events(samples) == [
        {"t": 2.0, "deployment": "a", "from": 1, "to": 2},
        {"t": 4.0, "deployment": "a", "from": 2, "to": 1},
    ]


def test_deployment_names_from_replica_process_titles():
    from bench.cluster import deployment_of

    known = ["Controller", "expert:Systran--faster-whisper-tiny.en", "expert:offline--tiny-vit"]
    assert deployment_of("expert:Systran--faster-whisper-tiny.en", known) == known[1]
    assert deployment_of("expert:Systran--faster-whisper-tiny.en.handle_request", known) == known[1]
    assert deployment_of("expert:offline--tiny-vit.initialize_and_get_metadata", known) == known[2]
    assert deployment_of("unknown-deployment", known) == "unknown-deployment"


def test_profile_spans_add_up_to_the_request():
    server_timing = {"parse": 0.001, "plan": 0.0005, "run": 0.104, "render": 0.0008, "app": 0.1063}
    body = {"results": [{"status": "ok", "elapsed_s": 0.1015}], "timings": {"execute_s": 0.103}}
    out = spans(0.110, server_timing, body, expert_s=0.1002)
    assert list(out) == [key for key, _ in SPANS]
    assert sum(out.values()) == pytest.approx(0.110)
    assert out["http_proxy"] == pytest.approx(0.0037) and out["handle_hop"] == pytest.approx(0.0013)


def test_sweep_pick_prefers_lower_latency_when_throughput_is_close():
    def point(size, rate, p95):
        return {"max_batch_size": size, "calls_per_s": rate, "latency_s": {"p95": p95}}

    sweep = [point(4, 50.0, 0.2), point(16, 100.0, 0.9), point(8, 97.0, 0.4), point(32, 60.0, 0.3)]
    assert best(sweep)["max_batch_size"] == 8
