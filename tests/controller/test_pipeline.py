"""The four stages end to end: the real openai client against the scripted LLM over HTTP."""

import json

import pytest

from controller.schema import (
    AnswerDeltaEvent,
    DoneEvent,
    ErrorEvent,
    PlanEvent,
    SelectedEvent,
    TaskFailedEvent,
    TaskFinishedEvent,
    TaskStartedEvent,
)
from tests.controller.experts_double import TimedExperts
from tests.controller.helpers import collect, echo_urls, pipeline, plan_reply

FAN_OUT_AND_JOIN = plan_reply(
    {"id": 0, "task": "text-to-image", "dep": [-1], "args": {"text": "a lighthouse at dusk"}},
    {"id": 1, "task": "object-detection", "dep": [0], "args": {"image": "<GENERATED>-0"}},
    {"id": 2, "task": "image-to-text", "dep": [0], "args": {"image": "<GENERATED>-0"}},
    {"id": 3, "task": "summarization", "dep": [1, 2], "args": {"text": "<GENERATED>-1 <GENERATED>-2"}},
)


async def test_an_answer_links_the_artifacts_made_and_never_an_invented_one(llm_script):
    invented = "/v1/artifacts/" + "f" * 64 + ".wav"
    llm_script.on("plan", plan_reply({"id": 0, "task": "text-to-image", "args": {"text": "a lighthouse"}}))
    llm_script.on(
        "respond", lambda body: echo_urls(body) + f" and here it is read aloud: [audio]({invented})"
    )
    gpt = pipeline(llm_script, TimedExperts({"text-to-image": 0.01}))
    events = await collect(gpt.run([{"role": "user", "content": "Draw a lighthouse"}]))
    done = events[-1]
    image = done.results[0].outputs["image"]
    assert f"![result]({image})" in done.answer and invented not in done.answer
    assert done.answer.endswith("here it is read aloud: ")
    assert "".join(e.delta for e in events if isinstance(e, AnswerDeltaEvent)) == done.answer


async def test_an_answer_may_link_the_earlier_image_a_task_worked_on(llm_script):
    earlier = "/v1/artifacts/" + "e" * 64 + ".png"
    llm_script.on("plan", plan_reply({"id": 0, "task": "image-to-text", "args": {"image": earlier}}))
    llm_script.on("respond", echo_urls)  # cites every artifact it was shown, the input among them
    gpt = pipeline(llm_script, TimedExperts({"image-to-text": 0.01}))
    done = (await collect(gpt.run([{"role": "user", "content": "describe the picture you drew"}])))[-1]
    assert done.results[0].status == "ok" and f"![result]({earlier})" in done.answer


@pytest.mark.parametrize("stream_plan", [True, False])
async def test_a_file_the_llm_plans_by_the_name_the_user_gave_is_the_attached_file(llm_script, stream_plan):
    # The LLM reads "cat.png" and the attachment's marker, and copies the name: no expert can open it.
    attached = "/v1/artifacts/" + "c" * 64 + ".png"
    llm_script.on("plan", plan_reply({"id": 0, "task": "image-to-text", "args": {"image": "cat.png"}}))
    llm_script.on("respond", "It is a cat.")
    experts = TimedExperts()
    gpt = pipeline(llm_script, experts, stream_plan=stream_plan, planner="llm")
    request = f"What animal is in cat.png?\n[attached image: {attached}]"
    events = await collect(gpt.run([{"role": "user", "content": request}]))
    [(_, task, inputs, _, _)] = experts.calls
    assert task == "image-to-text" and inputs["image"] == attached
    [plan] = [e for e in events if isinstance(e, PlanEvent)]
    assert plan.tasks[0].args["image"] == attached  # what the page and the CLI show as the plan


