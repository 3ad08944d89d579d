"""A written reply links only artifacts that exist, however the model's stream is split."""

from __future__ import annotations

import random

import pytest

from controller.grounding import (
    LinkGuard,
    artifact_ids,
    chat_history_for_small_model,
    is_work_report,
    report_texts,
)

REAL = "/v1/artifacts/" + "a" * 64 + ".png"
INVENTED = "/v1/artifacts/" + "b" * 64 + ".wav"
REPLY = (
    f"Here is your picture: ![image]({REAL}) and the speech [audio](http://host{INVENTED}), "
    f"also ![image](/v1/artifacts/b0a8…c2222…) and bare /v1/artifacts/zzz. "
    "See [the docs](https://huggingface.co/docs) [sic] too."
)
CLEAN = (
    f"Here is your picture: ![image]({REAL}) and the speech , also  and bare . "
    "See [the docs](https://huggingface.co/docs) [sic] too."
)


def streamed(text: str, guard: LinkGuard, pieces: int, seed: int) -> str:
    cuts = sorted(random.Random(seed).sample(range(1, len(text)), pieces - 1))
    parts = [text[i:j] for i, j in zip([0, *cuts], [*cuts, len(text)], strict=True)]
    return "".join(guard.feed(p) for p in parts) + guard.flush()


@pytest.mark.parametrize("seed", range(30))
def test_invented_artifact_links_are_removed_however_the_stream_is_split(seed):
    guard = LinkGuard(artifact_ids([f"earlier answer: ![image]({REAL})"]))
    assert streamed(REPLY, guard, pieces=1 + seed % 12, seed=seed) == CLEAN
    assert guard.removed == [
        "http://host" + INVENTED,
        "/v1/artifacts/b0a8…c2222…",
        "/v1/artifacts/zzz",
    ]


def test_text_is_released_as_it_comes_except_a_link_being_written():
    guard = LinkGuard(set())
    assert guard.feed("Hello there, ") == "Hello there, "
    assert guard.feed("look: ![ima") == "look: "
    assert guard.feed("ge](/v1/artifacts/abc") == ""
    assert guard.feed(") ok ") == " ok "
    assert guard.feed("cut off: ![image](/v1/art") == "cut off: "
    assert guard.flush() == ""  # a link whose URL was cut off is broken, wherever it pointed


def test_a_work_report_and_its_request_are_kept_from_the_small_model():
    history = [
        ("user", "Draw a lighthouse"),
        ("assistant", f"- **text to image** (offline/tiny-sd): ![image]({REAL})"),
        ("user", "My name is Bob."),
        ("assistant", "Nice to meet you, Bob!"),
        ("user", "Summarise it"),
        ("assistant", "- **summarization**: failed — the expert timed out"),
    ]
    assert chat_history_for_small_model(history) == history[2:4]
    assert is_work_report(history[1][1]) and not is_work_report("Sure - **bold** claim: no")


def test_every_grounded_answer_reads_as_a_work_report():
    """The small model's history filter must recognise what the grounded answer writes, text-only and
    failed tasks included (no artifact link to spot them by)."""
    from controller.response import grounded_answer
    from controller.schema import Task, TaskResult

    tasks = [Task(id=0, task="summarization", args={"text": "a long text"})]
    text_only = [
        TaskResult(task_id=0, task="summarization", model_id="m", status="ok", outputs={"text": "short"})
    ]
    failed = [TaskResult(task_id=0, task="summarization", model_id="m", status="failed", error="timed out")]
    for results in (text_only, failed):
        assert is_work_report(grounded_answer(tasks, [], results))
    assert not is_work_report("I'm doing great! How can I help you today?")


def test_a_reports_texts_are_its_outputs_without_the_heads_links_or_failures():
    from controller.response import grounded_answer
    from controller.schema import Task, TaskResult

    tasks = [
        Task(id=0, task="text-to-image", args={"text": "a lighthouse"}),
        Task(id=1, task="image-to-text", dep=[0], args={"image": "<GENERATED>-0"}),
        Task(id=2, task="translation", dep=[1], args={"text": "<GENERATED>-1"}),
    ]
    results = [
        TaskResult(
            task_id=0,
            task="text-to-image",
            model_id="sd",
            status="ok",
            outputs={"image": "/v1/artifacts/a.png"},
        ),
        TaskResult(
            task_id=1, task="image-to-text", model_id="blip", status="ok", outputs={"text": "a lighthouse"}
        ),
        TaskResult(task_id=2, task="translation", model_id="t5", status="failed", error="timed out"),
    ]
    assert report_texts(grounded_answer(tasks, [], results)) == ["a lighthouse"]
    assert report_texts("Sure, here is a poem about rain.") is None


def test_a_task_run_more_than_once_says_which_run_each_line_is():
    """Three translations read "into Japanese", ...; two questions about one picture each name their question
    (a colon in it would end the head); a task run once is not labelled. The texts still read back."""
    from controller.response import grounded_answer
    from controller.schema import Task, TaskResult

    tasks = [
        Task(id=0, task="translation", args={"text": "Good night", "target_language": "Japanese"}),
        Task(id=1, task="translation", args={"text": "Good night", "target_language": "Korean"}),
        Task(id=2, task="visual-question-answering", args={"image": "party.png", "text": "Note: how many?"}),
        Task(id=3, task="visual-question-answering", args={"image": "party.png", "text": "Is it day?"}),
        Task(id=4, task="summarization", args={"text": "a long text"}),
        Task(id=5, task="sentence-similarity", args={"text": "I love dogs", "text2": "I adore puppies"}),
        Task(id=6, task="sentence-similarity", args={"text": "I love dogs", "text2": "I hate cats"}),
    ]
    outputs = ["おやすみ", "잘 자", "2", "yes", "short", "0.8", "0.1"]
    results = [
        TaskResult(task_id=t.id, task=t.task, model_id="m", status="ok", outputs={"text": o})
        for t, o in zip(tasks, outputs, strict=True)
    ]
    answer = grounded_answer(tasks, [], results)
    assert answer.splitlines() == [
        "- **translation** (m) — into Japanese: おやすみ",
        "- **translation** (m) — into Korean: 잘 자",
        "- **visual question answering** (m) — “Note - how many?”: 2",
        "- **visual question answering** (m) — “Is it day?”: yes",
        "- **summarization** (m): short",
        "- **sentence similarity** (m) — “I love dogs” and “I adore puppies”: 0.8",
        "- **sentence similarity** (m) — “I love dogs” and “I hate cats”: 0.1",
    ]
    assert report_texts(answer) == outputs
