"""ExpertDeployment, the one expert class: a dedicated model and the multiplexed pool are the same class
with different options, so batching, health and user_config apply to both. In-process (no Ray cluster):
the class under the decorator, driven the way a replica drives it."""

from __future__ import annotations

import asyncio
import errno
import threading
import time
from types import SimpleNamespace

import pytest
from ray import serve

from deployments.app import build_app
from deployments.expert import ExpertDeployment, ExpertUserConfig
from deployments.invoker import POOL_DEPLOYMENT, deployment_name
from experts import cancel
from experts.artifacts import ArtifactStore
from experts.catalog import Catalog
from experts.errors import Cancelled, ExpertInputError, ExpertUnavailable, StorageFull

MODEL = "offline/tiny-bert-sentiment"  # batches, and runs in milliseconds
Replica = ExpertDeployment.func_or_class


def bound(app) -> tuple[type, dict]:
    deployment = app._bound_deployment  # the Deployment with the arguments .bind() gave it
    return deployment.func_or_class, deployment.init_kwargs


def test_the_app_binds_dedicated_models_and_the_pool_from_the_one_class(offline_catalog: Catalog):
    ingress = build_app({"profile": "offline", "llm": {"base_url": "http://127.0.0.1:9/v1", "model": "x"}})
    _, experts, pool, _ = ingress._bound_deployment.init_args
    assert experts and pool is not None
    for model_id, app in experts.items():
        cls, kwargs = bound(app)
        assert cls is Replica and kwargs["model"]["id"] == model_id
        assert app._bound_deployment.name == deployment_name(model_id)
    cls, kwargs = bound(pool)
    assert cls is Replica and kwargs["catalog"] is not None and "model" not in kwargs
    assert pool._bound_deployment.name == POOL_DEPLOYMENT


def test_exactly_one_of_a_model_or_a_catalog(store: ArtifactStore, offline_catalog: Catalog):
    with pytest.raises(ValueError, match="exactly one"):
        Replica(store.url, "cpu")
    with pytest.raises(ValueError, match="exactly one"):
        Replica(
            store.url,
            "cpu",
            model=offline_catalog.get(MODEL).model_dump(mode="json"),
            catalog=offline_catalog,
        )


@pytest.fixture
async def replica_context(monkeypatch):
    """What @serve.batch asks of the replica it runs in (its max_ongoing_requests), without a cluster.
    Serve keeps one batch queue per decorated method for the whole process (a replica holds one instance);
    the test's queue is dropped afterwards so that the class stays picklable for the Ray tests."""
    context = SimpleNamespace(_deployment_config=SimpleNamespace(max_ongoing_requests=16))
    monkeypatch.setattr(serve, "get_replica_context", lambda: context)
    batcher = Replica._batched.set_max_batch_size.__self__
    yield
    if batcher._queue is not None:
        batcher._queue._handle_batch_task.cancel()
        batcher._queue = None
    defaults = ExpertUserConfig()
    batcher.set_max_batch_size(defaults.max_batch_size)
    batcher.set_batch_wait_timeout_s(defaults.batch_wait_timeout_s)


def dedicated(offline_catalog: Catalog, store: ArtifactStore, **user_config) -> Replica:
    replica = Replica(store.url, "cpu", model=offline_catalog.get(MODEL).model_dump(mode="json"))
    replica.reconfigure(user_config)
    return replica


async def test_concurrent_calls_are_batched_and_user_config_turns_batching_off(
    offline_models, offline_catalog: Catalog, store: ArtifactStore, replica_context
):
    replica = dedicated(offline_catalog, store, max_batch_size=4, batch_wait_timeout_s=0.2)
    outs = await asyncio.gather(*(replica("text-classification", {"text": f"good {i}"}) for i in range(4)))
    assert all(out["labels"] for out in outs)
    assert replica.stats() == {
        "model_calls": 1,
        "inputs": 4,
        "batch_sizes": {"4": 1},
        "batching": True,
        "max_batch_size": 4,
        "batch_wait_timeout_s": 0.2,
        "loads": {MODEL: 1},
    }
    replica.reconfigure({"batching": False})
    await asyncio.gather(*(replica("text-classification", {"text": "fine"}) for _ in range(2)))
    assert replica.stats()["batch_sizes"] == {"1": 2, "4": 1} and replica.stats()["batching"] is False


