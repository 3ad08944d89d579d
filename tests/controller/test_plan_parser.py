import json

import pytest

from controller.plan_parser import parse_plan
from controller.schema import Plan, PlanError
from experts.tasks import TASK_TYPES

ALL = set(TASK_TYPES)


def parse(reply, offered=ALL, max_tasks=10) -> Plan:
    if not isinstance(reply, str):
        reply = json.dumps(reply)
    return parse_plan(reply, offered, max_tasks)


def test_jarvis_shape_with_dep_minus_one_and_generated_reference():
    plan = parse(
        [
            {"task": "image-to-text", "id": 0, "dep": [-1], "args": {"image": "/e1.jpg"}},
            {"task": "text-to-speech", "id": 1, "dep": [0], "args": {"text": "<GENERATED>-0"}},
        ]
    )
    assert [(t.id, t.task, t.dep) for t in plan.tasks] == [
        (0, "image-to-text", []),
        (1, "text-to-speech", [0]),
    ]
    assert plan.tasks[1].args == {"text": "<GENERATED>-0"}


@pytest.mark.parametrize(
    "written",
    [
        "<GENERATED>-0",
        "<GENERATED>0",
        "<resource>-0",
        "<node-0>",
        "<node_0>",
        "<task-0>",
        "<output_of_0>",
        "<GENERATED-0>",
        "<node-0-output-1>",
        "<output_of_image_to_text>",
    ],
)
def test_reference_spellings_become_canonical_and_make_the_dependency(written):
    plan = parse(
        [
            {"task": "image-to-text", "id": 0, "args": {"image": "a.png"}},
            {"task": "summarization", "id": 1, "args": {"text": written}},
        ]
    )
    assert plan.tasks[1].args["text"] == "<GENERATED>-0"
    assert plan.tasks[1].dep == [0]  # derived: no "dep" was written


def test_taskbench_shape_positional_arguments_and_tool_names():
    plan = parse(
        {
            "task_nodes": [
                {"task": "Image Editing", "arguments": ["make the sky purple", "photo.jpg"]},
                {"task": "Image Classification", "arguments": ["<node-0>"]},
            ],
            "task_links": [{"source": "Image Editing", "target": "Image Classification"}],
        }
    )
    edit, classify = plan.tasks
    assert edit.task == "image-to-image" and edit.args == {
        "image": "photo.jpg",
        "text": "make the sky purple",
    }
    assert classify.args == {"image": "<GENERATED>-0"} and classify.dep == [0]
    assert any("Image Editing" in r for r in plan.repairs)


def test_several_references_in_one_argument():
    plan = parse(
        [
            {"id": 0, "task": "image-to-text", "args": {"image": "a.png"}},
            {"id": 1, "task": "automatic-speech-recognition", "args": {"audio": "b.wav"}},
            {"id": 2, "task": "summarization", "args": {"text": "<GENERATED>-0 and <GENERATED>-1"}},
        ]
    )
    assert plan.tasks[2].dep == [0, 1]
    assert plan.tasks[2].args["text"] == "<GENERATED>-0 and <GENERATED>-1"


def test_arguments_named_otherwise_are_placed_by_kind():
    plan = parse(
        [{"id": 0, "task": "visual-question-answering", "args": {"img": "x.png", "question": "how many?"}}]
    )
    assert plan.tasks[0].args == {"image": "x.png", "text": "how many?"}
    assert plan.repairs  # each move is recorded


UPSTREAM = [
    {"id": 0, "task": "text-to-image", "args": {"text": "a red fox"}},
    {"id": 1, "task": "image-to-text", "args": {"image": "<GENERATED>-0"}},
]


@pytest.mark.parametrize(
    ("value", "image"),
    [
        ("<GENERATED>-0", "<GENERATED>-0"),  # the upstream task makes an image
        ("photo.JPG?size=2", "photo.JPG?size=2"),  # a file by its suffix, any case, query ignored
        ("data:image/png;base64,AAAA", "data:image/png;base64,AAAA"),
        (["a.png", "b.png"], ["a.png", "b.png"]),  # a list by its first item
        ("<GENERATED>-1", None),  # the upstream task makes text: not an image
        ("my photo.png", None),  # words with a space are text, whatever they end with
        (5, None),
        ("data:text/plain;base64,AAAA", None),
    ],
)
def test_an_argument_named_nothing_useful_is_placed_by_what_its_value_carries(value, image):
    """Argument names that say nothing ("first", "second"): only the value tells an image from text.
    Catches a wrong kind for references, suffixes, data URLs or lists (mutation survivors in
    _value_kind): the image lands in the text slot or a text in the image slot."""
    vqa = {"id": 2, "task": "visual-question-answering", "args": {"first": value, "second": "how many?"}}
    if image is None:
        with pytest.raises(PlanError, match="lacks its required image input"):
            parse([*UPSTREAM, vqa])
        return
    plan = parse([*UPSTREAM, vqa])
    assert plan.tasks[2].args == {"image": image, "text": "how many?"}


