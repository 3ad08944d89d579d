"""The shapes other LLMs reply in, each read into the same plan (found missing by `make mutate`: the plan
parser's aliases, limits and renumbering had no test that would notice them break)."""

from __future__ import annotations

import json

import pytest

from controller.plan_parser import MAX_ID_DIGITS, parse_plan
from controller.schema import Plan, PlanError
from experts.tasks import TASK_TYPES

ALL = set(TASK_TYPES)
CAPTION = {"task": "image-to-text", "id": 0, "args": {"image": "a.png"}}
SPEAK = {"task": "text-to-speech", "id": 1, "args": {"text": "<GENERATED>-0"}}


def parse(reply, offered=ALL, max_tasks=10) -> Plan:
    return parse_plan(json.dumps(reply), offered, max_tasks)


def shape(plan: Plan) -> list[tuple[int, str, list[int], dict]]:
    return [(t.id, t.task, t.dep, t.args) for t in plan.tasks]


EXPECTED = [
    (0, "image-to-text", [], {"image": "a.png"}),
    (1, "text-to-speech", [0], {"text": "<GENERATED>-0"}),
]


def test_a_plan_of_exactly_max_tasks_is_accepted_and_one_more_refused():
    """Catches an off-by-one in the task limit."""
    three = [{"task": "summarization", "id": i, "args": {"text": f"text {i}"}} for i in range(3)]
    assert len(parse(three, max_tasks=3).tasks) == 3
    with pytest.raises(PlanError, match="the plan has 4 tasks; at most 3 are allowed"):
        parse([*three, {"task": "summarization", "id": 3, "args": {"text": "x"}}], max_tasks=3)


@pytest.mark.parametrize("key", ["name", "tool"])
def test_the_task_type_may_be_written_as_name_or_tool(key):
    items = [{key if k == "task" else k: v for k, v in item.items()} for item in (CAPTION, SPEAK)]
    assert shape(parse(items)) == EXPECTED


@pytest.mark.parametrize("key", ["arguments", "parameters", "inputs"])
def test_the_arguments_may_be_written_under_other_keys(key):
    items = [{key if k == "args" else k: v for k, v in item.items()} for item in (CAPTION, SPEAK)]
    assert shape(parse(items)) == EXPECTED


def test_task_id_is_read_as_the_id():
    items = [{"task_id" if k == "id" else k: v for k, v in item.items()} for item in (SPEAK, CAPTION)]
    items[0]["task_id"], items[1]["task_id"] = 1, 0  # listed out of order: the ids written decide
    plan = parse(items)
    assert sorted(shape(plan)) == EXPECTED and not plan.repairs


@pytest.mark.parametrize("key", ["dep", "deps", "dependencies"])
def test_declared_dependencies_under_any_key_are_kept(key):
    second = {"task": "summarization", "id": 1, key: [0], "args": {"text": "a fixed text"}}
    assert parse([{"task": "summarization", "id": 0, "args": {"text": "x"}}, second]).tasks[1].dep == [0]


def test_a_single_task_object_and_a_dict_of_tasks_are_plans_too():
    assert shape(parse(CAPTION)) == EXPECTED[:1]
    assert shape(parse({"tasks": {"0": CAPTION, "1": SPEAK}})) == EXPECTED


@pytest.mark.parametrize("key", ["tasks", "task_nodes", "plan", "task_list", "steps", "nodes"])
def test_the_task_list_may_sit_under_any_usual_key(key):
    assert shape(parse({key: [CAPTION, SPEAK]})) == EXPECTED


def test_an_empty_object_is_an_empty_plan_and_other_objects_are_refused_with_the_reason():
    assert parse({}).tasks == []
    with pytest.raises(PlanError) as e:
        parse({"answer": "hello"})
    assert e.value.reasons == ["the reply is a JSON object without a 'tasks' list"]
    with pytest.raises(PlanError) as e:
        parse({"tasks": "caption the photo"})
    assert e.value.reasons == ["the plan must be a JSON list of tasks"]


def test_duplicate_and_missing_ids_are_renumbered_past_every_id_written():
    """Catches a duplicate given an id that another task already carries, or a negative/missing id not
    replaced by its position."""
    items = [
        {"task": "summarization", "id": 5, "args": {"text": "a"}},
        {"task": "summarization", "id": 5, "args": {"text": "b"}},
        {"task": "summarization", "id": 7, "args": {"text": "c"}},
        {"task": "summarization", "id": -1, "args": {"text": "d"}},
    ]
    plan = parse(items)
    assert [t.id for t in plan.tasks] == [5, 8, 7, 3]
    assert "task at position 1: duplicate id 5 renumbered to 8" in plan.repairs
    assert "task at position 3: id -1 replaced by 3" in plan.repairs


