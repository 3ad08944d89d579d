"""TaskBench gold plans (Hugging Face tools) converted to our task schema, split into a dev set and a demo pool.

Data: TaskBench (microsoft/JARVIS, ``taskbench/``), MIT License, Copyright (c) Microsoft Corporation.

The gold sample is irregular (see ``../shared/taskbench/README.md``); ``normalise_nodes`` fixes what has
one clear reading before the shared parser (``plan_from_data``) converts the plan. Records that still do
not convert (task names outside the tool graph, garbled references) are counted with their reason.

``python -m evaluation.taskbench build`` regenerates the committed files under ``controller/data/``;
the runtime reads only those (``controller.demo_pool``), never ``../shared``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from controller.demo_pool import (
    DATA_DIR,
    DEV_FILE,
    MANIFEST_FILE,
    PLAN_TYPES,
    POOL_FILE,
    GoldRecord,
    PlanType,
    read_records,
)
from controller.plan_parser import plan_from_data
from controller.retrieval import write_pool_embeddings
from controller.schema import REF_PATTERN, ArgValue, PlanError, Task, ref
from experts.tasks import TASK_TYPES

DEFAULT_SOURCE = Path(__file__).resolve().parents[1] / ".." / "shared" / "taskbench" / "huggingface"
ATTRIBUTION = "TaskBench (microsoft/JARVIS, taskbench/), MIT License, Copyright (c) Microsoft Corporation"
# Dev records per type. DAGs are rare in the sample (28 of 356), so they are over-represented here to
# give their F1 some support; the rest of each type is the demo pool.
DEV_SIZES: dict[PlanType, int] = {"single": 24, "chain": 24, "dag": 12}
MAX_TASKS = 10

_NODE_REF = re.compile(r"<node-(\d+)>")


class ConversionFailure(BaseModel):
    id: str
    type: str
    reason: str


def load_raw(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def normalise_nodes(raw: dict[str, Any]) -> tuple[list[dict[str, Any]], list[str]]:
    """TaskBench's ``task_nodes`` as a list of ``{"task", "arguments": [...]}``, and what was fixed."""
    fixes: list[str] = []
    nodes = raw.get("task_nodes") or []
    if isinstance(nodes, dict):  # {"step_1": {...}} (HF 17353313)
        nodes = list(nodes.values())
        fixes.append("task_nodes was a dict")
    out: list[dict[str, Any]] = []
    for node in nodes:
        args = node.get("arguments", [])
        if isinstance(args, str | dict):  # a bare string (HF 17786563) or one named argument
            args = [args]
            fixes.append("arguments was not a list")
        out.append({"task": node.get("task", ""), "arguments": list(args)})
    if _one_based(out):
        out = [{**n, "arguments": [_shift_refs(a) for a in n["arguments"]]} for n in out]
        fixes.append("<node-N> references were 1-based")
    return out, fixes


def _node_refs(nodes: list[dict[str, Any]]) -> list[tuple[int, int]]:
    """(node index, referenced index) for every ``<node-N>`` in the arguments."""
    return [
        (i, int(n))
        for i, node in enumerate(nodes)
        for arg in node["arguments"]
        for n in _NODE_REF.findall(json.dumps(arg))
    ]


def _one_based(nodes: list[dict[str, Any]]) -> bool:
    """Some records number nodes from 1: node 1 refers to "<node-1>" meaning its predecessor. Read them
    that way only when the 0-based reading is impossible (a self or out-of-range reference) and the
    1-based one makes every reference point backwards."""
    refs = _node_refs(nodes)
    zero_ok = all(r != i and r < len(nodes) for i, r in refs)
    one_ok = bool(refs) and all(0 <= r - 1 < i for i, r in refs)
    return not zero_ok and one_ok


def _shift_refs(arg: Any) -> Any:
    if isinstance(arg, str):
        return _NODE_REF.sub(lambda m: f"<node-{int(m.group(1)) - 1}>", arg)
    if isinstance(arg, list):
        return [_shift_refs(a) for a in arg]
    return arg


def convert(raw: dict[str, Any]) -> GoldRecord:
    """Raises PlanError with the reasons when the gold plan has no valid reading in our schema."""
    nodes, fixes = normalise_nodes(raw)
    if not nodes:
        raise PlanError(["the gold plan has no task nodes"])
    plan = plan_from_data({"task_nodes": nodes}, TASK_TYPES, MAX_TASKS)
    tasks = topological(plan.tasks)
    if tasks != plan.tasks:
        fixes.append("tasks renumbered in dependency order")
    plan_type = raw.get("type")
    if plan_type not in PLAN_TYPES:
        raise PlanError([f"unknown plan type {plan_type!r}"])
    return GoldRecord(
        id=str(raw["id"]),
        type=plan_type,
        request=str(raw["instruction"]).strip(),
        tasks=tasks,
        repairs=[*fixes, *plan.repairs],
    )


