"""Benchmark 5: cold start and memory. `serve run` of serve_config.yaml (the offline profile) against this
run's cluster, timed to RUNNING and to /readyz; then the RSS/USS of every replica process."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import yaml

from bench.apps import APP, wait_running
from bench.cluster import REPO


def serve_run(
    config: dict[str, Any], gcs_address: str, workdir: Path, url: str
) -> tuple[subprocess.Popen, dict]:
    """Start `serve run <config>`; return the process (still serving) and the seconds it took to be ready."""
    path = workdir / "serve_config.bench.yaml"
    path.write_text(yaml.safe_dump(config))
    serve_bin = str(Path(sys.executable).with_name("serve"))
    start = time.perf_counter()
    with open(workdir / "serve_run.log", "wb") as log:  # the child keeps its own copy of the descriptor
        proc = subprocess.Popen(
            [serve_bin, "run", "--address", gcs_address, str(path)],
            cwd=REPO,
            env=dict(os.environ),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        expected = len(config["applications"][0]["deployments"])
        running_s = wait_running(APP, expected, timeout_s=300)
        while True:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"serve run exited with {proc.returncode}; see {workdir / 'serve_run.log'}"
                )
            try:
                if httpx.get(url + "/readyz", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.perf_counter() - start > 300:
                raise TimeoutError("/readyz did not answer 200 within 300 s")
            time.sleep(0.25)
        ready_s = time.perf_counter() - start
    except BaseException:
        stop(proc)
        raise
    return proc, {
        "to_running_s": round(running_s, 2),
        "to_readyz_s": round(ready_s, 2),
        "deployments": expected,
    }


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)