async def test_a_request_flows_through_all_four_stages(llm_script):
    llm_script.on("plan", FAN_OUT_AND_JOIN)
    llm_script.on(
        "select", json.dumps({"id": "Salesforce/blip-image-captioning-large", "reason": "better captions"})
    )
    llm_script.on("respond", echo_urls)
    experts = TimedExperts({"text-to-image": 0.05})
    gpt = pipeline(llm_script, experts)
    events = await collect(
        gpt.run([{"role": "user", "content": "Draw a lighthouse, then describe and summarise it"}])
    )

    assert isinstance(events[0], PlanEvent) and [t.id for t in events[0].tasks] == [0, 1, 2, 3]
    assert events[0].tasks[3].dep == [1, 2]
    selected = {e.selection.task_id: e.selection for e in events if isinstance(e, SelectedEvent)}
    assert selected[2].model_id == "Salesforce/blip-image-captioning-large" and selected[2].llm_used
    assert selected[0].model_id == "runwayml/stable-diffusion-v1-5" and not selected[0].llm_used
    assert len(llm_script.calls("select")) == 1  # only the task with a choice asked the LLM
    started = [e.task_id for e in events if isinstance(e, TaskStartedEvent)]
    assert started[0] == 0 and started[-1] == 3
    assert sum(isinstance(e, TaskFinishedEvent) for e in events) == 4

    done = events[-1]
    assert isinstance(done, DoneEvent) and done.answer_source == "llm" and not done.chitchat
    image_url = done.results[0].outputs["image"]
    assert (
        image_url.startswith("/v1/artifacts/") and image_url in done.answer
    )  # URLs reach the answer verbatim
    assert "".join(e.delta for e in events if isinstance(e, AnswerDeltaEvent)) == done.answer
    assert set(done.usage) == {"plan", "select", "respond"} and done.usage["plan"].prompt_tokens > 0
    assert {"plan_s", "execute_s", "respond_s", "total_s"} <= set(done.timings)
    # The summariser got both upstream texts, spliced into its input.
    summary_inputs = done.results[3].inputs["text"]
    assert (
        done.results[1].outputs["text"] in summary_inputs
        and done.results[2].outputs["text"] in summary_inputs
    )


async def test_the_planner_sees_the_task_types_demos_and_trimmed_history(llm_script):
    llm_script.on("plan", plan_reply({"id": 0, "task": "text-to-image", "args": {"text": "a cat"}}))
    llm_script.on("respond", "ok")
    gpt = pipeline(llm_script, TimedExperts(), history_token_budget=100)
    old = "very old turn " * 200
    await collect(
        gpt.run(
            [
                {"role": "user", "content": old},
                {"role": "assistant", "content": "noted"},
                {"role": "user", "content": "now draw a cat"},
            ]
        )
    )
    messages = llm_script.calls("plan")[0]["messages"]
    assert "text-to-image" in messages[0]["content"] and "image-to-text" in messages[0]["content"]
    assert "video" not in messages[0]["content"]  # no live text-to-video model: not offered
    assert any(m["role"] == "assistant" and '"tasks"' in m["content"] for m in messages)  # demonstrations
    last = messages[-1]["content"]
    assert "now draw a cat" in last and "noted" in last and "very old turn" not in last


async def test_an_empty_plan_is_a_chat_answer(llm_script):
    llm_script.on("plan", '{"tasks": []}')
    llm_script.on("chat", "Paris is the capital of France.")
    events = await collect(
        pipeline(llm_script, TimedExperts()).run([{"role": "user", "content": "Capital of France?"}])
    )
    assert events[0].chitchat and "no model" in events[0].chitchat_reason
    done = events[-1]
    assert done.chitchat and done.answer == "Paris is the capital of France."


async def test_one_retry_shows_the_llm_its_error(llm_script):
    llm_script.on("plan", "Sure! I will draw it for you.", times=1)
    llm_script.on("plan", plan_reply({"id": 0, "task": "text-to-image", "args": {"text": "a cat"}}))
    llm_script.on("respond", "here it is")
    events = await collect(
        pipeline(llm_script, TimedExperts()).run([{"role": "user", "content": "draw a cat"}])
    )
    retry = llm_script.calls("plan")[1]["messages"]
    assert retry[-2] == {"role": "assistant", "content": "Sure! I will draw it for you."}
    assert "could not be used" in retry[-1]["content"] and "no JSON" in retry[-1]["content"]
    assert not events[0].chitchat and events[-1].results[0].status == "ok"


