"""The DAG scheduler driven the way controller/pipeline.py drives it: ``run_stream`` over a source that
yields each task (after its `planned_task` event) and then the `plan` event, with a selection callback
that starts each task's model choice as an asyncio task when the task arrives."""

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable

import pytest

from controller.deadline import Deadline
from controller.execution import PollingScheduler, Scheduler
from controller.schema import (
    Event,
    PlanEvent,
    PlannedTaskEvent,
    Route,
    SelectedEvent,
    Selection,
    Task,
    TaskFailedEvent,
    TaskFinishedEvent,
    TaskStartedEvent,
)
from experts.errors import (
    ExpertInputError,
    ExpertOutputError,
    ExpertOverloaded,
    ExpertUnavailable,
    StorageFull,
    StorageUnavailable,
)
from tests.controller.experts_double import TimedExperts

PREFIX = "/v1/artifacts/"


def t(id, task, args, dep=()):
    return Task(id=id, task=task, dep=list(dep), args=args)


async def streamed(tasks: list[Task], before: Callable | None = None) -> AsyncIterator[Task | Event]:
    """The pipeline's source: each task after its `planned_task` event, then the `plan` event.
    ``before(task)`` is awaited before a task is yielded (the LLM still writing the plan)."""
    for task in tasks:
        if before is not None:
            await before(task)
        yield PlannedTaskEvent(task=task)
        yield task
    yield PlanEvent(tasks=tasks)


def selecting(model: str | None = "m", reason: str = "test", delay_s: float = 0.0):
    """The pipeline's selection callback: each task's model choice starts as an asyncio task on arrival."""

    async def choose(task: Task) -> Selection:
        await asyncio.sleep(delay_s)
        return Selection(task_id=task.id, task=task.task, model_id=model, reason=reason)

    return lambda task: asyncio.create_task(choose(task))


async def run(experts, tasks: list[Task], select=None, task_timeout=5.0, scheduler=None) -> list[Event]:
    sched = scheduler or Scheduler(experts, task_timeout_s=task_timeout, url_prefix=PREFIX)
    return [e async for e in sched.run_stream(streamed(tasks), select or selecting())]


def results(events):
    return {e.result.task_id: e.result for e in events if isinstance(e, TaskFinishedEvent | TaskFailedEvent)}


async def test_independent_tasks_run_in_parallel():
    experts = TimedExperts({"text-to-image": 0.3, "text-to-speech": 0.3})
    p = [t(0, "text-to-image", {"text": "a cat"}), t(1, "text-to-speech", {"text": "hi"})]
    events = await run(experts, p)
    assert all(r.status == "ok" for r in results(events).values())
    # Each call started before the other ended: they overlapped, however loaded the machine is.
    (_, _, _, start_a, end_a), (_, _, _, start_b, end_b) = experts.calls
    assert start_b < end_a and start_a < end_b, "two independent tasks ran one after the other"


async def test_a_task_starts_when_its_own_dependencies_finish_not_when_all_do():
    # 0 (fast) -> 2 ; 1 (slow) independent. Task 2 must not wait for task 1.
    experts = TimedExperts({"text-to-image": 0.05, "text-to-speech": 0.4, "image-to-text": 0.05})
    p = [
        t(0, "text-to-image", {"text": "a cat"}),
        t(1, "text-to-speech", {"text": "hello"}),
        t(2, "image-to-text", {"image": "<GENERATED>-0"}, [0]),
    ]
    await run(experts, p)
    ends = {task: end for _, task, _, _, end in experts.calls}
    starts = {task: start for _, task, _, start, _ in experts.calls}
    assert starts["image-to-text"] >= ends["text-to-image"]
    assert ends["image-to-text"] < ends["text-to-speech"]
    assert starts["image-to-text"] - ends["text-to-image"] < 0.25  # no polling interval (JARVIS: up to 0.5 s)


async def test_references_resolve_to_the_output_of_the_needed_kind():
    experts = TimedExperts()
    p = [
        t(0, "object-detection", {"image": "street.png"}),
        t(1, "image-classification", {"image": "<GENERATED>-0"}, [0]),
        t(2, "translation", {"text": "Objects: <GENERATED>-0", "target_language": "French"}, [0]),
    ]
    events = await run(experts, p)
    res = results(events)
    detect_image = res[0].outputs["image"]
    assert detect_image.startswith(PREFIX)  # media leave the scheduler as URLs
    assert res[1].inputs == {"image": detect_image}  # an image input gets the image, not the text
    assert res[2].inputs["text"] == f"Objects: {res[0].outputs['text']}"  # text spliced into text


