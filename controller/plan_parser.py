"""Turn what an LLM wrote into a valid Plan, repairing what can be repaired and saying why not otherwise.

Accepts JARVIS's shape (``[{"task", "id", "dep", "args": {...}}]``), an object with a ``tasks`` list,
and TaskBench's (``{"task_nodes": [{"task", "arguments": [...]}]}``). References may be written
``<GENERATED>-N``, ``<resource>-N``, ``<node-N>``, ``<output_of_N>`` and similar; they are rewritten to
the canonical ``<GENERATED>-N`` and the dependencies are derived from them.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from pathlib import PurePosixPath
from typing import Any

from controller.argument_limits import argument_problems
from controller.jsonish import JSONishError, extract_json
from controller.schema import ArgValue, Plan, PlanError, Task, find_cycle, ref, refs_in
from experts.tasks import TASK_TYPES, MediaKind, TaskType, normalize_task_name, slug

# The reference patterns read arguments a client sends (/v1/plans/execute), so they must run in linear
# time: every repeat is possessive (``*+``), so a long run of digits or spaces is never re-split.
# <GENERATED>-3, <resource>-3, <GENERATED>3
_REF_SUFFIX = re.compile(r"<\s*+(?:generated|resource)\s*+>[\s_-]*+(\d++)", re.IGNORECASE)
# <node-3>, <GENERATED-3>, <task_3>, <output of 3>, <result-3>, <step 3>, <node-0-output-1>
_REF_INSIDE = re.compile(
    r"<\s*+(?:generated|resource|node|task|output|result|step)s?(?:[\s_-]*+(?:of|from))?[\s_-]*+(\d++)[^<>]*+>",
    re.IGNORECASE,
)
# <output_of_Image_Segmentation>, <Image Editing>: a reference by task name
_REF_BY_NAME = re.compile(r"<\s*+(?:output[\s_-]*+of[\s_-]*+)?([A-Za-z][A-Za-z0-9 _-]*+)>")
# Task ids are small numbers; a longer run of digits is not an id (and int() refuses > 4300 digits).
MAX_ID_DIGITS = 9

_LIST_KEYS = ("tasks", "task_nodes", "plan", "task_list", "steps", "nodes")
_MEDIA_SUFFIXES: dict[str, MediaKind] = {
    **dict.fromkeys((".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp", ".tif", ".tiff"), "image"),
    **dict.fromkeys((".wav", ".mp3", ".flac", ".ogg", ".m4a", ".opus"), "audio"),
    **dict.fromkeys((".mp4", ".avi", ".mov", ".mkv", ".webm"), "video"),
}
_NAME_KINDS: list[tuple[tuple[str, ...], MediaKind]] = [
    (("image", "img", "photo", "picture", "pic"), "image"),
    (("audio", "speech", "sound", "wav", "voice"), "audio"),
    (("video", "clip", "movie"), "video"),
]


def parse_plan(reply: str, offered_tasks: Collection[str], max_tasks: int) -> Plan:
    """A validated Plan from the LLM's reply. Raises PlanError with reasons fit to show the LLM."""
    try:
        data = extract_json(reply)
    except JSONishError as e:
        raise PlanError([str(e)]) from e
    return plan_from_data(data, offered_tasks, max_tasks)


def plan_from_data(data: Any, offered_tasks: Collection[str], max_tasks: int) -> Plan:
    items = _task_items(data)
    repairs: list[str] = []
    problems: list[str] = []
    if len(items) > max_tasks:
        raise PlanError([f"the plan has {len(items)} tasks; at most {max_tasks} are allowed"])

    # 1. ids and task names
    ids = _assign_ids(items, repairs)
    names: list[str | None] = []
    for item, tid in zip(items, ids, strict=True):
        raw = item.get("task") or item.get("name") or item.get("tool") or ""
        name = normalize_task_name(str(raw)) if raw else None
        if name is None:
            problems.append(f"task {tid} has unknown task type {raw!r}")
        elif name not in offered_tasks:
            problems.append(f"task {tid} uses task type {name!r}, which no available model offers")
        elif slug(str(raw)) != name:
            repairs.append(f"task {tid}: task type {raw!r} read as {name!r}")
        names.append(name)
    if problems:
        raise PlanError([*problems, f"allowed task types: {', '.join(sorted(offered_tasks))}"])

    known_names = {slug(str(n)): tid for n, tid in zip(names, ids, strict=True) if n}
    raw_names = {
        slug(str(it.get("task") or it.get("name") or "")): tid for it, tid in zip(items, ids, strict=True)
    }

    # 2. arguments: canonical references, mapped onto the task's declared inputs
    tasks: list[Task] = []
    types = {tid: TASK_TYPES[n] for tid, n in zip(ids, names, strict=True) if n}
    for item, tid in zip(items, ids, strict=True):
        ttype = types[tid]
        raw_args = item.get("args", item.get("arguments", item.get("parameters", item.get("inputs", {}))))
        canon = _canonical_args(raw_args, tid, set(ids), {**raw_names, **known_names}, problems)
        declared = _declared_deps(item.get("dep", item.get("deps", item.get("dependencies"))))
        args = _map_args(ttype, tid, canon, types, declared, repairs, problems)
        problems.extend(argument_problems(ttype, tid, args))
        tasks.append(Task.model_construct(id=tid, task=ttype.name, dep=sorted(declared), args=args))
    if problems:
        raise PlanError(problems)

    # 3. dependencies: every reference is a dependency; declared ones kept when they exist and keep a DAG
    tasks = _derive_deps(tasks, set(ids), repairs, problems)
    if problems:
        raise PlanError(problems)
    return Plan(tasks=tasks, repairs=repairs)