def test_ids_of_more_than_the_allowed_digits_are_not_ids():
    big = 10**MAX_ID_DIGITS
    plan = parse([{"task": "summarization", "id": big, "args": {"text": "a"}}])
    assert plan.tasks[0].id == 0 and plan.repairs == [f"task at position 0: id {big} replaced by 0"]
    ok = parse([{"task": "summarization", "id": big - 1, "args": {"text": "a"}}])
    assert ok.tasks[0].id == big - 1


def test_taskbench_from_quirk_is_a_reference_to_the_named_task():
    """TaskBench writes an upstream output as {"from": "Image-to-Text"}."""
    second = {"task": "text-to-speech", "id": 1, "args": {"text": {"from": "image-to-text"}}}
    assert shape(parse([CAPTION, second])) == EXPECTED


def test_a_reference_to_a_huge_task_number_is_refused_with_the_reason():
    second = {"task": "text-to-speech", "id": 1, "args": {"text": "<GENERATED>-12345678901234"}}
    with pytest.raises(PlanError) as e:
        parse([CAPTION, second])
    assert any("refers to task 123456789012…, which does not exist" in p for p in e.value.reasons)


def test_an_unknown_task_type_names_the_allowed_ones():
    with pytest.raises(PlanError) as e:
        parse([{"task": "mind-reading", "args": {"text": "x"}}], offered={"summarization", "translation"})
    assert e.value.reasons == [
        "task 0 has unknown task type 'mind-reading'",
        "allowed task types: summarization, translation",
    ]


def test_a_bare_value_or_null_as_args_is_read_as_positional_or_nothing():
    plan = parse([{"task": "image-to-text", "id": 0, "args": "a.png"}])
    assert plan.tasks[0].args == {"image": "a.png"}
    with pytest.raises(PlanError, match="lacks its required image input 'image'"):
        parse([{"task": "image-to-text", "id": 0, "args": None}])


def test_positional_values_land_on_the_input_of_their_kind_in_any_order():
    """A question and a picture for visual question answering, written either way round; a data URL is
    an image by its media type."""
    for args in (["a.png", "what is on it?"], ["what is on it?", "a.png"]):
        plan = parse([{"task": "visual-question-answering", "id": 0, "args": args}])
        assert plan.tasks[0].args == {"image": "a.png", "text": "what is on it?"}
    url = "data:image/png;base64,iVBORw0KGgo="
    plan = parse([{"task": "visual-question-answering", "id": 0, "args": ["what?", url]}])
    assert plan.tasks[0].args == {"image": url, "text": "what?"}


def test_a_list_of_references_points_at_every_task_listed():
    plan = parse(
        [
            {"task": "text-to-image", "id": 0, "args": {"text": "a cat"}},
            {"task": "text-to-image", "id": 1, "args": {"text": "a dog"}},
            {"task": "image-to-text", "id": 2, "args": {"image": ["<GENERATED>-0", "<GENERATED>-1"]}},
        ]
    )
    assert plan.tasks[2].args == {"image": ["<GENERATED>-0", "<GENERATED>-1"]} and plan.tasks[2].dep == [0, 1]


def test_a_referenced_picture_goes_to_the_image_input_and_the_text_to_the_text_input():
    plan = parse(
        [
            {"task": "text-to-image", "id": 0, "args": {"text": "a cat"}},
            {"task": "visual-question-answering", "id": 1, "args": ["what colour is it?", "<GENERATED>-0"]},
        ]
    )
    assert plan.tasks[1].args == {"image": "<GENERATED>-0", "text": "what colour is it?"}


def test_an_argument_that_fits_no_input_is_dropped_with_a_note_and_a_dangling_reference_refused():
    plan = parse([{"task": "summarization", "id": 0, "args": {"text": "long text", "style": 3}}])
    assert plan.tasks[0].args == {"text": "long text"}
    assert "task 0: argument 'style' does not fit summarization; dropped" in plan.repairs
    with pytest.raises(PlanError) as e:
        parse(
            [
                {"task": "text-to-image", "id": 0, "args": {"text": "a cat"}},
                {"task": "summarization", "id": 1, "args": {"text": "x", "extra": "<GENERATED>-0"}},
            ]
        )
    assert "task 1 (summarization) has no input for argument 'extra'" in e.value.reasons