async def test_a_classifier_referenced_inside_a_text_stands_for_its_top_label(experts):
    """ "write a fun fact about <GENERATED>-0" after a classifier was spliced as "about positive (0.51),
    negative (0.49)"; a reference that is the whole value still gets the full text. Real offline experts."""
    models = {
        "text-classification": "offline/tiny-bert-sentiment",
        "translation": "offline/tiny-t5-translation",
    }

    def select(task: Task):
        choice = Selection(task_id=task.id, task=task.task, model_id=models[task.task], reason="test")
        return asyncio.create_task(asyncio.sleep(0, choice))

    p = [
        t(0, "text-classification", {"text": "What a lovely day"}),
        t(1, "translation", {"text": "The mood is <GENERATED>-0", "target_language": "French"}, [0]),
        t(2, "translation", {"text": "<GENERATED>-0", "target_language": "French"}, [0]),
    ]
    res = results(await run(experts, p, select=select, task_timeout=60))
    top = res[0].outputs["labels"][0]["label"]
    assert res[1].inputs["text"] == f"The mood is {top}"
    assert res[2].inputs["text"] == res[0].outputs["text"]


async def test_failure_skips_dependants_with_reason_and_independent_branch_goes_on():
    experts = TimedExperts({"text-to-speech": 0.1}, fail={"text-to-image": "CUDA out of memory"})
    p = [
        t(0, "text-to-image", {"text": "a cat"}),
        t(1, "image-to-text", {"image": "<GENERATED>-0"}, [0]),
        t(2, "summarization", {"text": "<GENERATED>-1"}, [1]),
        t(3, "text-to-speech", {"text": "independent"}),
    ]
    res = results(await run(experts, p))
    assert res[0].status == "failed" and "CUDA out of memory" in res[0].error
    assert res[1].status == "skipped" and "task 0 (text-to-image) failed" in res[1].error
    assert res[2].status == "skipped" and "task 1" in res[2].error
    assert res[3].status == "ok"


async def test_a_task_that_only_waits_for_a_failed_task_still_runs():
    # The user's question about their own photo is asked after the caption but does not read it.
    experts = TimedExperts(fail={"image-to-text": "CUDA out of memory"})
    p = [
        t(0, "image-to-text", {"image": "street.jpg"}),
        t(1, "visual-question-answering", {"image": "street.jpg", "text": "is it day or night?"}, [0]),
    ]
    res = results(await run(experts, p))
    assert res[0].status == "failed"
    assert res[1].status == "ok" and res[1].error is None


async def test_a_failure_message_never_carries_an_internal_address():
    experts = TimedExperts(fail={"text-to-image": "ActorDiedError: the actor on node 10.0.0.7:6379 died"})
    res = results(await run(experts, [t(0, "text-to-image", {"text": "a cat"})]))[0]
    assert (res.status, res.error) == (
        "failed",
        "RuntimeError: ActorDiedError: the actor on node <address> died",
    )


async def test_a_long_failure_message_is_cut_to_its_first_500_characters_of_its_first_line():
    """A traceback-sized message reaches the client as one line of at most 500 characters of its own."""
    experts = TimedExperts(fail={"text-to-image": "x" * 600 + "\nTraceback (most recent call last): ..."})
    res = results(await run(experts, [t(0, "text-to-image", {"text": "a cat"})]))[0]
    assert res.error == "RuntimeError: " + "x" * 500


async def test_a_slow_expert_times_out_without_holding_the_others():
    experts = TimedExperts({"text-to-video": 5.0, "text-to-speech": 0.05})
    p = [t(0, "text-to-video", {"text": "waves"}), t(1, "text-to-speech", {"text": "hi"})]
    start = time.perf_counter()
    res = results(await run(experts, p, task_timeout=0.3))
    assert time.perf_counter() - start < 4.0  # the 5 s call was cut off, not waited for
    assert res[0].status == "timeout" and "0.3 s" in res[0].error
    assert res[1].status == "ok"


