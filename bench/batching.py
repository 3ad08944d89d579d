"""Benchmark 3: @serve.batch on one batchable expert (image classification, offline/tiny-vit), one replica,
at a fixed concurrency, batching on and off through user_config; throughput and the batch sizes it ran."""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import Callable
from typing import Any

from PIL import Image
from ray import serve

from bench.apps import single_expert_app
from bench.stats import summary
from deployments.invoker import deployment_name
from experts.artifacts import ArtifactStore

MODEL = "offline/tiny-vit"
TASK = "image-classification"
APP = "bench-batching"


def test_image(store: ArtifactStore, size: int = 224) -> str:
    """A deterministic gradient PNG in the store; its artifact id is the expert's input."""
    image = Image.new("RGB", (size, size))
    image.putdata([(x, y, (x + y) // 2) for y in range(size) for x in range(size)])
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return store.put(buf.getvalue(), "image/png")


def batch_delta(before: dict[str, Any], after: dict[str, Any]) -> dict[str, int]:
    """Model calls per batch size between two ``stats()`` snapshots of the same replica."""
    sizes = set(before["batch_sizes"]) | set(after["batch_sizes"])
    delta = {s: after["batch_sizes"].get(s, 0) - before["batch_sizes"].get(s, 0) for s in sizes}
    return {s: n for s, n in sorted(delta.items(), key=lambda kv: int(kv[0])) if n}


def mean_batch(sizes: dict[str, int]) -> float | None:
    calls = sum(sizes.values())
    return round(sum(int(s) * n for s, n in sizes.items()) / calls, 2) if calls else None


async def _drive(handle, image_id: str, concurrency: int, total: int) -> tuple[list[float], float]:
    next_index, latencies = 0, []

    async def worker() -> None:
        nonlocal next_index
        while next_index < total:
            next_index += 1
            start = time.perf_counter()
            await handle.remote(TASK, {"image": image_id})
            latencies.append(time.perf_counter() - start)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, time.perf_counter() - start


def run(
    artifact_store: str,
    concurrency: int,
    total: int,
    max_batch_size: int,
    batch_wait_timeout_s: float,
    progress: Callable[[str], None],
) -> dict[str, Any]:
    image_id = test_image(ArtifactStore(artifact_store))
    name = deployment_name(MODEL)
    modes: dict[str, Any] = {}
    try:
        for batching in (False, True):
            mode = "batched" if batching else "unbatched"
            user_config = {
                "batching": batching,
                "max_batch_size": max_batch_size,
                "batch_wait_timeout_s": batch_wait_timeout_s,
            }
            # Same replica both times: a user_config change reconfigures it in place.
            serve.run(single_expert_app(MODEL, artifact_store, user_config), name=APP, route_prefix=None)
            handle = serve.get_deployment_handle(name, app_name=APP)
            asyncio.run(_drive(handle, image_id, concurrency, 2 * concurrency))  # warm-up, unrecorded
            before = handle.stats.remote().result()
            progress(f"[3] batching: {mode}, concurrency {concurrency}, {total} calls")
            latencies, wall = asyncio.run(_drive(handle, image_id, concurrency, total))
            after = handle.stats.remote().result()
            sizes = batch_delta(before, after)
            modes[mode] = {
                "user_config": user_config,
                "calls": total,
                "wall_s": round(wall, 3),
                "calls_per_s": round(total / wall, 2),
                "latency_s": summary(latencies),
                "batch_sizes": sizes,
                "mean_batch_size": mean_batch(sizes),
            }
            progress(f"  {modes[mode]['calls_per_s']} calls/s, mean batch {modes[mode]['mean_batch_size']}")
    finally:
        serve.delete(APP)
    ratio = modes["batched"]["calls_per_s"] / modes["unbatched"]["calls_per_s"]
    return {
        "model": MODEL,
        "concurrency": concurrency,
        "replicas": 1,
        "modes": modes,
        "throughput_ratio_batched_over_unbatched": round(ratio, 3),
    }