def test_a_named_argument_is_kept_on_its_input_even_beside_positional_ones():
    plan = parse([{"task": "visual-question-answering", "id": 0, "args": {"text": "why?", "image": "b.jpg"}}])
    assert plan.tasks[0].args == {"image": "b.jpg", "text": "why?"} and not plan.repairs


@pytest.mark.parametrize(
    ("first", "args", "placed"),
    [
        # A reference to a task that makes an image (and text) fills the image slot, even written first.
        (
            {"task": "object-detection", "id": 0, "args": {"image": "a.png"}},
            ["<GENERATED>-0", "what is this?"],
            {"image": "<GENERATED>-0", "text": "what is this?"},
        ),
        # A reference to a task that makes only text fills the text slot; the file goes to the image.
        (CAPTION, ["<GENERATED>-0", "b.png"], {"image": "b.png", "text": "<GENERATED>-0"}),
        # A number is text, a one-file list is that file's kind.
        (None, [7, "b.png"], {"image": "b.png", "text": 7}),
        (None, {"question": "what?", "pictures": ["b.png"]}, {"image": ["b.png"], "text": "what?"}),
    ],
)
def test_unnamed_arguments_go_to_the_input_of_their_kind(first, args, placed):
    """Catches an argument placed by position instead of by what it carries: a caption fed to the image
    input of a visual question, or a crash on a one-element list."""
    ask = {"task": "visual-question-answering", "id": 1 if first else 0, "args": args}
    plan = parse([first, ask] if first else [ask])
    assert plan.tasks[-1].args == placed


def test_arguments_named_for_an_input_stay_there_whatever_they_carry():
    """Catches names ignored in favour of kinds: the detector's output (an image and its labels) asked
    about as text would be taken for the image, and the photo dropped."""
    detect = {"task": "object-detection", "id": 0, "args": {"image": "a.png"}}
    ask = {"task": "visual-question-answering", "id": 1, "args": {"image": "b.png", "text": "<GENERATED>-0"}}
    assert parse([detect, ask]).tasks[1].args == {"image": "b.png", "text": "<GENERATED>-0"}


def test_odd_argument_values_are_read_not_lost():
    """An empty args string is no argument (the input comes from the dependency); a dict becomes its text;
    an unnamed value of no known kind goes to the one input left."""
    summary = {"task": "summarization", "id": 1, "args": "", "dep": [0]}
    assert parse([CAPTION, summary]).tasks[1].args == {"text": "<GENERATED>-0"}
    odd = {"task": "summarization", "id": 0, "args": {"text": {"a": "x", "b": "y"}}}
    assert parse([odd]).tasks[0].args == {"text": "{'a': 'x', 'b': 'y'}"}
    scan = {"task": "image-to-text", "id": 0, "args": ["scan-0042"]}
    assert parse([scan]).tasks[0].args == {"image": "scan-0042"}


@pytest.mark.parametrize(
    ("reference", "problem"),
    [
        ("<GENERATED>-1", "task 1 refers to its own output"),
        ("<GENERATED>-7", "task 1 refers to the output of task 7, which does not exist"),
    ],
)
def test_a_bad_reference_inside_a_list_is_reported(reference: str, problem: str):
    ask = {"task": "visual-question-answering", "id": 1, "args": {"image": [reference], "text": "q"}}
    with pytest.raises(PlanError) as refused:
        parse([CAPTION, ask])
    assert refused.value.args[0] == problem


def test_a_reference_to_an_id_of_the_longest_allowed_length_is_valid():
    """Catches an off-by-one in the id length limit of references."""
    big = 10 ** (MAX_ID_DIGITS - 1)
    plan = parse([{**CAPTION, "id": big}, {**SPEAK, "args": {"text": f"<GENERATED>-{big}"}}])
    assert plan.tasks[1].dep == [big]


def test_ids_and_dependencies_written_as_strings_are_numbers():
    reply = [
        {**CAPTION, "id": "0"},
        {**SPEAK, "id": " 1 ", "dep": ["0"]},
    ]
    assert shape(parse(reply)) == EXPECTED