async def test_no_live_model_fails_the_task():
    experts = TimedExperts()
    p = [t(0, "text-to-video", {"text": "waves"})]
    res = results(await run(experts, p, selecting(None, "no live model can run text-to-video")))
    assert (res[0].status, res[0].error, res[0].error_code) == (
        "failed",
        "no live model can run text-to-video",
        "expert_unavailable",
    )


@pytest.mark.parametrize(
    ("upstream", "downstream", "error"),
    [
        (
            t(0, "text-to-speech", {"text": "hello"}),
            t(1, "image-classification", {"image": "<GENERATED>-0"}, [0]),
            "input 'image' needs image, but task 0 (text-to-speech) produced audio",
        ),
        (  # several kinds, none of them the one needed: the client reads every kind it made
            t(0, "object-detection", {"image": "cat.png"}),
            t(1, "automatic-speech-recognition", {"audio": "<GENERATED>-0"}, [0]),
            "input 'audio' needs audio, but task 0 (object-detection) produced text, image",
        ),
    ],
)
async def test_wrong_kind_of_upstream_output_fails_with_a_clear_reason(upstream, downstream, error):
    res = results(await run(TimedExperts(), [upstream, downstream]))
    assert (res[1].status, res[1].error_code, res[1].model_id, res[1].error) == (
        "failed",
        "bad_input",
        "m",
        error,
    )


@pytest.mark.parametrize(
    ("outputs", "made"),
    [({"text": ""}, "produced text"), ({"labels": ["POSITIVE"]}, "produced nothing usable")],
)
async def test_an_empty_or_missing_upstream_text_fails_the_task_that_needs_it(outputs, made):
    """An expert that answered with an empty text (or with labels only) gives the next task nothing to
    work on: that task fails with the reason instead of running on an empty string."""

    class Answering(TimedExperts):
        async def invoke(self, model_id, task, inputs):
            if task == "text-classification":
                return outputs
            return await super().invoke(model_id, task, inputs)

    experts = Answering()
    p = [
        t(0, "text-classification", {"text": "great"}),
        t(1, "summarization", {"text": "<GENERATED>-0"}, [0]),
    ]
    res = results(await run(experts, p))
    assert res[1].status == "failed" and experts.calls == []
    assert f"needs text, but task 0 (text-classification) {made}" in res[1].error


@pytest.mark.parametrize(
    ("answered", "shown"),
    [
        ("a" * 64 + ".png", PREFIX + "a" * 64 + ".png"),  # an artifact id: its URL
        ("https://cdn.example/cat.png", "https://cdn.example/cat.png"),  # already a URL: as it is
        (["b" * 64 + ".png", "/v1/artifacts/c.png"], [PREFIX + "b" * 64 + ".png", "/v1/artifacts/c.png"]),
    ],
)
async def test_media_outputs_reach_the_client_as_urls(answered, shown):
    """Experts answer artifact ids; the client, the LLM and later tasks get URLs, each id prefixed once
    (a URL is never prefixed again), in a list as alone."""

    class Answering(TimedExperts):
        async def invoke(self, model_id, task, inputs):
            return {"image": answered}

    res = results(await run(Answering(), [t(0, "text-to-image", {"text": "a cat"})]))
    assert res[0].outputs["image"] == shown


async def test_a_reference_inside_a_sentence_and_in_a_list_is_resolved_or_named_when_it_cannot_be():
    """Text refers to an upstream output mid-sentence; a list argument holds several references. A
    reference to an output of the wrong kind names the input it was meant for."""
    experts = TimedExperts()
    p = [
        t(0, "summarization", {"text": "long text"}),
        t(1, "translation", {"text": "Say <GENERATED>-0 in French"}, [0]),
        t(2, "text-to-speech", {"text": ["<GENERATED>-0", "<GENERATED>-1"]}, [0, 1]),
        t(3, "text-to-image", {"text": "a cat"}),
        t(4, "translation", {"text": "Describe <GENERATED>-3"}, [3]),
        t(5, "text-to-speech", {"text": ["a caption:", "<GENERATED>-3"]}, [3]),
    ]
    res = results(await run(experts, p))
    summary = res[0].outputs["text"]
    assert res[1].inputs["text"] == f"Say {summary} in French"
    assert res[2].inputs["text"] == [summary, res[1].outputs["text"]]
    assert res[4].error == "input 'text' needs text, but task 3 (text-to-image) produced image"
    assert res[5].error == "input 'text' needs text, but task 3 (text-to-image) produced image"