async def test_garbage_twice_gives_a_flagged_chat_answer(llm_script):
    llm_script.on("plan", '[{"task": "brew-coffee", "args": {}}]')
    llm_script.on("chat", "I can't do that, but here is some help.")
    events = await collect(
        pipeline(llm_script, TimedExperts(), planner="llm").run([{"role": "user", "content": "make coffee"}])
    )
    assert len(llm_script.calls("plan")) == 2
    assert events[0].chitchat and "brew-coffee" in events[0].chitchat_reason
    assert events[-1].chitchat and events[-1].answer.startswith("I can't")


async def test_garbage_twice_from_the_llm_is_planned_by_the_trained_planner(llm_script):
    """The default with a real LLM ("auto" = llm+trained): an unusable LLM plan is not the end."""
    llm_script.on("plan", "I would love to help with that!")
    llm_script.on("respond", echo_urls)
    experts = TimedExperts()
    events = await collect(
        pipeline(llm_script, experts).run([{"role": "user", "content": "Draw a red bicycle"}])
    )
    assert len(llm_script.calls("plan")) == 2  # the LLM had its retry first
    assert not events[0].chitchat and [t.task for t in events[0].tasks] == ["text-to-image"]
    assert experts.calls and experts.calls[0][1] == "text-to-image"
    assert events[-1].results[0].status == "ok"


async def test_a_cut_off_plan_is_not_executed(llm_script):
    cut = '{"tasks": [{"id": 0, "task": "text-to-image", "dep": [], "args": {"text": "a cat"}}, {"id": 1, "ta'
    llm_script.on("plan", cut, finish_reason="length")
    llm_script.on("chat", "Sorry.")
    experts = TimedExperts()
    gpt = pipeline(llm_script, experts, planner="llm")
    events = await collect(gpt.run([{"role": "user", "content": "draw two cats"}]))
    assert events[0].chitchat and "cut off" in events[0].chitchat_reason
    assert experts.calls == []


async def test_llm_timeout_while_planning_is_a_typed_error(llm_script):
    llm_script.on("plan", "{}", delay_s=2)
    events = await collect(
        pipeline(llm_script, TimedExperts(), llm={"timeout_s": 0.3}).run([{"role": "user", "content": "hi"}])
    )
    assert (
        isinstance(events[0], ErrorEvent)
        and events[0].code == "llm_unavailable"
        and events[0].stage == "plan"
    )
    assert isinstance(events[-1], DoneEvent) and events[-1].answer_source == "none"


async def test_when_the_answer_cannot_be_written_the_results_are_kept(llm_script):
    llm_script.on("plan", plan_reply({"id": 0, "task": "text-to-image", "args": {"text": "a cat"}}))
    llm_script.on("respond", "", status=500)
    events = await collect(
        pipeline(llm_script, TimedExperts()).run([{"role": "user", "content": "draw a cat"}])
    )
    errors = [e for e in events if isinstance(e, ErrorEvent)]
    assert errors and errors[0].stage == "respond"
    done = events[-1]
    assert done.answer_source == "fallback" and done.results[0].outputs["image"] in done.answer


async def test_failed_tasks_reach_the_answer_prompt_with_their_reason(llm_script):
    llm_script.on(
        "plan",
        plan_reply(
            {"id": 0, "task": "text-to-image", "args": {"text": "a cat"}},
            {"id": 1, "task": "image-to-text", "args": {"image": "<GENERATED>-0"}},
            {"id": 2, "task": "text-to-speech", "args": {"text": "meow"}},
        ),
    )
    llm_script.on("select", json.dumps({"id": "Salesforce/blip-image-captioning-large", "reason": "r"}))
    llm_script.on("respond", "partial results")
    experts = TimedExperts(fail={"text-to-image": "out of memory"})
    events = await collect(pipeline(llm_script, experts).run([{"role": "user", "content": "cat"}]))
    statuses = {
        e.result.task_id: e.result.status
        for e in events
        if isinstance(e, TaskFinishedEvent | TaskFailedEvent)
    }
    assert statuses == {0: "failed", 1: "skipped", 2: "ok"}
    report = llm_script.calls("respond")[0]["messages"][-1]["content"]
    assert "out of memory" in report and "skipped because task 0" in report