def test_every_argument_is_tried_and_only_real_changes_are_noted():
    """Catches the loop that stops at the first argument that fits nowhere, and repair notes (shown to
    the LLM and in the plan) for arguments that were placed as they were."""
    plan = parse([{"task": "image-to-text", "id": 0, "args": {"foo": "bar baz", "picture": "a.png"}}])
    assert plan.tasks[0].args == {"image": "a.png"}
    assert plan.repairs == [
        "task 0: argument 'foo' does not fit image-to-text; dropped",
        "task 0: argument 'picture' read as 'image'",
    ]
    for args in (["a.png"], {"image": "a.png", "extra": ""}):
        plan = parse([{"task": "image-to-text", "id": 0, "args": args}])
        assert (plan.tasks[0].args, plan.repairs) == ({"image": "a.png"}, [])
    plan = parse([{"task": "image-to-text", "id": 0, "args": ["a.png", "a caption please"]}])
    assert plan.tasks[0].args == {"image": "a.png"}  # no input left for the second: dropped, not a crash
    assert plan.repairs == ["task 0: argument 'a caption please' does not fit image-to-text; dropped"]


@pytest.mark.parametrize(
    ("reply", "source"),
    [
        # The question a visual QA lacks comes from the caption it depends on.
        (
            [CAPTION, {"task": "visual-question-answering", "id": 1, "args": {"image": "b.png"}, "dep": [0]}],
            0,
        ),
        # Of two dependencies, the one that makes text feeds a summary, not the first one listed.
        (
            [
                {"task": "text-to-speech", "id": 0, "args": {"text": "hi"}},
                {**CAPTION, "id": 1},
                {"task": "summarization", "id": 2, "args": {}, "dep": [0, 1]},
            ],
            1,
        ),
        # A task listed among its own dependencies never feeds itself.
        ([{"task": "summarization", "id": 0, "args": {}, "dep": [0, 1]}, {**CAPTION, "id": 1}], 1),
    ],
)
def test_a_missing_input_is_taken_from_the_dependency_that_makes_it(reply, source):
    lacking = next(t for t in parse(reply).tasks if t.task in ("visual-question-answering", "summarization"))
    assert lacking.args["text"] == f"<GENERATED>-{source}"


def test_a_task_without_an_id_takes_the_next_free_one():
    """Catches a missing id filled with the task's position although an earlier task holds that id."""
    plan = parse([{**CAPTION, "id": 1}, {"task": "text-to-speech", "args": {"text": "hi"}}])
    assert [t.id for t in plan.tasks] == [1, 2]


def test_dependency_repairs_and_cycles_are_explained():
    """The notes the LLM and the client read: a dependency on a task that does not exist is dropped, a
    cycle only declared is cut back to the references, a cycle of references is refused with its path."""
    plan = parse([CAPTION, {**SPEAK, "dep": [0, 9]}])
    assert (plan.tasks[1].dep, plan.repairs) == ([0], ["task 1: dependency on missing task(s) [9] dropped"])
    plan = parse([{**CAPTION, "dep": [1]}, SPEAK])
    assert shape(plan) == EXPECTED
    assert plan.repairs == ["declared dependencies formed a cycle; kept only those implied by references"]
    loop = [
        {**CAPTION, "args": {"image": "<GENERATED>-1"}},
        {"task": "image-to-image", "id": 1, "args": {"image": "<GENERATED>-0"}},
    ]
    with pytest.raises(PlanError) as refused:
        parse(loop)
    assert refused.value.args[0] == "the tasks form a cycle: 0 -> 1 -> 0"


@pytest.mark.parametrize(
    ("key", "reference"),
    [("task", "<image-to-text>"), ("task", "<image captioning>"), ("name", "<image captioning>")],
)
def test_a_reference_by_task_name_finds_the_task_however_it_was_written(key: str, reference: str):
    """Catches references by name resolved only by the canonical name, only by the name as written, or
    only under the "task" key: the speech would read "<image captioning>" aloud instead of the caption."""
    reply = [
        {key: "image captioning", "id": 0, "args": {"image": "a.png"}},
        {"task": "tts", "id": 1, "args": {"text": reference}},
    ]
    assert shape(parse(reply)) == EXPECTED


def test_a_task_without_a_type_is_named_in_the_refusal():
    with pytest.raises(PlanError, match=r"^task 0 has unknown task type ''; allowed task types: "):
        parse([{"id": 0, "args": {"image": "a.png"}}])


def test_an_argument_over_its_cap_is_refused_naming_the_task():
    from controller.argument_limits import MAX_TEXT_CHARS, MAX_TEXT_CHARS_BY_TASK

    cap = MAX_TEXT_CHARS_BY_TASK.get("summarization", MAX_TEXT_CHARS)
    with pytest.raises(PlanError) as refused:
        parse([CAPTION, {"task": "summarization", "id": 1, "args": {"text": "x" * (cap + 1)}}])
    assert refused.value.args[0].startswith(
        f"task 1: argument 'text' has {cap + 1:,} characters; summarization"
    )