async def test_a_crash_inside_the_scheduler_fails_only_that_task_and_skips_its_dependants():
    """A bug while running a task (here its model choice raising) must not leave the run or the task's
    dependants waiting forever (before, the run waited for that task's `selected` event until the request's
    deadline): the task fails as `internal` with the error's type and message, the others go on."""

    def select(task: Task):
        if task.id == 0:
            future = asyncio.get_running_loop().create_future()
            future.set_exception(RuntimeError("the selector crashed"))
            return future
        return selecting()(task)

    experts = TimedExperts()
    p = [
        t(0, "text-to-image", {"text": "a cat"}),
        t(1, "image-to-text", {"image": "<GENERATED>-0"}, [0]),
        t(2, "text-to-speech", {"text": "hi"}),
    ]
    res = results(await asyncio.wait_for(run(experts, p, select), 5))
    assert (res[0].task_id, res[0].task, res[0].status, res[0].error_code) == (
        0,
        "text-to-image",
        "failed",
        "internal",
    )
    assert res[0].error == "RuntimeError: the selector crashed"
    assert res[1].status == "skipped" and res[2].status == "ok"
    events = await run(experts, p, select)
    selected = {e.selection.task_id: e.selection for e in events if isinstance(e, SelectedEvent)}
    assert selected[0].model_id is None
    assert selected[0].reason == "the model choice failed: RuntimeError: the selector crashed"


async def test_a_plan_stream_that_breaks_ends_the_run_with_its_error():
    """The LLM's stream failing mid-plan reaches the caller as that error (the pipeline reports it),
    instead of a run that treats half a plan as the whole, or waits forever."""

    async def source() -> AsyncIterator[Task | Event]:
        yield t(0, "text-to-image", {"text": "a cat"})
        raise ConnectionError("the LLM's stream broke")

    sched = Scheduler(TimedExperts(), task_timeout_s=5, url_prefix=PREFIX)
    with pytest.raises(ConnectionError, match="the LLM's stream broke"):
        await asyncio.wait_for(_drain(sched.run_stream(source(), selecting())), 5)


async def _drain(events: AsyncIterator[Event]) -> list[Event]:
    return [e async for e in events]


async def test_a_result_says_how_long_its_expert_took_and_where_it_ran():
    """`elapsed_s` is the expert call's own time (catches a clock added instead of subtracted), and the
    started event names the model and where the task runs."""
    experts = TimedExperts({"text-to-image": 0.2})
    events = await run(experts, [t(0, "text-to-image", {"text": "a cat"})])
    [result] = results(events).values()
    assert 0.2 <= result.elapsed_s < 2.0 and result.ran_on == "local"
    started = next(e for e in events if isinstance(e, TaskStartedEvent))
    assert (started.model_id, started.ran_on) == ("m", "local")


async def test_a_failed_or_timed_out_result_keeps_its_inputs_and_how_long_it_took():
    """What the client reads about a task that did not succeed: the inputs it was given (to see what went
    wrong) and the time until it failed or was given up (a clock added instead of subtracted, or dropped
    inputs, would show)."""
    experts = TimedExperts({"text-to-image": 0.1, "text-to-video": 5.0}, fail={"text-to-image": "no GPU"})
    p = [t(0, "text-to-image", {"text": "a cat"}), t(1, "text-to-video", {"text": "waves"})]
    res = results(await run(experts, p, task_timeout=0.3))
    assert (res[0].status, res[0].inputs) == ("failed", {"text": "a cat"})
    assert 0.1 <= res[0].elapsed_s < 2.0
    assert (res[1].status, res[1].inputs) == ("timeout", {"text": "waves"})
    assert 0.3 <= res[1].elapsed_s < 2.0


async def test_started_comes_before_finished_and_every_task_reports_once():
    experts = TimedExperts()
    p = [t(0, "text-to-image", {"text": "x"}), t(1, "image-to-text", {"image": "<GENERATED>-0"}, [0])]
    events = await run(experts, p)
    kinds = [
        (type(e).__name__, e.result.task_id if hasattr(e, "result") else e.task_id)
        for e in events
        if hasattr(e, "result") or hasattr(e, "task_id")
    ]
    assert kinds.index(("TaskStartedEvent", 0)) < kinds.index(("TaskFinishedEvent", 0))
    assert sum(isinstance(e, TaskFinishedEvent) for e in events) == 2


