"""TaskBench gold plans: conversion through the controller's parser, critical paths, sampling."""

import pytest

from bench.plans import GOLD_FILE, GoldPlan, convert, critical_path_length, load_gold, stratified
from controller.schema import Plan, Task
from experts.catalog import load_catalog


def plan(deps: dict[int, list[int]]) -> Plan:
    return Plan(tasks=[Task(id=i, task="summarization", dep=d) for i, d in deps.items()])


def test_critical_path_counts_tasks_on_the_longest_chain():
    assert critical_path_length(plan({0: []})) == 1
    assert critical_path_length(plan({0: [], 1: [0], 2: [1], 3: [2]})) == 4  # chain
    assert critical_path_length(plan({0: [], 1: [0], 2: [0], 3: [0], 4: [1, 2, 3]})) == 3  # fan out, join
    assert critical_path_length(plan({0: [], 1: [], 2: [0], 3: [2], 4: [1]})) == 3  # two branches


def test_conversion_keeps_good_records_and_counts_the_rest():
    offered = {m.task for m in load_catalog("offline")}
    good = {
        "id": "1",
        "type": "chain",
        "task_nodes": [
            {"task": "Text-to-Image", "arguments": ["a cat"]},
            {"task": "Image-to-Text", "arguments": ["<node-0>"]},
        ],
    }
    unknown = {"id": "2", "type": "single", "task_nodes": [{"task": "Telepathy", "arguments": ["x"]}]}
    self_ref = {
        "id": "3",
        "type": "single",
        "task_nodes": [{"task": "Summarization", "arguments": ["<node-0>"]}],
    }
    out = convert([good, unknown, self_ref], offered)
    assert [p.id for p in out.plans] == ["1"]
    assert out.plans[0].depth == 2 and out.plans[0].n_tasks == 2
    assert out.n_skipped == 2
    body = out.plans[0].body()
    assert body[1]["dep"] == [0] and body[1]["args"]["image"] == "<GENERATED>-0"


def test_the_shared_gold_sample_converts_mostly():
    if not GOLD_FILE.exists():  # the shared data sits beside the checkout
        pytest.skip(f"no TaskBench gold sample at {GOLD_FILE}")
    records = load_gold()
    out = convert(records, {m.task for m in load_catalog("offline")})
    assert len(out.plans) + out.n_skipped == len(records)
    assert {p.shape for p in out.plans} == {"single", "chain", "dag"}
    assert all(1 <= p.depth <= p.n_tasks <= 10 for p in out.plans)


def test_stratified_sampling_is_deterministic_and_bounded():
    plans = [GoldPlan(id=str(i), shape=("single", "chain")[i % 2], plan=plan({0: []})) for i in range(20)]
    first = stratified(plans, 3)
    assert [p.id for p in first] == [p.id for p in stratified(plans, 3)]
    assert sum(p.shape == "single" for p in first) == 3 and sum(p.shape == "chain" for p in first) == 3
    assert len(stratified(plans, 50)) == 20