@pytest.mark.parametrize(
    ("messages", "reason"),
    [
        ([], "at least one user message"),
        ([{"role": "user", "content": ""}], "empty"),
        ([{"role": "user", "content": "x" * 1_000_000}], "1,000,000 characters"),
        ([{"role": "assistant", "content": "hi"}], "must come from the user"),
        ([{"role": "user", "content": [{"type": "file", "file": {}}]}], "invalid message"),
        ([{"role": "wizard", "content": "hi"}], "invalid message"),
        (
            [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "ftp://x/y.png"}}]}],
            "http(s) URL",
        ),
    ],
)
async def test_bad_input_is_a_typed_error_event_not_an_exception(llm_script, messages, reason):
    events = await collect(pipeline(llm_script, TimedExperts()).run(messages))
    assert isinstance(events[0], ErrorEvent) and events[0].code == "invalid_request"
    assert reason in events[0].message
    assert isinstance(events[-1], DoneEvent)
    assert llm_script.requests == []  # nothing was sent to the LLM


async def test_plan_only_and_results_only_runs(llm_script):
    llm_script.on("plan", FAN_OUT_AND_JOIN)
    llm_script.on("select", json.dumps({"id": "Salesforce/blip-image-captioning-large", "reason": "r"}))
    gpt = pipeline(llm_script, TimedExperts())
    plan_only = await collect(gpt.run([{"role": "user", "content": "x"}], until="plan"))
    assert [type(e) for e in plan_only] == [PlanEvent, DoneEvent] and len(plan_only[-1].tasks) == 4
    results = await collect(gpt.run([{"role": "user", "content": "x"}], until="results"))
    assert len(results[-1].results) == 4 and results[-1].answer == ""
    assert llm_script.calls("respond") == []


async def test_closing_a_run_cancels_the_experts_still_working(llm_script):
    llm_script.on("plan", plan_reply({"id": 0, "task": "text-to-image", "args": {"text": "a slow painting"}}))
    experts = TimedExperts({"text-to-image": 10.0})
    run = pipeline(llm_script, experts).run([{"role": "user", "content": "paint slowly"}])
    async for event in run:
        if isinstance(event, TaskStartedEvent):
            break
    await run.aclose()  # what the HTTP layer does when the client disconnects
    assert experts.cancelled == ["text-to-image"]


async def test_end_to_end_with_real_in_process_experts(llm_script, experts, offline_catalog, store):
    """run() over the real adapters on the offline models: speech made, transcribed, summarised."""
    from controller.config import ControllerConfig, LLMConfig
    from controller.llm import LLMClient
    from controller.pipeline import HuggingGPT

    llm_script.on(
        "plan",
        plan_reply(
            {"id": 0, "task": "text-to-speech", "args": {"text": "Good morning, everyone."}},
            {"id": 1, "task": "automatic-speech-recognition", "args": {"audio": "<GENERATED>-0"}},
            {"id": 2, "task": "text-to-image", "args": {"text": "<GENERATED>-1"}},
        ),
    )
    llm_script.on("respond", echo_urls)
    cfg = ControllerConfig()
    llm = LLMClient(LLMConfig(base_url=llm_script.base_url, model="scripted", max_retries=0))
    live = {m.id for m in offline_catalog if m.runnable}

    async def live_models():
        return live

    gpt = HuggingGPT(cfg, llm, offline_catalog, experts, live_models, attachments=store)
    done = (await collect(gpt.run([{"role": "user", "content": "say it, hear it, draw it"}])))[-1]
    speech, heard, image = done.results
    assert [r.status for r in done.results] == ["ok", "ok", "ok"]
    assert "morning" in heard.outputs["text"].lower()  # real Piper voice, real Whisper
    assert image.inputs["text"] == heard.outputs["text"]  # ASR text chained into the next task
    data, media_type = store.get(image.outputs["image"].rsplit("/", 1)[1])
    assert media_type == "image/png" and data.startswith(b"\x89PNG")
    assert speech.outputs["audio"] in done.answer and image.outputs["image"] in done.answer