async def test_closing_the_stream_cancels_running_experts():
    experts = TimedExperts({"text-to-video": 10.0})
    p = [t(0, "text-to-video", {"text": "waves"})]
    sched = Scheduler(experts, task_timeout_s=30, url_prefix=PREFIX)
    stream = sched.run_stream(streamed(p), selecting())
    assert isinstance(await anext(stream), PlannedTaskEvent)  # the source's events pass through
    assert isinstance(await anext(stream), PlanEvent)
    assert isinstance(await anext(stream), SelectedEvent)
    assert isinstance(await anext(stream), TaskStartedEvent)
    await stream.aclose()
    await asyncio.sleep(0)
    assert experts.cancelled == ["text-to-video"]


async def test_closing_the_stream_returns_only_once_every_expert_call_has_wound_down():
    """An expert call's cancellation takes a moment (a replica told to stop); the closed stream waits for
    it, so nothing of the request is still running when the client's connection is released."""

    class SlowToStop(TimedExperts):
        async def invoke(self, model_id, task, inputs):
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                await asyncio.sleep(0.01)
                self.cancelled.append(task)
                raise

    experts = SlowToStop()
    sched = Scheduler(experts, task_timeout_s=30, url_prefix=PREFIX)
    stream = sched.run_stream(streamed([t(0, "text-to-video", {"text": "waves"})]), selecting())
    while not isinstance(await anext(stream), TaskStartedEvent):
        pass
    await stream.aclose()
    assert experts.cancelled == ["text-to-video"]


async def test_closing_the_stream_closes_the_plan_source_before_it_returns():
    """A client that goes away while the LLM is still writing the plan: by the time the closed event
    stream returns, the plan source has been closed too (its LLM stream released), not left for later."""
    closed = []

    async def source() -> AsyncIterator[Task | Event]:
        try:
            yield t(0, "text-to-image", {"text": "a cat"})
            await asyncio.sleep(5)  # the LLM thinking about the next task
        finally:
            await asyncio.sleep(0.01)  # releasing the LLM's stream takes a moment (closing its connection)
            closed.append(True)

    sched = Scheduler(TimedExperts({"text-to-image": 5.0}), task_timeout_s=30, url_prefix=PREFIX)
    stream = sched.run_stream(source(), selecting())
    assert isinstance(await anext(stream), SelectedEvent)
    await stream.aclose()
    assert closed == [True]


async def test_a_request_cancelled_before_the_first_task_closes_the_plan_source_before_it_returns():
    """The same when nothing has been planned yet (no task runs, only the LLM is writing)."""
    closed = []

    async def source() -> AsyncIterator[Task | Event]:
        try:
            await asyncio.sleep(5)  # the LLM thinking about the first task
            yield t(0, "text-to-image", {"text": "a cat"})
        finally:
            await asyncio.sleep(0.01)  # releasing the LLM's stream takes a moment (closing its connection)
            closed.append(True)

    stream = Scheduler(TimedExperts(), task_timeout_s=30, url_prefix=PREFIX).run_stream(source(), selecting())
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(anext(stream), 0.05)
    assert closed == [True]


@pytest.mark.parametrize("width", [8])
async def test_wide_fan_out_and_join(width):
    experts = TimedExperts({"text-to-image": 0.1, "image-to-text": 0.1, "summarization": 0.1})
    tasks = [t(i, "text-to-image", {"text": f"scene {i}"}) for i in range(width)]
    tasks += [t(width + i, "image-to-text", {"image": f"<GENERATED>-{i}"}, [i]) for i in range(width)]
    joined = " ".join(f"<GENERATED>-{width + i}" for i in range(width))
    tasks.append(t(2 * width, "summarization", {"text": joined}, list(range(width, 2 * width))))
    res = results(await run(experts, tasks))
    assert all(r.status == "ok" for r in res.values())
    # Every picture was being made while every other was: the fan-out ran side by side.
    pictures = [(start, end) for _, task, _, start, end in experts.calls if task == "text-to-image"]
    assert max(start for start, _ in pictures) < min(end for _, end in pictures)
    summary_start = next(start for _, task, _, start, _ in experts.calls if task == "summarization")
    assert summary_start >= max(end for _, task, _, _, end in experts.calls if task == "image-to-text")


