from controller.demos import Demo
from controller.prompts import DEMO_ARG_CHARS, plan_messages
from controller.schema import Task

LONG = "word " * 100


def test_demo_plans_in_the_prompt_clip_long_literals_but_keep_references():
    demo = Demo(
        request="Summarise this and read it aloud: " + LONG,
        tasks=[
            Task(id=0, task="summarization", args={"text": LONG}),
            Task(id=1, task="text-to-speech", dep=[0], args={"text": "<GENERATED>-0"}),
        ],
    )
    messages = plan_messages("Read 'hi' aloud", [], {"summarization", "text-to-speech"}, [demo], 10)
    shown = messages[2]["content"]
    assert messages[1]["content"] == demo.request  # the request itself is shown whole
    assert f'"text": "{LONG[:DEMO_ARG_CHARS].rstrip()}…"' in shown
    assert '"text": "<GENERATED>-0"' in shown
    assert len(shown) < len(demo.plan_json()) - 300