@pytest.mark.parametrize(("value", "fits"), [("speech.WAV", True), ("clip.mp4", False), ("song.flac", True)])
def test_a_media_file_goes_only_to_an_input_of_its_kind(value, fits):
    reply = [{"id": 0, "task": "automatic-speech-recognition", "args": {"x": value}}]
    if not fits:
        with pytest.raises(PlanError, match="lacks its required audio input"):
            parse(reply)
        return
    assert parse(reply).tasks[0].args == {"audio": value}


def test_an_argument_name_says_its_kind_in_any_case():
    """A value that says nothing (a URL without a suffix): the name decides, "PhotoURL" as "photourl"."""
    plan = parse(
        [
            {
                "id": 0,
                "task": "visual-question-answering",
                "args": {"q": "how many?", "PhotoURL": "https://x.test/1"},
            }
        ]
    )
    assert plan.tasks[0].args == {"image": "https://x.test/1", "text": "how many?"}


def test_missing_input_is_taken_from_a_declared_dependency():
    plan = parse(
        [
            {"id": 0, "task": "text-to-image", "args": {"text": "a red fox"}},
            {"id": 1, "task": "image-classification", "dep": [0], "args": {}},
        ]
    )
    assert plan.tasks[1].args == {"image": "<GENERATED>-0"}
    assert any("taken from the output of task 0" in r for r in plan.repairs)


def test_near_miss_task_names_are_normalised_with_a_note():
    plan = parse([{"id": 0, "task": "Speech Recognition", "args": {"audio": "a.wav"}}])
    assert plan.tasks[0].task == "automatic-speech-recognition"
    assert plan.repairs


def test_duplicate_ids_are_renumbered():
    plan = parse(
        [
            {"id": 0, "task": "text-to-image", "args": {"text": "a cat"}},
            {"id": 0, "task": "text-to-image", "args": {"text": "a dog"}},
        ]
    )
    assert sorted(t.id for t in plan.tasks) == [0, 1]
    assert any("duplicate id" in r for r in plan.repairs)


def test_missing_ids_take_the_position():
    plan = parse(
        [
            {"task": "text-to-image", "args": {"text": "a cat"}},
            {"task": "image-to-text", "args": {"image": "<GENERATED>-0"}},
        ]
    )
    assert [t.id for t in plan.tasks] == [0, 1]


def test_declared_dependency_that_closes_a_loop_is_dropped():
    plan = parse(
        [
            {"id": 0, "task": "text-to-image", "dep": [1], "args": {"text": "a cat"}},
            {"id": 1, "task": "image-to-text", "dep": [0], "args": {"image": "<GENERATED>-0"}},
        ]
    )
    assert plan.tasks[0].dep == [] and plan.tasks[1].dep == [0]
    assert any("cycle" in r for r in plan.repairs)


def test_empty_plan_is_valid():
    assert parse({"tasks": []}).tasks == []
    assert parse([]).tasks == []


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        ([{"id": 0, "task": "make-coffee", "args": {"text": "x"}}], "unknown task type 'make-coffee'"),
        (
            [
                {"id": 0, "task": "summarization", "args": {"text": "<GENERATED>-1"}},
                {"id": 1, "task": "summarization", "args": {"text": "<GENERATED>-0"}},
            ],
            "cycle",
        ),
        (
            [{"id": 0, "task": "summarization", "args": {"text": "<GENERATED>-7"}}],
            "task 7, which does not exist",
        ),
        ([{"id": 0, "task": "summarization", "args": {"text": "<GENERATED>-0"}}], "its own output"),
        ([{"id": 0, "task": "image-classification", "args": {}}], "lacks its required image input"),
        ([{"id": i, "task": "summarization", "args": {"text": "x"}} for i in range(11)], "at most 10"),
        ('{"answer": "hello"}', "without a 'tasks' list"),
        (["not an object"], "not JSON objects"),
    ],
)
def test_unrepairable_plans_are_rejected_with_a_reason(reply, reason):
    with pytest.raises(PlanError, match=reason):
        parse(reply)


