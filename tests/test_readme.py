"""The README and the code agree: the metric names, the task error codes, the HTTP routes table, the
`args` table (with the controller's and the embedded LLM's keys) and the expert `user_config` keys are
each read from the README and compared with what the code defines, both ways. A renamed metric, a new
route or setting left undocumented, or a documented one removed fails here."""

from __future__ import annotations

import re
import typing
from pathlib import Path

import pytest
from fastapi.routing import APIRoute
from pydantic import BaseModel

from controller.config import ControllerConfig
from controller.schema import TaskErrorCode
from deployments.expert import ExpertUserConfig
from deployments.http.routes import create_api, router
from deployments.metrics import METRICS
from deployments.settings import AppArgs, EmbeddedLLMArgs, ExpertSet

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()
TICKED = re.compile(r"`([^`]+)`")


def section(title: str) -> str:
    start = README.index(f"\n## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start : end if end != -1 else None]


def table(text: str, header: str) -> dict[str, str]:
    """First cell -> second cell of the markdown table whose header row starts with ``header``."""
    lines = text[text.index(f"| {header} |") :].splitlines()[2:]
    rows = {}
    for line in lines:
        if not line.startswith("|"):
            break
        first, second = (cell.strip() for cell in line.strip("|").split("|", 1))
        rows[first] = second.rstrip("|").strip()
    return rows


def top_level_keys(cell: str) -> set[str]:
    """`a` (`x`, `y`), `b`, `c` (...) -> {a, b, c}: the first ticked word of each comma-separated item,
    commas inside parentheses not counting."""
    items, depth, current = [], 0, ""
    for ch in cell:
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if ch == "," and depth == 0:
            items.append(current)
            current = ""
        else:
            current += ch
    items.append(current)
    return {TICKED.search(item).group(1) for item in items if TICKED.search(item)}


def fields(model: type[BaseModel]) -> set[str]:
    return set(model.model_fields)


def test_metric_names():
    documented = {
        m.split("{")[0] for m in TICKED.findall(section("Observability")) if m.startswith("hugginggpt_")
    }
    assert documented == set(METRICS)


def test_task_error_codes():
    paragraph = README[README.index("an `error_code` (") :].split(")", 1)[0]
    assert set(TICKED.findall(paragraph)[1:]) == set(typing.get_args(TaskErrorCode))


def normalised(path: str) -> str:
    return re.sub(r"\{[^}]*\}", "{}", path)


def test_http_routes_table():
    documented = set()
    for cell in table(section("HTTP API"), "route"):
        method = None
        for ticked in TICKED.findall(cell):
            parts = ticked.split()
            method = parts[0] if len(parts) == 2 else method
            documented.add((method, normalised(parts[-1])))
    app = create_api(lambda: None)  # type: ignore[arg-type, return-value]
    served = {
        (method, normalised(r.path))
        for r in [*router.routes, *app.routes]  # the API's routes, and the page's added by create_api
        if isinstance(r, APIRoute)
        for method in r.methods
        if method != "HEAD"
    }
    assert documented == served


@pytest.fixture(scope="module")
def args_table() -> dict[str, str]:
    rows = table(section("Configuration"), "`args` key")
    return {TICKED.search(key).group(1): meaning for key, meaning in rows.items()}


def test_args_table(args_table):
    assert {key.split(".")[0] for key in args_table} == fields(AppArgs)
    named = [*args_table, *TICKED.findall(" ".join(args_table.values()))]  # experts.pool is in a meaning
    experts = {m.split(".")[1].split(":")[0] for m in named if m.startswith("experts.")}
    assert experts == fields(ExpertSet)


@pytest.mark.parametrize(
    ("key", "model"), [("controller", ControllerConfig), ("embedded_llm", EmbeddedLLMArgs)]
)
def test_nested_args(args_table, key, model):
    assert top_level_keys(args_table[key]) == fields(model)


def test_expert_user_config_keys():
    listed = README[README.index("`user_config: {") :].split("}", 1)[0].removeprefix("`user_config: {")
    assert {k.strip() for k in listed.split(",")} == fields(ExpertUserConfig)