def topological(tasks: Sequence[Task]) -> list[Task]:
    """The tasks renumbered 0..n-1 so that every task comes after the tasks it uses (stable otherwise):
    a demonstration whose "dep" only points backwards is easier for a small model to imitate."""
    order: list[Task] = []
    placed: set[int] = set()
    pending = list(tasks)
    while pending:
        ready = next(t for t in pending if set(t.dep) <= placed)  # a Plan is acyclic, so one is ready
        order.append(ready)
        placed.add(ready.id)
        pending.remove(ready)
    new_id = {t.id: i for i, t in enumerate(order)}

    def renumber(value: ArgValue) -> ArgValue:
        if isinstance(value, list):
            return [renumber(v) for v in value]  # type: ignore[misc]
        if isinstance(value, str):
            return REF_PATTERN.sub(lambda m: ref(new_id[int(m.group(1))]), value)
        return value

    return [
        Task(
            id=new_id[t.id],
            task=t.task,
            dep=sorted(new_id[d] for d in t.dep),
            args={k: renumber(v) for k, v in t.args.items()},
        )
        for t in order
    ]


def convert_all(raws: Iterable[dict[str, Any]]) -> tuple[list[GoldRecord], list[ConversionFailure]]:
    records: list[GoldRecord] = []
    failures: list[ConversionFailure] = []
    for raw in raws:
        try:
            records.append(convert(raw))
        except PlanError as e:
            reason = "; ".join(r for r in e.reasons if not r.startswith("allowed task types"))
            failures.append(
                ConversionFailure(id=str(raw.get("id")), type=str(raw.get("type")), reason=reason)
            )
    return records, failures


def _rank(record_id: str) -> str:
    """A stable pseudo-random order: the same on every machine and Python version (no ``hash()``)."""
    return hashlib.sha256(f"taskbench-dev:{record_id}".encode()).hexdigest()


def split(
    records: Sequence[GoldRecord], sizes: dict[PlanType, int] = DEV_SIZES
) -> tuple[list[GoldRecord], list[GoldRecord]]:
    """(dev, pool): per type, the first ``sizes[type]`` records in hash order are dev. A pool record whose
    request text is also a dev request is dropped, so the planner can never be shown the answer."""
    dev: list[GoldRecord] = []
    for plan_type in PLAN_TYPES:
        of_type = sorted((r for r in records if r.type == plan_type), key=lambda r: _rank(r.id))
        dev.extend(of_type[: sizes.get(plan_type, 0)])
    dev_ids = {r.id for r in dev}
    dev_texts = {_text_key(r.request) for r in dev}
    pool = [r for r in records if r.id not in dev_ids and _text_key(r.request) not in dev_texts]
    assert_disjoint(dev, pool)
    return interleave(dev), pool


def interleave(records: Sequence[GoldRecord]) -> list[GoldRecord]:
    """Round-robin over types in hash order, so that any prefix (``--limit``) stays stratified."""
    by_type = {t: sorted((r for r in records if r.type == t), key=lambda r: _rank(r.id)) for t in PLAN_TYPES}
    out: list[GoldRecord] = []
    while any(by_type.values()):
        for t in PLAN_TYPES:
            if by_type[t]:
                out.append(by_type[t].pop(0))
    return out


def _text_key(text: str) -> str:
    return " ".join(text.lower().split())


def assert_disjoint(dev: Iterable[GoldRecord], pool: Iterable[GoldRecord]) -> None:
    """Never evaluate on a request the planner may be shown as a demonstration."""
    pool = list(pool)
    pool_ids = {r.id for r in pool}
    pool_texts = {_text_key(r.request) for r in pool}
    leaked = [r.id for r in dev if r.id in pool_ids or _text_key(r.request) in pool_texts]
    if leaked:
        raise AssertionError(f"dev requests found in the demo pool: {leaked[:10]}")


def load_dev() -> list[GoldRecord]:
    return read_records(DEV_FILE)


def write_records(path: Path, records: Iterable[GoldRecord]) -> None:
    with path.open("w", encoding="utf-8") as f:
        for r in records:
            f.write(r.model_dump_json(exclude={"repairs"}) + "\n")


def build(source: Path, out_dir: Path = DATA_DIR) -> dict[str, Any]:
    """Convert the gold sample, split it, write pool + dev + manifest; return the manifest."""
    data_file = source / "data.sample.jsonl"
    raws = load_raw(data_file)
    records, failures = convert_all(raws)
    dev, pool = split(records)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_records(out_dir / POOL_FILE.name, pool)
    write_records(out_dir / DEV_FILE.name, dev)
    repaired = Counter(fix for r in records for fix in r.repairs if not fix.startswith("task "))
    manifest = {
        "source": f"{data_file.name} ({ATTRIBUTION})",
        "records": len(raws),
        "converted": len(records),
        "failed": len(failures),
        "failed_by_type": dict(Counter(f.type for f in failures)),
        "fixes": dict(repaired),
        "dev": len(dev),
        "dev_by_type": dict(Counter(r.type for r in dev)),
        "pool": len(pool),
        "pool_by_type": dict(Counter(r.type for r in pool)),
        "dropped_duplicate_requests": len(records) - len(dev) - len(pool),
        "failures": [f.model_dump() for f in failures],
    }
    (out_dir / MANIFEST_FILE.name).write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n")
    return manifest


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m evaluation.taskbench", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="regenerate controller/data from the TaskBench sample")
    b.add_argument("--source", type=Path, default=DEFAULT_SOURCE, help="TaskBench huggingface folder")
    b.add_argument("--out", type=Path, default=DATA_DIR)
    b.add_argument("--no-embeddings", action="store_true", help="skip precomputing pool embeddings")
    args = parser.parse_args(argv)
    manifest = build(args.source.resolve(), args.out)
    if not args.no_embeddings:
        write_pool_embeddings(read_records(args.out / POOL_FILE.name), args.out)
    summary = {k: v for k, v in manifest.items() if k != "failures"}
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