def _task_items(data: Any) -> list[dict[str, Any]]:
    if isinstance(data, dict):
        for key in _LIST_KEYS:
            if key in data:
                data = data[key]
                break
        else:
            if "task" in data:
                data = [data]
            elif not data:
                data = []
            else:
                raise PlanError(["the reply is a JSON object without a 'tasks' list"])
    if isinstance(data, dict):  # {"0": {...}, "1": {...}}
        data = list(data.values())
    if not isinstance(data, list):
        raise PlanError(["the plan must be a JSON list of tasks"])
    bad = [i for i, item in enumerate(data) if not isinstance(item, dict)]
    if bad:
        raise PlanError([f"plan entries {bad} are not JSON objects with a 'task' field"])
    return data


def _assign_ids(items: list[dict[str, Any]], repairs: list[str]) -> list[int]:
    """Ids as written where usable; missing ones get the index, duplicates a fresh number."""
    ids: list[int] = []
    used: set[int] = set()
    for index, item in enumerate(items):
        raw = item.get("id", item.get("task_id"))
        tid = _as_int(raw)
        if tid is None or tid < 0:
            tid = index if index not in used else max(used | {-1}) + 1
            if raw is not None:
                repairs.append(f"task at position {index}: id {raw!r} replaced by {tid}")
        elif tid in used:
            fresh = max(used | set(_as_int(i.get("id")) or 0 for i in items)) + 1
            repairs.append(f"task at position {index}: duplicate id {tid} renumbered to {fresh}")
            tid = fresh
        used.add(tid)
        ids.append(tid)
    return ids


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if abs(value) < 10**MAX_ID_DIGITS else None
    if isinstance(value, str) and re.fullmatch(rf"\s*+-?\d{{1,{MAX_ID_DIGITS}}}\s*+", value):
        return int(value)
    return None


def _declared_deps(raw: Any) -> set[int]:
    values = raw if isinstance(raw, list) else [raw]
    return {d for v in values if (d := _as_int(v)) is not None and d >= 0}


def _canonical_args(
    raw: Any, tid: int, ids: set[int], names: dict[str, int], problems: list[str]
) -> list[tuple[str | None, ArgValue]]:
    """(name or None for positional, value with canonical references) pairs."""
    if isinstance(raw, dict):
        pairs: list[tuple[str | None, Any]] = list(raw.items())
    elif isinstance(raw, list):
        pairs = [(None, v) for v in raw]
    elif raw in (None, ""):
        pairs = []
    else:
        pairs = [(None, raw)]
    out: list[tuple[str | None, ArgValue]] = []
    for name, value in pairs:
        if isinstance(value, dict) and len(value) == 1:  # {"from": "Translation"}, a TaskBench quirk
            value = f"<{next(iter(value.values()))}>"
        if isinstance(value, list):
            canon: ArgValue = [_canonical_refs(str(v), tid, ids, names, problems) for v in value]
        elif isinstance(value, str):
            canon = _canonical_refs(value, tid, ids, names, problems)
        elif isinstance(value, int | float | bool):
            canon = value
        else:
            canon = str(value)
        out.append((str(name) if name is not None else None, canon))
    return out


def _canonical_refs(value: str, tid: int, ids: set[int], names: dict[str, int], problems: list[str]) -> str:
    def by_number(m: re.Match[str]) -> str:
        digits = m.group(1)
        if len(digits) > MAX_ID_DIGITS:
            problems.append(f"task {tid} refers to task {digits[:12]}…, which does not exist")
            return "<invalid reference>"
        target = int(digits)
        if target not in ids:
            problems.append(f"task {tid} refers to the output of task {target}, which does not exist")
        elif target == tid:
            problems.append(f"task {tid} refers to its own output")
        return ref(target)

    def by_name(m: re.Match[str]) -> str:
        target = names.get(slug(m.group(1)))
        if target is None or target == tid:
            return m.group(0)  # not a reference after all (e.g. literal text in angle brackets)
        return ref(target)

    value = _REF_SUFFIX.sub(by_number, value)
    value = _REF_INSIDE.sub(by_number, value)
    return _REF_BY_NAME.sub(by_name, value)


