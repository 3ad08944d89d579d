"""What the CLI draws with rich: a run's live progress, a plan as a tree, the models as a table."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.console import Group, RenderableType
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

STATE_STYLE = {
    "waiting": ("·", "dim"),
    "selected": ("◆", "blue"),
    "running": ("▶", "bold cyan"),
    "done": ("✓", "green"),
    "failed": ("✗", "bold red"),
    "skipped": ("↷", "yellow"),
}
# Deployment states that take requests, as /v1/models reports them ("LOCAL": an in-process expert).
LIVE = frozenset({"HEALTHY", "UPSCALING", "DOWNSCALING", "ON_DEMAND", "LOCAL"})
STATE_OF_STATUS = {"ok": "done", "failed": "failed", "timeout": "failed", "skipped": "skipped"}


@dataclass
class TaskLine:
    task_id: int
    task: str
    state: str = "waiting"
    model: str | None = None
    seconds: float | None = None
    error: str | None = None


class RunProgress:
    """The live view of one run: a spinner line for the stage and a line per task with state and model."""

    def __init__(self) -> None:
        self.stage = "Planning the tasks…"
        self.tasks: dict[int, TaskLine] = {}
        self.errors: list[str] = []
        self.done: dict[str, Any] | None = None
        self.spinner = Spinner("dots", style="cyan")
        self.settled = False  # True once the live part is over: the stage line loses its spinner

    def handle(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind == "plan":
            self.tasks = {t["id"]: TaskLine(t["id"], t["task"]) for t in event["tasks"]}
            self.stage = "Choosing models…" if self.tasks else "No models needed; answering…"
        elif kind == "selected":
            s = event["selection"]
            self._set(s["task_id"], "selected", model=s["model_id"])
        elif kind == "task_started":
            self._set(event["task_id"], "running", model=event["model_id"])
            self.stage = "Running the experts…"
        elif kind in ("task_finished", "task_failed"):
            self._result(event["result"])
        elif kind == "error":
            self.errors.append(event["message"])
        elif kind == "done":
            for result in event.get("results", []):
                self._result(result)
            self.done = event

    def _result(self, r: dict[str, Any]) -> None:
        state = STATE_OF_STATUS.get(r["status"], "failed")
        seconds = None if state == "skipped" else r.get("elapsed_s")
        self._set(r["task_id"], state, model=r.get("model_id"), seconds=seconds, error=r.get("error"))

    def _set(self, task_id: int, state: str, **fields: Any) -> None:
        line = self.tasks.get(task_id)
        if line is None:
            return
        line.state = state
        for name, value in fields.items():
            if value is not None:
                setattr(line, name, value)

    def task_table(self) -> Table:
        table = Table.grid(padding=(0, 2))
        for line in self.tasks.values():
            mark, style = STATE_STYLE[line.state]
            table.add_row(
                Text(f"{mark} {line.state}", style=style),
                Text(f"#{line.task_id} {line.task}", style="bold"),
                Text(line.model or "", style="magenta"),
                Text(f"{line.seconds:.2f} s" if line.seconds is not None else "", style="dim"),
            )
            if line.error and line.state in ("failed", "skipped"):
                table.add_row("", Text(line.error, style=style), "", "")
        return table

    def settle(self, heading: str) -> None:
        self.stage, self.settled = heading, True

    def __rich__(self) -> RenderableType:
        if self.settled:
            stage: RenderableType = Text(self.stage, style="bold")
        else:
            self.spinner.update(text=Text(self.stage))
            stage = self.spinner
        return Group(self.task_table(), stage) if self.tasks else stage


def plan_tree(tasks: list[dict[str, Any]]) -> Tree:
    """The plan as a tree: roots are tasks without deps, children their dependants. A task with several
    deps hangs under its first one and names the others."""
    tree = Tree(Text(f"Plan: {len(tasks)} task{'s' * (len(tasks) != 1)}", style="bold"))
    by_parent: dict[int | None, list[dict[str, Any]]] = {}
    for t in tasks:
        by_parent.setdefault(t["dep"][0] if t["dep"] else None, []).append(t)

    def add(branch: Tree, parent: int | None) -> None:
        for t in by_parent.get(parent, []):
            label = Text(f"#{t['id']} ", style="bold").append(t["task"], style="cyan")
            args = ", ".join(f"{k}={v}" for k, v in t["args"].items())
            label.append(f"  {args}", style="dim")
            if len(t["dep"]) > 1:
                label.append(f"  (also after {', '.join(f'#{d}' for d in t['dep'][1:])})", style="yellow")
            add(branch.add(label), t["id"])

    add(tree, None)
    return tree


def models_table(models: list[dict[str, Any]]) -> Table:
    table = Table(title="Experts", title_justify="left")
    table.add_column("task", style="cyan")
    table.add_column("model")
    table.add_column("status")
    for m in sorted(models, key=lambda m: (m.get("task") or "", m["id"])):
        status = m.get("status") or "?"
        style = "green" if status in LIVE else "red" if status in ("UNHEALTHY", "DEPLOY_FAILED") else "yellow"
        table.add_row(m.get("task") or "", m["id"], Text(status, style=style))
    return table
