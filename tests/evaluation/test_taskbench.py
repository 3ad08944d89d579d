import json
from pathlib import Path

import pytest

from controller.demo_pool import GoldRecord, read_records
from controller.schema import PlanError
from evaluation.taskbench import DEV_SIZES, assert_disjoint, build, convert, convert_all, split

SOURCE = Path(__file__).resolve().parents[2] / ".." / "shared" / "taskbench" / "huggingface"


def raw(nodes, type_="chain", id_="1", links=None) -> dict:
    return {"id": id_, "type": type_, "instruction": "do it", "task_nodes": nodes, "task_links": links or []}


def shape(record: GoldRecord) -> list[tuple[int, str, list[int], dict]]:
    return [(t.id, t.task, t.dep, t.args) for t in record.tasks]


def test_plain_chain_with_node_references():
    record = convert(
        raw(
            [
                {"task": "Automatic Speech Recognition", "arguments": ["example.wav"]},
                {"task": "Summarization", "arguments": ["<node-0>"]},
            ]
        )
    )
    assert shape(record) == [
        (0, "automatic-speech-recognition", [], {"audio": "example.wav"}),
        (1, "summarization", [0], {"text": "<GENERATED>-0"}),
    ]


def test_task_nodes_as_a_dict_and_arguments_as_a_string():  # HF 17353313, HF 17786563
    record = convert(raw({"step_1": {"task": "Text Generation", "arguments": "Being organized helps."}}))
    assert shape(record) == [(0, "text-generation", [], {"text": "Being organized helps."})]
    assert "task_nodes was a dict" in record.repairs and "arguments was not a list" in record.repairs


def test_reference_by_task_name_and_a_from_dict():  # HF 13708813, HF 27098196
    by_name = convert(
        raw(
            [
                {"task": "Image Segmentation", "arguments": ["example.jpg"]},
                {
                    "task": "Document Question Answering",
                    "arguments": ["<output_of_Image_Segmentation>", "Why?"],
                },
            ]
        )
    )
    assert by_name.tasks[1].dep == [0] and by_name.tasks[1].args["image"] == "<GENERATED>-0"
    from_dict = convert(
        raw(
            [
                {"task": "Translation", "arguments": ["Welche Farbe?"]},
                {"task": "Visual Question Answering", "arguments": ["example.png", {"from": "Translation"}]},
            ],
            type_="dag",
        )
    )
    assert from_dict.tasks[1].dep == [0]
    assert from_dict.tasks[1].args == {"image": "example.png", "text": "<GENERATED>-0"}


def test_tasks_are_renumbered_in_dependency_order():  # HF 26302132: the join comes first
    record = convert(
        raw(
            [
                {"task": "Sentence Similarity", "arguments": ["<node-1>", "<node-2>"]},
                {"task": "Summarization", "arguments": ["a long text"]},
                {"task": "Visual Question Answering", "arguments": ["example.jpg", "What is it?"]},
            ],
            type_="dag",
        )
    )
    assert shape(record) == [
        (0, "summarization", [], {"text": "a long text"}),
        (1, "visual-question-answering", [], {"image": "example.jpg", "text": "What is it?"}),
        (2, "sentence-similarity", [0, 1], {"text": "<GENERATED>-0", "text2": "<GENERATED>-1"}),
    ]
    assert "tasks renumbered in dependency order" in record.repairs


def test_one_based_references_are_read_as_such():  # HF 33970123: node 1 refers to "<node-1>"
    record = convert(
        raw(
            [
                {"task": "Document Question Answering", "arguments": ["document.jpg", "Who wrote it?"]},
                {"task": "Conversational", "arguments": ["<node-1>"]},
            ]
        )
    )
    assert record.tasks[1].dep == [0]
    assert "<node-N> references were 1-based" in record.repairs


def test_zero_based_references_are_left_alone_even_when_a_shift_would_also_fit():
    record = convert(
        raw(
            [
                {"task": "Image-to-Text", "arguments": ["a.jpg"]},
                {"task": "Summarization", "arguments": ["<node-0>"]},
                {"task": "Text-to-Speech", "arguments": ["<node-1>"]},
            ]
        )
    )
    assert [t.dep for t in record.tasks] == [[], [0], [1]] and not record.repairs