def _value_kind(value: ArgValue, types: dict[int, TaskType]) -> MediaKind | None:
    """What a value carries: the output kinds of a referenced task, or a file's kind by its suffix."""
    first = value[0] if isinstance(value, list) and value else value
    if not isinstance(first, str):
        return "text"
    targets = refs_in(first)
    if targets and first.strip() == ref(targets[0]):
        if targets[0] not in types:  # a dangling reference: already reported as a problem
            return None
        kinds = types[targets[0]].output_kinds
        media = [k for k in kinds if k != "text"]
        return media[0] if media else "text"
    suffix = PurePosixPath(first.split("?")[0].strip().lower()).suffix
    if suffix in _MEDIA_SUFFIXES and " " not in first.strip():
        return _MEDIA_SUFFIXES[suffix]
    if first.startswith("data:"):
        head = first[5:].split("/")[0]
        return head if head in ("image", "audio", "video") else None  # type: ignore[return-value]
    return None  # plain text, or a reference embedded in text


def _name_kind(name: str) -> MediaKind:
    low = name.lower()
    for words, kind in _NAME_KINDS:
        if any(w in low for w in words):
            return kind
    return "text"


def _map_args(
    ttype: TaskType,
    tid: int,
    args: list[tuple[str | None, ArgValue]],
    types: dict[int, TaskType],
    declared: set[int],
    repairs: list[str],
    problems: list[str],
) -> dict[str, ArgValue]:
    """Place each argument on one of the task's declared inputs, by name, then by kind."""
    placed: dict[str, ArgValue] = {}
    leftovers: list[tuple[str | None, ArgValue]] = []
    for name, value in args:
        if name is not None and ttype.input(name) and name not in placed:
            placed[name] = value
        else:
            leftovers.append((name, value))
    for name, value in leftovers:
        kind = _value_kind(value, types) or (_name_kind(name) if name else "text")
        slot = next((i for i in ttype.inputs if i.kind == kind and i.name not in placed), None)
        if slot is None and name is None:
            slot = next((i for i in ttype.inputs if i.name not in placed), None)
        if slot is None:
            if not refs_in(value) and value not in ("", None):
                repairs.append(f"task {tid}: argument {name or value!r} does not fit {ttype.name}; dropped")
            elif refs_in(value):
                problems.append(f"task {tid} ({ttype.name}) has no input for argument {name or value!r}")
            continue
        placed[slot.name] = value
        if name is not None and name != slot.name:
            repairs.append(f"task {tid}: argument {name!r} read as {slot.name!r}")
    for inp in ttype.inputs:
        if not inp.required or inp.name in placed:
            continue
        # JARVIS often lists a dependency but omits the argument that carries its output.
        source = next(
            (d for d in sorted(declared) if d != tid and d in types and inp.kind in types[d].output_kinds),
            None,
        )
        if source is not None:
            placed[inp.name] = ref(source)
            repairs.append(f"task {tid}: missing {inp.name!r} taken from the output of task {source}")
        else:
            problems.append(f"task {tid} ({ttype.name}) lacks its required {inp.kind} input {inp.name!r}")
    return {i.name: placed[i.name] for i in ttype.inputs if i.name in placed}


def _derive_deps(tasks: list[Task], ids: set[int], repairs: list[str], problems: list[str]) -> list[Task]:
    referenced = {t.id: t.references() for t in tasks}
    declared = {t.id: set(t.dep) for t in tasks}
    deps: dict[int, set[int]] = {}
    for t in tasks:
        extra = {d for d in declared[t.id] if d in ids and d != t.id} - referenced[t.id]
        deps[t.id] = referenced[t.id] | extra
        if dropped := declared[t.id] - ids - {t.id}:
            repairs.append(f"task {t.id}: dependency on missing task(s) {sorted(dropped)} dropped")
    if find_cycle({k: sorted(v) for k, v in deps.items()}):
        # A declared-but-unused dependency can close a loop; references alone may still form a DAG.
        if cycle := find_cycle({k: sorted(v) for k, v in referenced.items()}):
            problems.append("the tasks form a cycle: " + " -> ".join(map(str, cycle)))
            return tasks
        repairs.append("declared dependencies formed a cycle; kept only those implied by references")
        deps = referenced
    return [Task(id=t.id, task=t.task, dep=sorted(deps[t.id]), args=t.args) for t in tasks]
