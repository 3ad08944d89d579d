"""The layout's rules, read from the import statements: Ray only in `deployments/`, the runtime never
imports evaluation, benchmarks or the CLI, `experts/` never imports `controller/`, and no import cycles."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("controller", "experts", "deployments", "evaluation", "cli", "bench", "training", "cluster")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {
        module_name(p): p for pkg in PACKAGES if (ROOT / pkg).is_dir() for p in (ROOT / pkg).rglob("*.py")
    }


def imports(path: Path, top_level_only: bool = False) -> set[str]:
    tree = ast.parse(path.read_text())
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


@pytest.mark.parametrize(
    "package, forbidden",
    [
        ("controller", ("ray", "deployments", "evaluation", "bench", "cli", "training", "cluster")),
        (
            "experts",
            ("ray", "controller", "deployments", "evaluation", "bench", "cli", "training", "cluster"),
        ),
        ("deployments", ("evaluation", "bench", "cli", "training", "cluster")),
    ],
)
def test_runtime_packages_import_only_what_the_layout_allows(package, forbidden):
    bad = [
        f"{name} imports {imported}"
        for name, path in modules().items()
        if name.split(".")[0] == package
        for imported in imports(path)
        if imported.split(".")[0] in forbidden
    ]
    assert not bad


def test_ray_free_subpackages_of_deployments_stay_ray_free():
    ray_free = ("deployments.http", "deployments.llm", "deployments.settings")
    bad = [
        name
        for name, path in modules().items()
        if any(name == p or name.startswith(p + ".") for p in ray_free)
        and any(i.split(".")[0] == "ray" for i in imports(path))
    ]
    assert not bad


def test_no_import_cycles_between_modules():
    mods = modules()
    graph = {
        name: {i for i in imports(path, top_level_only=True) if i in mods and i != name}
        for name, path in mods.items()
    }
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                raise AssertionError("import cycle: " + " -> ".join([*path[path.index(nxt) :], nxt]))
            if nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])


def test_no_runtime_module_over_400_lines():
    long = {
        name: n
        for name, path in modules().items()
        if name.split(".")[0] in ("controller", "experts", "deployments")
        and (n := len(path.read_text().splitlines())) > 400
    }
    assert not long


def test_the_ingress_replica_never_imports_torch():
    """The ingress (HTTP, controller, trained planner) runs on numpy: importing torch there would add
    ~180 MB to every ingress replica for nothing. Catches a module on its import path that imports the
    embedded LLM's engine or a model library at the top."""
    import subprocess
    import sys

    code = "import sys, deployments.ingress; print(sorted({'torch', 'transformers'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
