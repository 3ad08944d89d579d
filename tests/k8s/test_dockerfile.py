"""The Dockerfile, read as Docker would: every COPY source exists and survives .dockerignore, and the base
image carries the Ray and Python that pyproject.toml pins. (No docker engine runs here to build it.)"""

import fnmatch
import re
import shlex
import tomllib

from tests.k8s.conftest import ROOT

DOCKERFILE = ROOT / "Dockerfile"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined and comments dropped."""
    logical, current = [], ""
    for line in DOCKERFILE.read_text().splitlines():
        if not current and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.rstrip().endswith("\\"):
            current += line.rstrip()[:-1] + " "
            continue
        logical.append(current + line)
        current = ""
    assert not current, "the Dockerfile ends inside a continued line"
    return [(words.split(None, 1)[0].upper(), words.split(None, 1)[1]) for words in logical]


def dockerignore_excludes(path: str) -> bool:
    """Docker's rule: the last matching pattern wins; `!` re-includes (a folder re-includes its files)."""
    excluded = False
    for raw in (ROOT / ".dockerignore").read_text().splitlines():
        pattern = raw.strip()
        if not pattern or pattern.startswith("#"):
            continue
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!").rstrip("/").removeprefix("**/")
        parts = path.split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        if any(fnmatch.fnmatch(p, pattern) for p in prefixes) or fnmatch.fnmatch(parts[-1], pattern):
            excluded = not negate
    return excluded


def test_every_copy_source_exists_and_is_sent_to_the_builder():
    copies = [shlex.split(args) for op, args in instructions() if op in ("COPY", "ADD")]
    assert copies
    for words in copies:
        sources = [w for w in words if not w.startswith("--")][:-1]
        assert not any(w.startswith("--from") for w in words)
        for source in sources:
            assert (ROOT / source).exists(), f"COPY {source}: no such file in the repository"
            assert not dockerignore_excludes(source), f"COPY {source}: .dockerignore leaves it out"
            for file in (ROOT / source).rglob("*.py") if (ROOT / source).is_dir() else []:
                assert not dockerignore_excludes(str(file.relative_to(ROOT))), file


def test_dockerignore_keeps_local_state_out():
    for path in (".venv/bin/python", ".git/config", "var/artifacts/x.png", "tests/conftest.py", "k8s/base"):
        assert dockerignore_excludes(path), path
    assert dockerignore_excludes("experts/__pycache__/catalog.cpython-311.pyc")


def test_base_image_matches_the_pinned_ray_and_python():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    (ray_pin,) = [d for d in project["dependencies"] if d.startswith("ray[")]
    ray_version = ray_pin.split("==")[1]
    (default,) = [args for op, args in instructions() if op == "ARG" and args.startswith("RAY_IMAGE=")]
    assert default == f"RAY_IMAGE=rayproject/ray:{ray_version}-py311-cpu"
    assert "3.11" in project["requires-python"]
    assert [args for op, args in instructions() if op == "FROM"] == ["${RAY_IMAGE}"]


def test_torch_is_pinned_as_pyproject_pins_it_and_installed_first():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    (torch_pin,) = [d for d in project["dependencies"] if re.match(r"torch\b", d)]
    runs = [args for op, args in instructions() if op == "RUN"]
    first_pip = next(r for r in runs if "pip install" in r)
    assert f'"{torch_pin}"' in first_pip and "--index-url" in first_pip


def test_image_builds_the_offline_models_where_the_manifests_look_for_them(rendered):
    env = " ".join(args for op, args in instructions() if op == "ENV")
    offline_dir = re.search(r"HUGGINGGPT_OFFLINE_DIR=(\S+)", env).group(1)
    assert any("python -m experts.offline" in args for op, args in instructions() if op == "RUN")
    for name, docs in rendered.items():
        configmap = next(
            d for d in docs if d["kind"] == "ConfigMap" and "HF_HUB_OFFLINE" in d.get("data", {})
        )
        assert configmap["data"]["HUGGINGGPT_OFFLINE_DIR"] == offline_dir, name