@pytest.mark.parametrize(
    ("nodes", "reason"),
    [
        ([{"task": "Audio Quality Enhancer", "arguments": ["a.wav"]}], "unknown task type"),  # not a tool
        (  # HF 12833296: a reference past the end of the plan must fail cleanly, not crash
            [
                {"task": "Image Classification", "arguments": ["example.jpg"]},
                {"task": "Text-to-Image", "arguments": ["<node-7>"]},
            ],
            "does not exist",
        ),
        (  # HF 24064890: garbled references that form a cycle
            [
                {"task": "Object Detection", "arguments": ["example.jpg"]},
                {"task": "Text-to-Speech", "arguments": ["<node-2>"]},
                {"task": "Audio-to-Audio", "arguments": ["<node-1>"]},
            ],
            "cycle",
        ),
    ],
)
def test_records_without_a_valid_reading_fail_with_a_reason(nodes, reason):
    with pytest.raises(PlanError, match=reason):
        convert(raw(nodes))
    records, failures = convert_all(
        [raw(nodes, id_="bad"), raw([{"task": "Summarization", "arguments": ["x"]}])]
    )
    assert [r.id for r in records] == ["1"] and [f.id for f in failures] == ["bad"]
    assert reason in failures[0].reason and "allowed task types" not in failures[0].reason


def _record(id_: str, type_: str, request: str | None = None) -> GoldRecord:
    return convert(raw([{"task": "Summarization", "arguments": ["x"]}], type_=type_, id_=id_)).model_copy(
        update={"request": request or f"request {id_}"}
    )


def test_split_is_stratified_deterministic_and_disjoint():
    records = [_record(str(i), t) for i, t in enumerate(["single"] * 40 + ["chain"] * 40 + ["dag"] * 15)]
    dev, pool = split(records)
    again, _ = split(list(reversed(records)))
    assert [r.id for r in dev] == [r.id for r in again]  # order of the input does not matter
    assert {t: sum(r.type == t for r in dev) for t in DEV_SIZES} == DEV_SIZES
    assert len(dev) + len(pool) == len(records)
    assert not {r.id for r in dev} & {r.id for r in pool}
    assert [r.type for r in dev[:6]] == ["single", "chain", "dag"] * 2  # any prefix stays stratified


def test_a_pool_copy_of_a_dev_request_is_dropped_and_a_leak_is_refused():
    records = [_record(str(i), "single", request=f"request {i}") for i in range(40)]
    dev, _ = split(records)
    twin = _record("twin", "single", request="  " + dev[0].request.upper())  # same words, other id
    dev2, pool2 = split([*records, twin])
    assert [r.id for r in dev2] == [r.id for r in dev] and "twin" not in {r.id for r in pool2}
    with pytest.raises(AssertionError, match="dev requests found in the demo pool"):
        assert_disjoint(dev, [twin])


def test_committed_dev_split_and_pool_are_disjoint(dev, pool):
    assert_disjoint(dev, pool)
    assert {t: sum(r.type == t for r in dev) for t in DEV_SIZES} == DEV_SIZES
    assert len(pool) > 200


@pytest.mark.skipif(not SOURCE.is_dir(), reason="../shared/taskbench is not present")
def test_committed_files_are_what_the_build_makes(tmp_path, dev, pool):
    manifest = build(SOURCE.resolve(), tmp_path)
    assert manifest["records"] == 356 == manifest["converted"] + manifest["failed"]
    assert [r.id for r in read_records(tmp_path / "demo_pool.jsonl")] == [r.id for r in pool]
    assert read_records(tmp_path / "taskbench_dev.jsonl") == dev
    assert (
        manifest["failed"] == len(manifest["failures"])
        and manifest["fixes"]["<node-N> references were 1-based"]
    )
    assert json.loads((tmp_path / "taskbench_manifest.json").read_text())["pool"] == len(pool)
