import pytest

from controller.schema import Task
from evaluation.scores import edge_set, micro_prf, node_set


def plan(*spec: tuple[str, list[int]]) -> list[Task]:
    return [Task(id=i, task=name, dep=dep) for i, (name, dep) in enumerate(spec)]


def test_node_and_edge_sets_use_task_names():
    tasks = plan(
        ("image-to-text", []), ("summarization", [0]), ("text-to-speech", [1]), ("summarization", [0])
    )
    assert node_set(tasks) == {"image-to-text", "summarization", "text-to-speech"}
    assert edge_set(tasks) == {("image-to-text", "summarization"), ("summarization", "text-to-speech")}


def test_micro_average_pools_counts_over_samples():
    # sample 1: gold {a, b}, predicted {a, c}  -> tp 1, predicted 2, gold 2
    # sample 2: gold {a},    predicted {a}     -> tp 1, predicted 1, gold 1
    # sample 3: gold {b, c}, predicted {}      -> tp 0, predicted 0, gold 2 (a parse failure)
    m = micro_prf([({"a", "b"}, {"a", "c"}), ({"a"}, {"a"}), ({"b", "c"}, set())])
    assert (m.true_positives, m.predicted, m.gold) == (2, 3, 5)
    assert m.precision == pytest.approx(2 / 3) and m.recall == pytest.approx(2 / 5)
    assert m.f1 == pytest.approx(
        2 * (2 / 3) * (2 / 5) / (2 / 3 + 2 / 5)
    )  # 0.5, not the mean of per-sample F1s


def test_undefined_and_zero_cases():
    assert micro_prf([(set(), set())]).f1 is None  # single-task samples: no gold edges, none predicted
    only_predicted = micro_prf([(set(), {("a", "b")})])
    assert only_predicted.f1 == 0.0 and only_predicted.recall is None and only_predicted.precision == 0.0
    assert micro_prf([({"a"}, {"b"})]).f1 == 0.0
