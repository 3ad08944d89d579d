"""``make soak``: N minutes (default 10) at concurrency 64 of mixed requests against serve_config.yaml's
offline profile on a local Ray cluster (loopback only, the scripted LLM answering at once). Reports
requests, errors by kind, hung requests (must be 0), p50/p99, the RSS of every replica over time (slope in
MB/min) and open file descriptors, and a plot.

    python -m bench.soak --minutes 10 --concurrency 64 --out reports

A request is *hung* when it has no answer by the request deadline (controller.deadline_s) plus a grace:
the service promised an answer by then, a typed error included.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench.cluster import bench_env

bench_env()  # before Ray is imported anywhere: workers inherit the environment

import httpx  # noqa: E402

from bench import coldstart, load  # noqa: E402
from bench.apps import APP, offline_config  # noqa: E402
from bench.cluster import local_cluster, replica_memory  # noqa: E402
from bench.llm import script_instant  # noqa: E402
from bench.stats import summary  # noqa: E402
from tests.scripted_llm import ScriptedLLM  # noqa: E402

GRACE_S = 30.0


def error_kind(status: int, body: dict[str, Any]) -> str | None:
    """None for a full success, else a short kind: ``503 overloaded``, ``200 task timeout``, ..."""
    if status != 200:
        code = (body.get("error") or {}).get("code")
        if code is None:  # a body that carries results: the first failed task's code
            results = body.get("hugginggpt", body).get("results", [])
            code = next((r.get("error_code") for r in results if r.get("status") != "ok"), "no code")
        return f"{status} {code}"
    bad = [r for r in body.get("hugginggpt", body).get("results", []) if r.get("status") != "ok"]
    return f"200 task {bad[0].get('error_code')}" if bad else None


class Soak:
    def __init__(self, url: str, concurrency: int, seconds: float, deadline_s: float):
        self.url, self.concurrency, self.seconds = url, concurrency, seconds
        self.timeout = deadline_s + GRACE_S
        self.latencies: list[tuple[float, float]] = []  # (t since start, seconds) of full successes
        self.kinds: Counter[str] = Counter()
        self.requests = self.hung = 0
        self.t0 = time.perf_counter()

    async def run(self) -> None:
        limits = httpx.Limits(
            max_connections=self.concurrency + 8, max_keepalive_connections=self.concurrency
        )
        timeout = httpx.Timeout(self.timeout, connect=10.0)
        async with httpx.AsyncClient(base_url=self.url, timeout=timeout, limits=limits) as client:
            await asyncio.gather(*(self._worker(client, w) for w in range(self.concurrency)))

    async def _worker(self, client: httpx.AsyncClient, w: int) -> None:
        keywords = list(load.SHAPES)
        i = w
        while time.perf_counter() - self.t0 < self.seconds:
            i += self.concurrency
            await self._one(client, f"{keywords[i % len(keywords)]} request {i}")

    async def _one(self, client: httpx.AsyncClient, text: str) -> None:
        start = time.perf_counter()
        self.requests += 1
        body = {"model": "hugginggpt", "messages": [{"role": "user", "content": text}]}
        try:
            r = await client.post("/v1/chat/completions", json=body)
            try:
                payload = r.json()
            except ValueError:
                payload = {"error": {"code": "not json"}}
            kind = error_kind(r.status_code, payload)
            if kind is None:
                await self._download_first_artifact(client, payload)
        except httpx.TimeoutException:
            self.hung += 1
            kind = "hung (no answer by the deadline)"
        except httpx.HTTPError as e:
            kind = f"transport {type(e).__name__}"
        if kind is None:
            self.latencies.append((start - self.t0, time.perf_counter() - start))
        else:
            self.kinds[kind] += 1

    async def _download_first_artifact(self, client: httpx.AsyncClient, payload: dict[str, Any]) -> None:
        """A ranged download of the first artifact made: the streamed path, and its file handles."""
        for result in payload.get("hugginggpt", {}).get("results", []):
            for key in ("image", "audio"):
                if isinstance(url := result.get("outputs", {}).get(key), str):
                    r = await client.get(url, headers={"Range": "bytes=0-1023"})
                    if r.status_code != 206:
                        self.kinds[f"download {r.status_code}"] += 1
                    return


class Sampler:
    """RSS and open file descriptors of every replica process, every ``period_s``."""

    def __init__(self, period_s: float):
        self.period_s, self.samples = period_s, []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self.t0 = time.perf_counter()

    def start(self) -> Sampler:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _loop(self) -> None:
        import psutil

        while not self._stop.is_set():
            t = round(time.perf_counter() - self.t0, 1)
            for row in replica_memory(APP):
                try:
                    fds = psutil.Process(row["pid"]).num_fds()
                except psutil.Error:
                    fds = None
                self.samples.append({"t": t, **row, "fds": fds})
            self._stop.wait(self.period_s)


def slopes(samples: list[dict[str, Any]], skip_s: float) -> dict[str, dict[str, Any]]:
    """Per process (deployment/pid): RSS first/last, least-squares slope in MB/min and fds first/last,
    after the warm-up (``skip_s``: models load and first batches allocate)."""
    by: dict[str, list[dict[str, Any]]] = {}
    for s in samples:
        if s["t"] >= skip_s:
            by.setdefault(f"{s['deployment']} (pid {s['pid']})", []).append(s)
    out = {}
    for name, rows in sorted(by.items()):
        ts, rss = [r["t"] / 60 for r in rows], [r["rss_mb"] for r in rows]
        n, mt, mr = len(ts), sum(ts) / len(ts), sum(rss) / len(rss)
        var = sum((t - mt) ** 2 for t in ts)
        slope = sum((t - mt) * (r - mr) for t, r in zip(ts, rss, strict=True)) / var if n > 1 and var else 0.0
        fds = [r["fds"] for r in rows if r["fds"] is not None]
        out[name] = {
            "samples": n,
            "rss_mb_first": rss[0],
            "rss_mb_last": rss[-1],
            "rss_slope_mb_per_min": round(slope, 2),
            "fds_first": fds[0] if fds else None,
            "fds_last": fds[-1] if fds else None,
            "fds_max": max(fds) if fds else None,
        }
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--sample-s", type=float, default=10.0, help="RSS / fd sampling period")
    parser.add_argument("--out", default="reports")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    llm = ScriptedLLM().start()
    script_instant(llm, load.scripted_plans())
    work = Path(tempfile.mkdtemp(prefix="hugginggpt-soak-"))
    try:
        with local_cluster() as cluster:
            config = offline_config(llm.base_url, str(work / "artifacts"), cluster.port)
            deadline_s = float(config["applications"][0]["args"]["controller"].get("deadline_s", 300))
            proc, cold = coldstart.serve_run(config, cluster.gcs_address, work, cluster.url)
            print(f"serve run: RUNNING in {cold['to_running_s']} s; soaking {args.minutes} min", flush=True)
            sampler = Sampler(args.sample_s).start()
            soak = Soak(cluster.url, args.concurrency, args.minutes * 60, deadline_s)
            try:
                asyncio.run(soak.run())
            finally:
                sampler.stop()
                coldstart.stop(proc)
    finally:
        llm.stop()
    wall = time.perf_counter() - soak.t0
    report = {
        "minutes": args.minutes,
        "concurrency": args.concurrency,
        "wall_s": round(wall, 1),
        "requests": soak.requests,
        "succeeded": len(soak.latencies),
        "errors_by_kind": dict(soak.kinds.most_common()),
        "hung": soak.hung,
        "latency_s": summary([s for _, s in soak.latencies]),
        "processes": slopes(sampler.samples, skip_s=min(60.0, args.minutes * 60 / 4)),
        "samples": sampler.samples,
        "latencies": soak.latencies,
    }
    (out / "soak.json").write_text(json.dumps(report, indent=1))
    from bench import plots  # matplotlib: installed by `make soak`, not needed by the tests

    plots.soak(report, out / "soak.png")
    shutil.rmtree(work, ignore_errors=True)
    print(render(report))
    return 0 if soak.hung == 0 else 1


def render(report: dict[str, Any]) -> str:
    lat = report["latency_s"]
    lines = [
        f"soak: {report['minutes']} min at concurrency {report['concurrency']} ({report['wall_s']} s wall)",
        f"requests {report['requests']}, succeeded {report['succeeded']}, hung {report['hung']}",
        f"latency of successes: p50 {lat.get('p50')} s, p99 {lat.get('p99')} s",
        "errors by kind: " + (json.dumps(report["errors_by_kind"]) if report["errors_by_kind"] else "none"),
        "| process | RSS first → last (MB) | slope MB/min | fds first → last (max) |",
        "|---|---|---|---|",
    ]
    for name, p in report["processes"].items():
        lines.append(
            f"| {name} | {p['rss_mb_first']} → {p['rss_mb_last']} | {p['rss_slope_mb_per_min']} | "
            f"{p['fds_first']} → {p['fds_last']} ({p['fds_max']}) |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
