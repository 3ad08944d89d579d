import json

import pytest

from controller.schema import Task
from evaluation.harness import Comparison, main
from evaluation.scores import edge_set, node_set
from tests.scripted_llm import last_user_text


def plan_json(tasks: list[Task]) -> str:
    return json.dumps({"tasks": [t.model_dump() for t in tasks]})


def test_harness_end_to_end_against_the_scripted_llm(llm_script, dev, pool, tmp_path):
    single, chain, dag = dev[:3]
    assert (single.type, chain.type, dag.type) == ("single", "chain", "dag")
    # a perfect plan; no usable plan even after the retry; the DAG's first task plus a wrong one
    first = dag.tasks[0].model_copy(update={"id": 0})
    assert not first.dep
    partial = [first, Task(id=1, task="text-to-video", dep=[0], args={"text": "<GENERATED>-0"})]
    if first.task == "text-to-video":
        partial[1] = partial[1].model_copy(update={"task": "text-to-speech"})
    replies = {
        single.request: plan_json(single.tasks),
        chain.request: "Sorry.",
        dag.request: plan_json(partial),
    }

    def reply(body: dict) -> str:  # by the request anywhere in the chat: the retry's last turn is ours
        said = " ".join(str(m["content"]) for m in body["messages"] if m["role"] == "user")
        return next(text for request, text in replies.items() if request in said)

    llm_script.on("plan", reply)

    out = tmp_path / "eval.json"
    argv = [
        "--base-url",
        llm_script.base_url,
        "--model",
        "scripted",
        "--limit",
        "3",
        "--out",
        str(out),
        "--quiet",
    ]
    comparison = main([*argv, "--demos", "retrieved", "-k", "2"])

    assert Comparison.model_validate_json(out.read_text()) == comparison
    report = comparison.planners["llm"]
    by_id = {s.id: s for s in report.samples}
    assert [by_id[r.id].outcome for r in (single, chain, dag)] == ["plan", "parse_failure", "plan"]
    assert by_id[chain.id].attempts == 2 and report.overall.parse_failure_rate == pytest.approx(1 / 3)

    gold_nodes = [node_set(r.tasks) for r in (single, chain, dag)]
    tp = len(gold_nodes[0]) + 1
    predicted = len(gold_nodes[0]) + len(node_set(partial))
    gold = sum(map(len, gold_nodes))
    node = report.overall.node
    assert (node.true_positives, node.predicted, node.gold) == (tp, predicted, gold)
    assert node.f1 == pytest.approx(2 * tp / (predicted + gold))
    assert report.by_type["single"].node.f1 == 1.0 and report.by_type["chain"].node.f1 == 0.0
    edge = report.overall.edge
    assert edge.predicted == len(edge_set(partial)) + len(edge_set(single.tasks))
    assert edge.gold == sum(len(edge_set(r.tasks)) for r in (single, chain, dag))
    assert report.overall.mean_prompt_tokens > 0 and report.overall.mean_latency_s > 0

    # The real planner path: constrained decoding asked for, retrieved pool demos shown, never the answer.
    calls = llm_script.calls("plan")
    assert len(calls) == 4  # one retry for the failed request
    assert all(c["response_format"]["type"] == "json_schema" for c in calls)
    pool_requests = {r.request for r in pool}
    for call in calls:
        shown = [m["content"] for m in call["messages"][1:-1] if m["role"] == "user"]
        if last_user_text(call) in replies:  # the first attempt (a retry adds our correction)
            assert len(shown) == 2 and set(shown) <= pool_requests and last_user_text(call) not in shown


def test_no_demos_and_no_structured_output(llm_script, dev, tmp_path):
    llm_script.on("plan", plan_json(dev[0].tasks))
    out = tmp_path / "eval.json"
    report = main(
        [
            *("--base-url", llm_script.base_url, "--limit", "1", "--demos", "none", "--no-structured"),
            *("--out", str(out), "--quiet"),
        ]
    ).planners["llm"]
    (call,) = llm_script.calls("plan")
    assert "response_format" not in call and len(call["messages"]) == 2
    assert report.overall.node.f1 == 1.0 and report.settings["demos"] == "none"


def test_trained_planner_beside_the_llm_on_a_taskbench_file(llm_script, dev, tmp_path):
    """--data reads raw TaskBench lines; several planners are scored side by side on the same requests,
    with argument scores and latency percentiles; a garbage LLM reply falls back to the trained plan."""
    raw = tmp_path / "data.json"
    raw.write_text(
        json.dumps(
            {
                "id": "1",
                "type": "chain",
                "instruction": "Please transcribe 'meeting.wav' and then summarize the transcript.",
                "task_nodes": [
                    {"task": "Automatic Speech Recognition", "arguments": ["meeting.wav"]},
                    {"task": "Summarization", "arguments": ["<node-0>"]},
                ],
                "task_links": [{"source": "Automatic Speech Recognition", "target": "Summarization"}],
            }
        )
        + "\n"
    )
    llm_script.on("plan", "no plan here")
    out = tmp_path / "eval.json"
    comparison = main(
        [
            *("--data", str(raw), "--planners", "trained,llm,llm+trained", "--base-url", llm_script.base_url),
            *("--out", str(out), "--quiet"),
        ]
    )
    trained, llm, both = (comparison.planners[p].overall for p in ("trained", "llm", "llm+trained"))
    assert trained.node.f1 == 1.0 and trained.edge.f1 == 1.0 and trained.v_f1 == 1.0
    assert llm.node.f1 == 0.0 and llm.parse_failure_rate == 1.0
    assert both.node.f1 == 1.0 and both.edge.f1 == 1.0
    assert trained.p95_latency_s >= trained.p50_latency_s > 0
