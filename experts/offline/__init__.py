"""The offline model set: tiny random-weight models built locally from configs, once, into a cache folder.

They exercise the very loading and inference code that real hub models go through (``from_pretrained``
on a folder, the same pipelines and model classes), in well under a second each, with no network.
Outputs are meaningless by design; shapes and types are real.

Run ``python -m experts.offline`` to build (or just use them: loaders build on first need).
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from pathlib import Path

from experts.errors import ExpertUnavailable
from experts.offline import media, text, vision

log = logging.getLogger(__name__)

# Bump when any builder changes: a cache with another version is rebuilt.
OFFLINE_VERSION = "2"
OFFLINE_DIR_ENV = "HUGGINGGPT_OFFLINE_DIR"
_MARKER = "BUILT"


def offline_dir() -> Path:
    return Path(os.environ.get(OFFLINE_DIR_ENV) or Path.home() / ".cache" / "hugginggpt" / "offline-models")


# Every builder writes one model folder; the name is what ``offline:<name>`` sources refer to.
BUILDERS = {**text.BUILDERS, **vision.BUILDERS, **media.BUILDERS}


def _built(folder: Path) -> bool:
    marker = folder / _MARKER
    return marker.is_file() and marker.read_text().strip() == OFFLINE_VERSION


def build_model(name: str, root: Path | None = None) -> Path:
    """Build one tiny model folder (idempotent; atomic: a half-built folder is never visible)."""
    import torch
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    if name not in BUILDERS:
        raise ExpertUnavailable(f"no offline builder named {name!r}")
    root = root or offline_dir()
    folder = root / name
    if _built(folder):
        return folder
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=root))
    try:
        torch.manual_seed(0)  # the same weights on every machine
        BUILDERS[name](staging)
        (staging / _MARKER).write_text(OFFLINE_VERSION)
        shutil.rmtree(folder, ignore_errors=True)
        try:
            staging.rename(folder)
        except OSError:  # another process won the race; its folder is as good as ours
            if not _built(folder):
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder


def build_all(root: Path | None = None) -> dict[str, Path]:
    """Every tiny model, built once; seconds on a laptop CPU."""
    return {name: build_model(name, root) for name in BUILDERS}


def main() -> None:
    logging.basicConfig(level=logging.INFO)
    start = time.perf_counter()
    paths = build_all()
    print(f"built {len(paths)} offline models in {offline_dir()} in {time.perf_counter() - start:.1f} s")