async def test_polling_scheduler_keeps_the_dag_semantics():
    experts = TimedExperts({"text-to-image": 0.05}, fail={"text-to-speech": "boom"})
    p = [
        t(0, "text-to-image", {"text": "a cat"}),
        t(1, "image-to-text", {"image": "<GENERATED>-0"}, [0]),
        t(2, "text-to-speech", {"text": "hi"}),
        t(3, "summarization", {"text": "<GENERATED>-2"}, [2]),
    ]
    sched = PollingScheduler(experts, task_timeout_s=5, url_prefix=PREFIX, interval_s=0.05)
    res = results(await run(experts, p, scheduler=sched))
    assert [res[i].status for i in range(4)] == ["ok", "ok", "failed", "skipped"]
    assert res[3].error_code == "upstream_failed"
    assert res[3].error == "skipped because task 2 (text-to-speech) failed: RuntimeError: boom"
    starts = {task: start for _, task, _, start, _ in experts.calls}
    ends = {task: end for _, task, _, _, end in experts.calls}
    assert starts["image-to-text"] >= ends["text-to-image"]


async def test_the_polling_scheduler_waits_for_a_dependency_over_many_passes():
    """Task 1 waits for a dependency that takes 15 polling intervals: each pass that finds nothing ready
    must sleep. A pass that loops again at once never yields, so the expert never finishes and the run
    hangs (caught by the mutation run's time limit)."""
    experts = TimedExperts({"text-to-image": 0.3})
    p = [t(0, "text-to-image", {"text": "a cat"}), t(1, "image-to-text", {"image": "<GENERATED>-0"}, [0])]
    sched = PollingScheduler(experts, task_timeout_s=5, url_prefix=PREFIX, interval_s=0.02)
    res = results(await asyncio.wait_for(run(experts, p, scheduler=sched), 5))
    assert [res[0].status, res[1].status] == ["ok", "ok"]
    assert res[1].inputs["image"] == res[0].outputs["image"]


async def test_the_polling_scheduler_starts_a_task_that_arrives_after_the_others_finished():
    """A streamed plan whose second task comes after the first has already finished: the polling loop must
    still be there to start it (a loop that ends whenever nothing is pending leaves it waiting forever)."""
    experts = TimedExperts()

    async def source() -> AsyncIterator[Task | Event]:
        yield t(0, "text-to-image", {"text": "a cat"})
        await asyncio.sleep(0.2)  # the LLM writing the next task
        yield t(1, "text-to-speech", {"text": "meow"})

    sched = PollingScheduler(experts, task_timeout_s=5, url_prefix=PREFIX, interval_s=0.02)
    res = results(await asyncio.wait_for(_drain(sched.run_stream(source(), selecting())), 5))
    assert [res[0].status, res[1].status] == ["ok", "ok"]


async def test_a_task_starts_while_the_plan_is_still_streaming():
    """Task 1 arrives only once task 0 has started (or after 2 s): a scheduler that reads the whole plan
    before starting anything keeps task 0 waiting and fails here."""
    started = asyncio.Event()

    class Signalling(TimedExperts):
        async def invoke(self, model_id, task, inputs):
            started.set()
            return await super().invoke(model_id, task, inputs)

    experts = Signalling({"text-to-image": 0.1})
    started_before_next_arrived: list[bool] = []

    async def llm_still_writing(task: Task) -> None:
        if task.id > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(started.wait(), 2.0)
            started_before_next_arrived.append(started.is_set())

    p = [t(0, "text-to-image", {"text": "a cat"}), t(1, "image-to-text", {"image": "<GENERATED>-0"}, [0])]
    sched = Scheduler(experts, task_timeout_s=5, url_prefix=PREFIX)
    events = [e async for e in sched.run_stream(streamed(p, llm_still_writing), selecting())]
    assert started_before_next_arrived == [True]
    res = results(events)
    assert res[1].status == "ok" and res[1].inputs["image"] == res[0].outputs["image"]
    kinds = [type(e).__name__ for e in events]
    assert kinds.index("TaskStartedEvent") < kinds.index("PlanEvent")  # task 0 ran before the plan was whole


