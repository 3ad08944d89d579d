"""ExpertDeployment's claims that only Ray can show, on the session's cluster (a second, small app beside
the test app, deleted afterwards): @serve.batch batching seen in stats(), one poisoned input failing
alone inside a batch, a cancelled call dropped inside the replica, the pool's
LRU eviction order, and a replica whose model keeps failing replaced by Serve after check_health.
(user_config reaching @serve.batch in a running replica: test_live_reconfigure.py.)"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import ray
from ray import serve

from deployments.expert import ExpertDeployment
from deployments.invoker import HandleInvoker
from experts.catalog import Catalog, ModelSpec
from experts.errors import ExpertInputError

APP = "expert-probe"
MODEL = "offline/tiny-bert-sentiment"  # batches, and runs in milliseconds
TASK = "text-classification"
# Five pooled text models, each with a `text` input; the pool keeps four (POOL_MODELS_PER_REPLICA).
POOLED = {
    "offline/tiny-bert-sentiment": "text-classification",
    "offline/tiny-bert-ner": "token-classification",
    "offline/tiny-gpt2": "text-generation",
    "offline/tiny-t5-summarization": "summarization",
    "offline/tiny-t5-text2text": "text2text-generation",
}
CRASH = "crash"


class GPUFailsOn(ExpertDeployment.func_or_class):
    """The real replica, whose model raises like a failing GPU on one input: a healthy offline model
    cannot be made to fail internally, and the hardware is the edge a test has to stand in for."""

    def _load(self, spec: ModelSpec):
        host = super()._load(spec)
        run = host.expert.run

        def run_or_crash(inputs: dict[str, Any]) -> dict[str, Any]:
            if inputs.get("text") == CRASH:
                raise RuntimeError("CUDA error: an illegal memory access was encountered")
            return run(inputs)

        host.expert.run = run_or_crash
        return host

    def pid(self) -> int:
        return os.getpid()


@serve.deployment(ray_actor_options={"num_cpus": 0})
class Bundle:
    """The probe app's ingress: it holds the three expert deployments so that one serve.run deploys them;
    the tests reach each through its own handle."""

    def __init__(self, *experts: Any):
        self.experts = experts

    def __call__(self) -> str:
        return "probe"


def probe_app(store: str, spec: dict, catalog: Catalog, batching: dict[str, Any]):
    dedicated = ExpertDeployment.options(name="probe-expert", user_config=batching).bind(
        store, "cpu", model=spec
    )
    pool = ExpertDeployment.options(name="probe-pool", user_config={"batching": False}).bind(
        store, "cpu", catalog=catalog
    )
    failing = serve.deployment(
        GPUFailsOn,
        name="probe-failing",
        ray_actor_options={"num_cpus": 0},
        health_check_period_s=1,
        health_check_timeout_s=10,
        user_config={"batching": False, "unhealthy_after_failures": 2},
    ).bind(store, "cpu", model=spec)
    return Bundle.bind(dedicated, pool, failing)


@pytest.fixture(scope="module")
def probe(ray_app, offline_catalog: Catalog):
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # GPUFailsOn, without importing tests
    spec = offline_catalog.get(MODEL).model_dump(mode="json")
    store = ray_app.args["artifact_store"]

    def deploy(batching: dict[str, Any]) -> None:
        serve.run(probe_app(store, spec, offline_catalog, batching), name=APP, route_prefix=None)

    def handle(name: str):
        return serve.get_deployment_handle(name, app_name=APP)

    deploy({"max_batch_size": 4, "batch_wait_timeout_s": 1.0})
    yield deploy, handle
    serve.delete(APP)


def concurrently(calls: list[Callable[[], Any]]) -> list[Any]:
    """Each call's result, or the exception it raised; all sent at once."""

    def outcome(call):
        try:
            return call()
        except Exception as e:
            return e

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(outcome, calls))


def classify(handle, text: str) -> Callable[[], Any]:
    return lambda: handle.remote(TASK, {"text": text}).result(timeout_s=60)


def test_concurrent_calls_share_one_model_call_and_a_bad_input_fails_alone(probe):
    """Catches @serve.batch not applied (four model calls of one input) and a bad input failing its
    batch-mates (the batch is retried input by input, so only the empty text fails)."""
    _, handle = probe
    expert = handle("probe-expert")
    before = expert.stats.remote().result()
    outs = concurrently([classify(expert, t) for t in ("good", "bad", "fine", "great")])
    assert all(out["labels"] for out in outs), outs
    after = expert.stats.remote().result()
    assert after["inputs"] - before["inputs"] == 4 and after["model_calls"] - before["model_calls"] == 1
    outs = concurrently([classify(expert, t) for t in ("good", "", "fine")])
    assert isinstance(outs[1], ExpertInputError) and "needs input" in str(outs[1])
    assert outs[0]["labels"] and outs[2]["labels"]


async def test_a_cancelled_call_never_reaches_the_model(probe):
    """The controller cancels the invoker call (as a client disconnect does): HandleInvoker must cancel
    the Ray request, and the replica then drops it from the batch queue. Catches the `response.cancel()`
    missing: the call then runs when the 3 s batch wait ends."""
    deploy, handle = probe
    deploy({"max_batch_size": 8, "batch_wait_timeout_s": 3.0})
    expert = handle("probe-expert")
    before = await expert.stats.remote()
    invoker = HandleInvoker({MODEL: expert}, None, set())
    call = asyncio.create_task(invoker.invoke(MODEL, TASK, {"text": "nobody waits for this"}))
    await asyncio.sleep(1.0)  # in the replica's batch queue now
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    await asyncio.sleep(4.0)  # past the batch wait
    after = await expert.stats.remote()
    assert after["inputs"] == before["inputs"], (before, after)


def test_the_pool_evicts_its_least_recently_used_model(probe):
    """Four models fit; the fifth evicts the one used longest ago. Catches FIFO eviction (the first
    loaded model, used again just before, would be evicted and reloaded) and no eviction at all."""
    _, handle = probe
    pool = handle("probe-pool")

    def ask(model: str) -> None:
        pool.options(multiplexed_model_id=model).remote(POOLED[model], {"text": "a quiet harbour"}).result(
            timeout_s=120
        )

    a, b, c, d, e = POOLED
    for model in (a, b, c, d, a, e):  # a is used again before e arrives: b is now the oldest
        ask(model)
    ask(a)  # still loaded
    ask(b)  # evicted: loaded again
    assert pool.stats.remote().result()["loads"] == {a: 1, b: 2, c: 1, d: 1, e: 1}


def test_a_replica_whose_model_keeps_failing_is_replaced(probe):
    """After `unhealthy_after_failures` (2) internal failures in a row, check_health fails and Serve
    starts a new replica, which serves again. Catches the failures never counted or never reported."""
    _, handle = probe
    failing = handle("probe-failing")
    first = failing.pid.remote().result()
    for _ in range(2):
        with pytest.raises(RuntimeError, match="CUDA error"):
            failing.remote(TASK, {"text": CRASH}).result(timeout_s=60)
    deadline = time.monotonic() + 120
    pid = first
    while pid == first and time.monotonic() < deadline:
        time.sleep(1)
        try:
            pid = failing.pid.remote().result(timeout_s=10)
        except Exception:  # between the old replica's stop and the new one's start
            continue
    assert pid != first, "Serve kept the failing replica"
    assert failing.remote(TASK, {"text": "fine again"}).result(timeout_s=60)["labels"]
