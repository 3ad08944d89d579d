"""An in-process Service behind the real FastAPI app: the HTTP contract without Ray."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import yaml

from controller.config import ControllerConfig, LLMConfig
from controller.demos import StaticDemos
from controller.llm import LLMClient
from controller.pipeline import HuggingGPT
from deployments.http.routes import create_api
from deployments.http.service import Service, live
from deployments.ray_env import export_ray_env
from experts.catalog import Catalog

SERVE_CONFIG = Path(__file__).resolve().parents[2] / "serve_config.yaml"


def make_service(
    server,
    experts,
    catalog,
    store,
    llm_ready: bool = True,
    unhealthy: frozenset[str] = frozenset(),
    remote=None,
    llm_embedded: bool = False,
    **controller,
) -> Service:
    """``remote``: a RemoteExperts whose models join the catalog's (hybrid inference). ``llm_embedded``:
    the scripted LLM stands in for the small embedded one (trained planner, grounded answers)."""
    cfg = ControllerConfig(**controller)
    llm = LLMClient(LLMConfig(base_url=server.base_url, model="scripted", timeout_s=5, max_retries=0))
    states = {m.id: "UNHEALTHY" if m.id in unhealthy else "LOCAL" for m in catalog if m.runnable}
    if remote is not None:
        catalog = Catalog([*catalog, *(s for m, s in remote.specs.items() if catalog.get(m) is None)])

    async def expert_states():
        return states

    async def live_models():
        return live(states)

    gpt = HuggingGPT(
        cfg,
        llm,
        catalog,
        experts,
        live_models,
        attachments=store,
        demos=StaticDemos(),
        remote=remote,
        llm_embedded=llm_embedded,
    )
    return Service(
        gpt=gpt,
        store=store,
        catalog=catalog,
        expert_states=expert_states,
        remote_states=remote.states if remote else dict,
        llm_description="scripted",
        llm_ready=llm_ready,
        max_body_bytes=2 * 1024 * 1024,
    )


@pytest.fixture
def service(llm_script, experts, offline_catalog, store) -> Service:
    return make_service(llm_script, experts, offline_catalog, store)


@pytest.fixture
async def client(service):
    holder = {"service": service}
    app = create_api(lambda: holder["service"])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
        c.holder = holder  # tests may swap the service
        yield c


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def ray_app(scripted_llm_server, offline_models, tmp_path_factory):
    """One local Ray cluster for the session with the app deployed: 3 dedicated experts + the pool."""
    import time
    from types import SimpleNamespace

    import ray
    from ray import serve

    from deployments.app import build_app

    # Ray runs as `hugginggpt serve` starts it: serve_config.yaml's Serve settings (the handles' and the
    # proxy's transport) reach every process of the session's cluster.
    export_ray_env(yaml.safe_load(SERVE_CONFIG.read_text()))
    metrics_port = free_port()
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        configure_logging=False,
        _metrics_export_port=metrics_port,
    )
    port = free_port()
    serve.start(http_options={"host": "127.0.0.1", "port": port})
    args = {
        "profile": "offline",
        "llm": {
            "base_url": scripted_llm_server.base_url,
            "model": "scripted",
            "timeout_s": 10,
            "max_retries": 0,
        },
        "artifact_store": str(tmp_path_factory.mktemp("ray-artifacts")),
        "experts": {
            "models": ["offline/tiny-stable-diffusion", "offline/tiny-detr", "offline/tiny-vit-gpt2"]
        },
        "max_body_bytes": 1024 * 1024,  # small, so a test can stream past it through the proxy
    }
    start = time.perf_counter()
    serve.run(build_app(args), name="hugginggpt", route_prefix="/")
    cold_start_s = time.perf_counter() - start
    print(f"\nRay app cold start (serve.run of 3 experts + pool + controller): {cold_start_s:.1f} s")
    yield SimpleNamespace(
        url=f"http://127.0.0.1:{port}",
        metrics_url=f"http://127.0.0.1:{metrics_port}/metrics",
        cold_start_s=cold_start_s,
        args=args,
    )
    serve.shutdown()
    ray.shutdown()


def pytest_collection_modifyitems(config, items):
    # `serve run serve_config.yaml` replaces the session's app: whatever the selection order, run it last.
    items.sort(key=lambda item: item.get_closest_marker("replaces_app") is not None)