async def test_a_task_waits_only_for_its_own_model_choice():
    """Selections run concurrently with the DAG: a slow choice for task 1 does not hold task 0."""
    experts = TimedExperts()
    slow, fast = selecting(delay_s=0.3), selecting()
    p = [t(0, "text-to-image", {"text": "a cat"}), t(1, "text-to-speech", {"text": "hi"})]
    start = time.perf_counter()
    events = await run(experts, p, lambda task: (slow if task.id == 1 else fast)(task))
    first_started = next(e for e in events if isinstance(e, TaskStartedEvent))
    assert first_started.task_id == 0
    assert experts.calls[0][3] - start < 0.3  # task 0 did not wait for task 1's 300 ms choice


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (StorageFull("the artifact store is full"), "storage_full"),
        (StorageUnavailable("the artifact store is down"), "storage_unavailable"),
        (ExpertUnavailable("no replica"), "expert_unavailable"),
        (ExpertInputError("not an image"), "bad_input"),
        (ExpertOutputError("the model returned nothing"), "bad_output"),
        (RuntimeError("CUDA error"), "internal"),
    ],
)
async def test_each_expert_failure_reaches_the_client_with_its_error_code(error, code):
    """The task's error_code is the API's contract (README error codes); catches a kind of failure
    reported under another code, or under none."""

    class Failing(TimedExperts):
        async def invoke(self, model_id, task, inputs):
            raise error

    events = await run(Failing(), [t(0, "summarization", {"text": "x"})])
    [ended] = [e for e in events if isinstance(e, TaskFinishedEvent | TaskFailedEvent)]
    assert isinstance(ended, TaskFailedEvent)  # the stream's `task_failed`, not `task_finished`
    assert ended.result.status == "failed" and ended.result.error_code == code


async def test_a_failure_without_a_message_is_named_by_its_type():
    """Catches the error text taken from an empty message (a crash while reporting the failure, or
    invented text): the client reads "RuntimeError" and the code "internal"."""

    class Silent(TimedExperts):
        async def invoke(self, model_id, task, inputs):
            raise RuntimeError("  ")

    res = results(await run(Silent(), [t(0, "summarization", {"text": "x"})]))[0]
    assert (res.status, res.error, res.error_code) == ("failed", "RuntimeError", "internal")


async def test_the_polling_scheduler_stops_a_task_at_its_timeout_and_its_loop_at_the_end():
    """``controller.scheduler: polling`` keeps the task timeout, and its polling loop ends with the run
    instead of polling forever in the background."""
    experts = TimedExperts({"text-to-image": 2.0})
    sched = PollingScheduler(experts, task_timeout_s=0.2, url_prefix=PREFIX, interval_s=0.02)
    res = results(await run(experts, [t(0, "text-to-image", {"text": "a cat"})], scheduler=sched))
    assert (res[0].status, res[0].error_code) == ("timeout", "timeout")
    await asyncio.sleep(0.1)
    pollers = [
        task for task in asyncio.all_tasks() if task.get_coro().__qualname__ == "PollingScheduler._poll"
    ]
    assert pollers == []


async def test_past_the_deadline_the_plan_still_streaming_is_closed():
    """The LLM still writing the plan when the deadline passes is stopped (its stream closed, so no more
    tokens are paid for); the task that already came ends as deadline_exceeded."""
    closed = asyncio.Event()

    async def source() -> AsyncIterator[Task | Event]:
        try:
            yield t(0, "text-to-image", {"text": "a cat"})
            await asyncio.sleep(5)  # the LLM thinking about the next task
            yield t(1, "image-to-text", {"image": "<GENERATED>-0"}, [0])
        finally:
            closed.set()

    experts = TimedExperts({"text-to-image": 2.0})
    sched = Scheduler(experts, task_timeout_s=5, url_prefix=PREFIX)
    events = [e async for e in sched.run_stream(source(), selecting(), Deadline(0.3))]
    assert closed.is_set()
    [(task_id, result)] = results(events).items()
    assert (task_id, result.status, result.error_code) == (0, "timeout", "deadline_exceeded")
    assert (
        result.error
        == "the request's deadline (0.3 s) passed before this task finished; its work was stopped"
    )


class _Stream:
    """A plan source that is an async iterator object, not a generator (as an SDK's stream object is)."""

    def __init__(self) -> None:
        self.sent = False

    def __aiter__(self) -> "_Stream":
        return self

    async def __anext__(self) -> Task:
        if not self.sent:
            self.sent = True
            return t(0, "text-to-image", {"text": "a cat"})
        await asyncio.sleep(5)  # the LLM thinking about the next task
        raise StopAsyncIteration


