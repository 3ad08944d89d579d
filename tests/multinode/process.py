"""`python -m cluster --control` as a child process: the multi-node cluster, the app on it, and the commands
that remove and add nodes. The cluster lives in its own process because a Ray driver belongs to one
cluster, and this pytest process may already drive the suite's session cluster (tests/deployments)."""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]


class ClusterProcess:
    ready: dict[str, Any] | None = None  # the cluster's "ready" event: URLs, nodes, placement

    def __init__(self, port: int, artifact_store: Path, overrides: dict[str, Any], workdir: Path):
        self.url = f"http://127.0.0.1:{port}"
        self.log = workdir / "cluster.log"
        # Short and private: Ray's socket paths live below it, and its address file must not be found by
        # any other `ray.init()` on this machine.
        self.ray_tmp = tempfile.mkdtemp(prefix="hg-mn-", dir="/tmp")
        path = workdir / "overrides.yaml"
        path.write_text(yaml.safe_dump(overrides))
        env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"} | {"RAY_TMPDIR": self.ray_tmp}
        with open(self.log, "wb") as log:  # the child keeps its own copy of the descriptor
            self.proc = subprocess.Popen(
                [
                    *(sys.executable, "-m", "cluster", "--control", "--dashboard-port", "0"),
                    *("--port", str(port), "--artifact-store", str(artifact_store), "--overrides", str(path)),
                ],
                cwd=REPO,
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
            )
        self._events: queue.Queue[dict[str, Any]] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith("{"):
                self._events.put(json.loads(line))
        self._events.put({"event": "exited", "code": self.proc.wait()})

    def next_event(self, within_s: float) -> dict[str, Any]:
        try:
            event = self._events.get(timeout=within_s)
        except queue.Empty:
            raise AssertionError(f"no word from the cluster in {within_s:.0f} s\n{self.log_tail()}") from None
        if event["event"] in ("exited", "error"):
            raise AssertionError(f"cluster: {event}\n{self.log_tail()}")
        return event

    def log_tail(self, lines: int = 40) -> str:
        """The end of the child's log (Ray's own lines left out), for a failure's message."""
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        kept = [line for line in text.splitlines() if line.strip() and not line.startswith(" ")]
        return "\n".join(kept[-lines:])

    def command(self, line: str, within_s: float = 300) -> dict[str, Any]:
        """Send one command; its answer, then the cluster's status after it."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        answer = self.next_event(within_s)
        status = answer if answer["event"] == "status" else self.next_event(within_s)
        return {"answer": answer, **status}

    def stop(self) -> None:
        try:
            if self.proc.poll() is None and self.proc.stdin is not None:
                self.proc.stdin.close()  # --control: stdin closing stops the cluster, every process of it
            self.proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        finally:
            shutil.rmtree(self.ray_tmp, ignore_errors=True)


def wait_for(check, within_s: float, what: str, every_s: float = 1.0):
    """Poll ``check()`` until it returns something truthy; its value. A generous bound, never a timing."""
    end = time.monotonic() + within_s
    last = None
    while time.monotonic() < end:
        try:
            last = check()
        except Exception as e:  # the service may refuse connections while it changes
            last = e
        else:
            if last:
                return last
        time.sleep(every_s)
    raise AssertionError(f"{what}: not within {within_s:.0f} s (last seen: {last!r})")