async def test_internal_failures_make_the_replica_unhealthy_and_bad_input_does_not(
    offline_models, offline_catalog: Catalog, store: ArtifactStore, replica_context, monkeypatch
):
    replica = dedicated(offline_catalog, store, batching=False, unhealthy_after_failures=2)
    expert = replica.dedicated.expert

    def bad_input(inputs):
        raise ExpertInputError("no text")

    monkeypatch.setattr(expert, "run", bad_input)
    for _ in range(3):
        with pytest.raises(ExpertInputError):
            await replica("text-classification", {"text": "x"})
    replica.check_health()  # the caller's fault says nothing about the replica

    def broken(inputs):
        raise RuntimeError("CUDA error")

    monkeypatch.setattr(expert, "run", broken)
    with pytest.raises(RuntimeError):
        await replica("text-classification", {"text": "x"})
    replica.check_health()
    with pytest.raises(RuntimeError):
        await replica("text-classification", {"text": "x"})
    with pytest.raises(RuntimeError, match="2 expert calls failed in a row"):
        replica.check_health()


async def test_the_pool_loads_any_runnable_catalog_model_and_refuses_others(
    offline_models, offline_catalog: Catalog, store: ArtifactStore
):
    """The loader @serve.multiplexed calls on a cache miss (its LRU cache needs a live replica; the pool's
    requests through Ray are in test_ray_app.py)."""
    pool = Replica(store.url, "cpu", catalog=offline_catalog)
    load = Replica.get_expert.__wrapped__
    host = await load(pool, MODEL)
    assert host.spec.id == MODEL and host.task == "text-classification" and MODEL in pool.metrics
    with pytest.raises(ExpertUnavailable, match="not in the catalog"):
        await load(pool, "nobody/nothing")


async def test_a_full_store_fails_the_call_typed_without_counting_against_the_replica(
    offline_models, offline_catalog: Catalog, store: ArtifactStore, replica_context, monkeypatch
):
    replica = Replica(
        store.url, "cpu", model=offline_catalog.get("offline/tiny-stable-diffusion").model_dump(mode="json")
    )
    replica.reconfigure({"batching": False, "unhealthy_after_failures": 2})

    def disk_full(fd):  # the OS refusing the write: the edge we do not own
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("experts.artifacts.os.fsync", disk_full)
    for i in range(3):
        with pytest.raises(StorageFull):
            await replica("text-to-image", {"text": f"a cat number {i}"})
    replica.check_health()  # a full disk is not this replica's fault: Serve must not restart it


async def test_a_cancelled_call_stops_the_models_thread(
    offline_models, offline_catalog: Catalog, store: ArtifactStore, replica_context, monkeypatch
):
    replica = dedicated(offline_catalog, store, batching=False)
    steps: list[int] = []
    running, stopped = threading.Event(), threading.Event()

    def long_run(inputs):  # a model with many steps, checking the token between them as adapters do
        try:
            for step in range(1000):
                cancel.check()
                steps.append(step)
                if step == 3:
                    running.set()
                time.sleep(0.01)
        except Cancelled:
            stopped.set()
            raise
        return {"labels": [{"label": "done", "score": 1.0}], "text": "done"}

    monkeypatch.setattr(replica.dedicated.expert, "run", long_run)
    call = asyncio.create_task(replica("text-classification", {"text": "x"}))
    assert await asyncio.to_thread(running.wait, 10)
    call.cancel()  # what Serve does in the replica when the caller cancels its response
    assert await asyncio.to_thread(stopped.wait, 10)
    assert len(steps) < 1000
    replica.check_health()  # an abandoned call is not a failure of the replica