class _ClosableStream(_Stream):
    closed = False

    async def aclose(self) -> None:
        self.closed = True


@pytest.mark.parametrize("stream_type", [_ClosableStream, _Stream])
async def test_past_the_deadline_a_plan_source_that_is_not_a_generator_is_closed_too(stream_type):
    """Cancelling an iterator's ``__anext__`` does not close it, so the scheduler calls its ``aclose``
    itself (without that, the stream and the LLM behind it run on after the request ended); a source with
    no ``aclose`` ends the run all the same."""
    stream = stream_type()
    sched = Scheduler(TimedExperts({"text-to-image": 2.0}), task_timeout_s=5, url_prefix=PREFIX)
    events = [e async for e in sched.run_stream(stream, selecting(), Deadline(0.3))]
    assert getattr(stream, "closed", True)
    assert [(r.status, r.error_code) for r in results(events).values()] == [("timeout", "deadline_exceeded")]


ROUTES = [
    Route(model_id="local-a"),
    Route(model_id="local-b"),
    Route(model_id="remote-c", runtime="remote", provider="hf"),
]


def on_routes(task: Task) -> asyncio.Future[Selection]:
    """A model choice that settled on ROUTES: local-a first, then the others in order."""
    chosen = Selection(task_id=task.id, task=task.task, model_id="local-a", reason="t", routes=ROUTES)
    future = asyncio.get_running_loop().create_future()
    future.set_result(chosen)
    return future


class _LocalAFails(TimedExperts):
    """Local experts whose first route, local-a, raises ``error`` (None: answers like the others)."""

    def __init__(self, error: BaseException | None):
        super().__init__()
        self.error = error

    async def invoke(self, model_id, task, inputs):
        if model_id == "local-a" and self.error is not None:
            raise self.error
        return await super().invoke(model_id, task, inputs)


async def run_on_routes(error: BaseException | None) -> tuple[list[Event], TimedExperts, TimedExperts]:
    """One summarization task chosen on ROUTES: (its events, the local experts, the remote ones)."""
    local, remote = _LocalAFails(error), TimedExperts()
    sched = Scheduler(local, task_timeout_s=5, url_prefix=PREFIX, remote=remote)
    events = [e async for e in sched.run_stream(streamed([t(0, "summarization", {"text": "x"})]), on_routes)]
    return events, local, remote


@pytest.mark.parametrize(
    ("error", "model", "ran_on", "overflow", "note"),
    [
        (
            ExpertOverloaded("local-a is overloaded: its queue is full"),
            "remote-c",
            "remote (hf)",
            True,
            "local-a on local was full; ran remote-c on remote (hf) instead",
        ),
        (
            RuntimeError("boom"),
            "local-b",
            "local",
            False,
            "local-a on local failed (internal: RuntimeError: boom); ran local-b on local instead",
        ),
    ],
)
async def test_a_full_local_expert_hands_over_to_a_remote_route_a_failed_one_to_the_next(
    error, model, ran_on, overflow, note
):
    """Overflow (the local queue is full) skips the other local replicas, which are as busy, for a remote
    route; a failure takes the next route, whichever it is. Either way once, and the result says why."""

    events, local, remote = await run_on_routes(error)
    [result] = results(events).values()
    assert (result.status, result.model_id, result.ran_on) == ("ok", model, ran_on)
    assert (result.overflow, result.fallback) == (overflow, note)
    assert [e.ran_on for e in events if isinstance(e, TaskStartedEvent)] == ["local", ran_on]
    assert [c[0] for c in (remote if overflow else local).calls] == [model]


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [(None, "ok", None), (ExpertInputError("not an image"), "failed", "bad_input")],
)
async def test_a_task_that_succeeds_or_fails_by_its_input_is_not_handed_over(error, status, code):
    """Only the model's own failure moves a task to the next route: a success is never run again, and
    input the model rejects would be rejected anywhere."""

    events, _, remote = await run_on_routes(error)
    [result] = results(events).values()
    assert (result.status, result.error_code, result.model_id) == (status, code, "local-a")
    assert result.fallback is None and remote.started == []
    assert sum(isinstance(e, TaskStartedEvent) for e in events) == 1
