"""LLMCompiler-style planning: tasks start while the LLM is still writing the plan."""

import json

from controller.plan_stream import TaskObjectScanner
from controller.schema import DoneEvent, PlanEvent, PlannedTaskEvent, TaskStartedEvent
from tests.controller.experts_double import TimedExperts
from tests.controller.helpers import collect, pipeline, plan_reply

CHAIN = plan_reply(
    {"id": 0, "task": "text-to-image", "args": {"text": "a lighthouse at dusk"}},
    {"id": 1, "task": "image-to-text", "args": {"image": "<GENERATED>-0"}},
    {"id": 2, "task": "summarization", "args": {"text": "<GENERATED>-1"}},
)


def feed_in_pieces(text: str, size: int) -> list[str]:
    scanner = TaskObjectScanner()
    found: list[str] = []
    for i in range(0, len(text), size):
        found += scanner.feed(text[i : i + size])
    return found


def test_scanner_finds_each_task_object_whatever_the_chunking():
    text = 'Here you go: {"tasks": [{"id": 0, "args": {"text": "a } tricky [ \\"quoted\\" cat"}}, {"id": 1, "dep": [0]}]}'
    for size in (1, 3, 7, 1000):
        found = feed_in_pieces(text, size)
        assert [json.loads(f)["id"] for f in found] == [0, 1]
        assert json.loads(found[0])["args"]["text"] == 'a } tricky [ "quoted" cat'


def test_scanner_reads_a_bare_list_and_ignores_what_follows_it():
    found = feed_in_pieces('[{"id": 0}, {"id": 1}] and then {"id": 9}', 4)
    assert [json.loads(f)["id"] for f in found] == [0, 1]


async def test_the_first_task_starts_before_the_plan_is_finished(llm_script):
    llm_script.on("plan", CHAIN, chunk_delay_s=0.02)
    llm_script.on("respond", "done")
    experts = TimedExperts()
    events = await collect(
        pipeline(llm_script, experts, stream_plan=True).run([{"role": "user", "content": "go"}])
    )
    kinds = [e.type for e in events]
    first_start, plan_at = kinds.index("task_started"), kinds.index("plan")
    assert first_start < plan_at  # the expert was called while the LLM was still writing
    assert [e.task.id for e in events if isinstance(e, PlannedTaskEvent)] == [0, 1, 2]
    plan = next(e for e in events if isinstance(e, PlanEvent))
    assert [t.dep for t in plan.tasks] == [[], [0], [1]]
    done = events[-1]
    assert isinstance(done, DoneEvent) and [r.status for r in done.results] == ["ok", "ok", "ok"]
    assert done.answer == "done"
    started = [e.task_id for e in events if isinstance(e, TaskStartedEvent)]
    assert started == [0, 1, 2]


async def test_a_broken_tail_keeps_the_tasks_already_released(llm_script):
    reply = (
        '{"tasks": [{"id": 0, "task": "text-to-image", "args": {"text": "a cat"}}, '
        '{"id": 1, "task": "brew-coffee", "args": {"text": "<GENERATED>-0"}}]}'
    )
    llm_script.on("plan", reply)
    llm_script.on("respond", "partial")
    events = await collect(
        pipeline(llm_script, TimedExperts(), stream_plan=True).run([{"role": "user", "content": "x"}])
    )
    plan = next(e for e in events if isinstance(e, PlanEvent))
    assert [t.task for t in plan.tasks] == ["text-to-image"]
    assert any("dropped" in r and "brew-coffee" in r for r in plan.repairs)
    assert [r.status for r in events[-1].results] == ["ok"]
    assert len(llm_script.calls("plan")) == 1  # no retry: work was already under way


async def test_nothing_releasable_falls_back_to_the_retry(llm_script):
    llm_script.on("plan", "I'd rather chat.", times=1)
    llm_script.on("plan", plan_reply({"id": 0, "task": "text-to-speech", "args": {"text": "hello"}}))
    llm_script.on("respond", "spoken")
    events = await collect(
        pipeline(llm_script, TimedExperts(), stream_plan=True).run([{"role": "user", "content": "x"}])
    )
    assert len(llm_script.calls("plan")) == 2
    assert [r.status for r in events[-1].results] == ["ok"] and events[-1].answer == "spoken"


async def test_a_streamed_empty_plan_is_a_chat_answer(llm_script):
    llm_script.on("plan", '{"tasks": []}')
    llm_script.on("chat", "Hello!")
    events = await collect(
        pipeline(llm_script, TimedExperts(), stream_plan=True).run([{"role": "user", "content": "hi"}])
    )
    assert events[-1].chitchat and events[-1].answer == "Hello!"


async def test_a_cut_off_stream_keeps_the_tasks_it_completed(llm_script):
    first = '{"tasks": [{"id": 0, "task": "text-to-image", "args": {"text": "a cat"}}, {"id": 1, "ta'
    llm_script.on("plan", first, finish_reason="length")
    llm_script.on("respond", "kept")
    events = await collect(
        pipeline(llm_script, TimedExperts(), stream_plan=True).run([{"role": "user", "content": "x"}])
    )
    plan = next(e for e in events if isinstance(e, PlanEvent))
    assert [t.id for t in plan.tasks] == [0] and any("cut off" in r for r in plan.repairs)
    assert [r.status for r in events[-1].results] == ["ok"]


async def test_a_task_is_held_until_the_task_it_references_is_released(llm_script):
    """The LLM writes the consumer before its producer: task 0 reads task 1's image. Task 0 must wait
    for task 1's object and then follow it, never start first. Catches a stream that releases each task
    as soon as its own JSON parses (task 0 would run with a dangling reference)."""
    reply = plan_reply(
        {"id": 0, "task": "image-to-text", "args": {"image": "<GENERATED>-1"}},
        {"id": 1, "task": "text-to-image", "args": {"text": "a lighthouse at dusk"}},
    )
    llm_script.on("plan", reply, chunk_delay_s=0.02)
    llm_script.on("respond", "done")
    experts = TimedExperts()
    events = await collect(
        pipeline(llm_script, experts, stream_plan=True).run([{"role": "user", "content": "go"}])
    )
    assert [e.task.id for e in events if isinstance(e, PlannedTaskEvent)] == [1, 0]
    assert [e.task_id for e in events if isinstance(e, TaskStartedEvent)] == [1, 0]
    done = events[-1]
    assert isinstance(done, DoneEvent) and [r.status for r in done.results] == ["ok", "ok"]
    caption, image = done.results
    assert caption.inputs["image"] == image.outputs["image"]
