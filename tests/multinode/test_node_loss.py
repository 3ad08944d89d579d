"""The app on a real multi-node Ray cluster on this machine (`python -m cluster`, what `make cluster` runs): a
head standing for a CPU node and a worker standing for a GPU node, each with its own custom resource, the
experts placed by cluster/serve-overrides.yaml. A request crosses both nodes; the GPU node is then lost
mid-load and added back. Every wait is bounded and generous; what is asserted is what a client sees.

The cluster runs in a child process: the pytest process may already drive the suite's session cluster
(tests/deployments), a Ray driver belongs to one cluster, and the child's private Ray temp folder keeps
its address away from every other `ray.init()` on the machine. The tests run in file order."""

from __future__ import annotations

import io
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from PIL import Image

from tests.deployments.conftest import free_port
from tests.multinode.process import ClusterProcess, wait_for

pytestmark = pytest.mark.timeout(1200)  # a cold cluster on a loaded 2-core machine; no test is timed

DRAW = "offline/tiny-stable-diffusion"  # on the GPU node
CAPTION = "offline/tiny-vit-gpt2"  # on the CPU node (the head)
DRAW_DEPLOYMENT, CAPTION_DEPLOYMENT = "expert:offline--tiny-stable-diffusion", "expert:offline--tiny-vit-gpt2"
TYPED_TASK_ERRORS = {"expert_unavailable", "timeout", "deadline_exceeded"}
DRAW_THEN_CAPTION = [
    {"id": 0, "task": "text-to-image", "args": {"text": "a lighthouse at dusk"}},
    {"id": 1, "task": "image-to-text", "args": {"image": "<GENERATED>-0"}},
]


@pytest.fixture(scope="module")
def cluster(scripted_llm_server, tmp_path_factory):
    work = tmp_path_factory.mktemp("multinode")
    overrides = {
        "args": {
            "llm": {"base_url": scripted_llm_server.base_url, "model": "scripted", "max_retries": 0},
            # Two experts, one per node; a stranded call gives up after 10 s instead of the default 30.
            "experts": {"models": [DRAW, CAPTION], "pool": False, "replica_wait_s": 10},
        }
    }
    proc = ClusterProcess(free_port(), work / "artifacts", overrides, work)
    try:
        ready = proc.next_event(within_s=900)
        assert ready["event"] == "ready", ready
        proc.ready = ready
        yield proc
    finally:
        proc.stop()


def nodes_of(placement: dict, deployment: str, state: str = "RUNNING") -> list[str]:
    return [r["node"] for r in placement.get(deployment, []) if r["state"] == state]


def run_plan(url: str, tasks: list[dict], timeout: float = 300) -> httpx.Response:
    # The client's timeout only catches a hang: the service must answer long before it.
    return httpx.post(url + "/v1/plans/execute", json={"tasks": tasks}, timeout=timeout)


def assert_typed(r: httpx.Response) -> None:
    """200 with results, or 503 with the results when nothing succeeded; never a stack trace or a 500."""
    assert r.status_code in (200, 503), r.text
    assert "Traceback" not in r.text and "ray::" not in r.text
    for result in r.json()["results"]:
        assert result["status"] in ("ok", "skipped") or result["error_code"] in TYPED_TASK_ERRORS, result


def test_a_request_crosses_both_nodes_and_its_artifacts_download_through_the_head(cluster):
    placement = cluster.ready["placement"]
    assert nodes_of(placement, DRAW_DEPLOYMENT) == ["gpu-node-1"]
    assert nodes_of(placement, CAPTION_DEPLOYMENT) == ["cpu-node-1"]
    assert nodes_of(placement, "Ingress") == ["cpu-node-1"]

    r = run_plan(cluster.url, DRAW_THEN_CAPTION)
    assert r.status_code == 200, r.text
    drawn, caption = r.json()["results"]
    assert drawn["status"] == "ok" and caption["status"] == "ok", r.text
    # The caption expert on the head read the image the GPU node wrote: one store shared by both nodes.
    assert caption["outputs"]["text"]
    image = httpx.get(cluster.url + drawn["outputs"]["image"], timeout=60)
    assert image.status_code == 200 and image.content.startswith(b"\x89PNG")


def test_a_lost_gpu_node_ends_in_flight_tasks_typed_and_the_service_says_it_is_degraded(cluster):
    with ThreadPoolExecutor(6) as pool:
        calls = [
            pool.submit(
                run_plan, cluster.url, [{"id": 0, "task": "text-to-image", "args": {"text": f"a kite {i}"}}]
            )
            for i in range(6)
        ]
        time.sleep(1.0)  # on their way to the GPU node's replica, or in it (either way they must end typed)
        status = cluster.command("remove gpu")
        replies = [c.result() for c in calls]  # each bounded by the service itself: none may hang
    assert status["answer"] == {"event": "removed", "node": "gpu-node-1"}
    for r in replies:
        assert_typed(r)

    def degraded():
        ready = httpx.get(cluster.url + "/readyz", timeout=30)
        body = ready.json()
        return ready.status_code == 200 and body["status"] == "degraded" and body

    body = wait_for(degraded, 300, "/readyz saying degraded")
    assert body["unavailable_experts"] == [DRAW]
    models = {m["id"]: m["status"] for m in httpx.get(cluster.url + "/v1/models", timeout=30).json()["data"]}
    assert models[DRAW] not in ("HEALTHY", "UPSCALING", "DOWNSCALING") and models[CAPTION] == "HEALTHY"

    # Nothing can place the drawing expert now: a request for it ends typed, at once or within
    # replica_wait_s, never waiting for a node that may not come back.
    r = run_plan(cluster.url, [{"id": 0, "task": "text-to-image", "args": {"text": "a kite"}}])
    assert r.status_code == 503 and r.json()["results"][0]["error_code"] == "expert_unavailable", r.text
    # What the head still runs still serves.
    png = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 120, 40)).save(png, format="PNG")
    upload = httpx.post(
        cluster.url + "/v1/artifacts",
        content=png.getvalue(),
        headers={"Content-Type": "image/png"},
        timeout=60,
    )
    assert upload.status_code == 201, upload.text
    r = run_plan(cluster.url, [{"id": 0, "task": "image-to-text", "args": {"image": upload.json()["url"]}}])
    assert r.status_code == 200 and r.json()["results"][0]["status"] == "ok", r.text


def test_the_gpu_node_added_back_brings_the_expert_back(cluster):
    status = cluster.command("add gpu")
    assert status["answer"] == {"event": "added", "node": "gpu-node-2"}

    def ready():
        body = httpx.get(cluster.url + "/readyz", timeout=30).json()
        return body["status"] == "ready" and body

    wait_for(ready, 600, "/readyz ready again")
    placement = cluster.command("status")["placement"]
    assert nodes_of(placement, DRAW_DEPLOYMENT) == ["gpu-node-2"]
    r = run_plan(cluster.url, DRAW_THEN_CAPTION)
    assert r.status_code == 200 and [x["status"] for x in r.json()["results"]] == ["ok", "ok"], r.text