def test_task_type_without_a_live_model_is_rejected():
    with pytest.raises(PlanError, match="no available model offers") as e:
        parse([{"id": 0, "task": "text-to-video", "args": {"text": "x"}}], offered={"text-to-image"})
    assert "allowed task types: text-to-image" in str(e.value)


def test_a_task_listing_itself_as_a_dependency_does_not_feed_itself():
    # Small models write "dep": [own id]; the missing input must not be repaired into a self-reference.
    plan = parse(
        [
            {"id": 0, "task": "text-to-image", "dep": [0], "args": {"text": "a cat"}},
            {"id": 1, "task": "image-classification", "dep": [0, 1], "args": {}},
        ]
    )
    assert plan.tasks[0].dep == [] and plan.tasks[1].args == {"image": "<GENERATED>-0"}


# --- hostile arguments: linear time, huge ids, size caps ---

HOSTILE_TEXTS = {
    "digits after a reference word": "<node" + "1" * 200_000,
    "spaces after <generated>": "<generated>" + " " * 200_000,
    "spaces before a number": "<output of" + " " * 200_000,
    "a name that never closes": "<output of " + "a" * 200_000,
    "many openers": "<node-1 " * 30_000,
}


@pytest.mark.parametrize("text", HOSTILE_TEXTS.values(), ids=list(HOSTILE_TEXTS))
def test_reading_references_takes_linear_time(text):
    import time

    from controller.plan_parser import plan_from_data

    start = time.perf_counter()
    with pytest.raises(PlanError):  # over the text cap, or a dangling reference
        plan_from_data([{"id": 0, "task": "summarization", "args": {"text": text}}], ALL, 10)
    assert time.perf_counter() - start < 0.5  # was ~3.5 s for 50,000 digits, minutes for 1 MB


def test_lenient_json_reading_is_linear_too():
    import time

    from controller.jsonish import JSONishError, loads_lenient

    start = time.perf_counter()
    with pytest.raises(JSONishError):
        loads_lenient("[" + "true, " * 100_000 + "'")
    assert time.perf_counter() - start < 2


@pytest.mark.parametrize(
    "tasks",
    [
        [{"id": 0, "task": "summarization", "args": {"text": "hi"}},
         {"id": 1, "task": "summarization", "args": {"text": "<GENERATED>-" + "9" * 5000}}],
        [{"id": 0, "task": "summarization", "args": {"text": "hi"}},
         {"id": 1, "task": "summarization", "args": {"text": "<node-" + "9" * 5000 + ">"}}],
    ],
    ids=["generated", "node"],
)  # fmt: skip
def test_a_reference_to_a_5000_digit_id_is_a_plan_error(tasks):
    from controller.plan_parser import plan_from_data

    with pytest.raises(PlanError, match="does not exist"):
        plan_from_data(tasks, ALL, 10)


def test_a_5000_digit_task_id_is_renumbered_not_a_crash():
    from controller.plan_parser import plan_from_data

    plan = plan_from_data([{"id": "9" * 5000, "task": "summarization", "args": {"text": "hi"}}], ALL, 10)
    assert plan.tasks[0].id == 0


@pytest.mark.parametrize(
    ("task", "args", "says"),
    [
        ("text-to-speech", {"text": "word " * 2000}, "text-to-speech takes at most 5,000"),
        ("summarization", {"text": "x" * 20_001}, "takes at most 20,000"),
        ("text-to-image", {"text": "a cat " * 400}, "at most 2,000"),
        ("zero-shot-classification", {"text": "hi", "labels": ",".join(f"l{i}" for i in range(1000))}, "1,000 labels"),
        ("summarization", {"text": ["x"] * 17}, "17 items"),
    ],
)  # fmt: skip
def test_oversize_arguments_are_refused_with_the_cap(task, args, says):
    from controller.plan_parser import plan_from_data

    with pytest.raises(PlanError, match=says):
        plan_from_data([{"id": 0, "task": task, "args": args}], ALL, 10)
