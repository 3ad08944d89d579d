"""The ingress deployment (Serve deployment `Ingress`): the FastAPI app that runs the HuggingGPT pipeline over
expert handles. It only composes: what it runs with was decided by the app builder."""

from __future__ import annotations

import logging

import httpx
from ray import serve
from ray.serve.config import BackpressureConfig
from ray.serve.handle import DeploymentHandle

from controller.config import LLMConfig
from controller.llm import LLMClient
from controller.pipeline import HuggingGPT
from controller.retrieval import LazyRetrievalDemos, default_demos
from deployments.http.routes import create_api
from deployments.http.service import Service, current_service, live, set_current_service
from deployments.invoker import INGRESS_DEPLOYMENT, HandleInvoker, ServeStates, deployment_name
from deployments.llm_deployment import EMBEDDED_LLM_DEPLOYMENT, HandleTransport
from deployments.metrics import ServeMetrics
from deployments.settings import Decided
from experts.artifacts import ArtifactStore
from experts.retention import Sweeper

log = logging.getLogger("ray.serve")

api = create_api(current_service)


@serve.deployment(
    name=INGRESS_DEPLOYMENT,
    ray_actor_options={"num_cpus": 0},
    max_ongoing_requests=200,  # requests mostly wait on experts and the LLM
    max_queued_requests=100,  # beyond it the proxy answers 503 + Retry-After at once
    backpressure_config=BackpressureConfig(status_code=503, retry_after_s=5),
    health_check_period_s=10,
    graceful_shutdown_timeout_s=60,
)
@serve.ingress(api)
class Ingress:
    def __init__(
        self,
        decided: Decided,
        experts: dict[str, DeploymentHandle],
        pool: DeploymentHandle | None = None,
        embedded_llm: DeploymentHandle | None = None,
    ):
        app_args, catalog, llm_config = decided.args, decided.catalog, decided.llm
        store = ArtifactStore(app_args.artifact_store)
        # Crashed writes, expired artifacts and (over quota) the least recently used are swept here, at
        # start and then periodically; uploads over the quota are refused when nothing can be evicted.
        self.sweeper = Sweeper(store, app_args.artifacts).start()
        app_name = serve.get_replica_context().replica_id.deployment_id.app_name
        pooled = {m.id for m in catalog if m.runnable and m.id not in experts} if pool is not None else set()
        states = ServeStates(
            app_name, {m: deployment_name(m) for m in experts}, pooled, app_args.status_cache_s
        )

        async def live_models() -> set[str]:
            return live(await states())

        if embedded_llm is not None:
            e = app_args.embedded_llm
            llm_config = LLMConfig(
                base_url=f"http://{EMBEDDED_LLM_DEPLOYMENT}/v1",
                model=e.model,
                timeout_s=e.timeout_s,
                max_retries=0,
                structured_output=True,
            )
            transport = httpx.AsyncClient(transport=HandleTransport(embedded_llm))
            llm = LLMClient(llm_config, http_client=transport)
        else:
            llm = LLMClient(llm_config or LLMConfig())
        demos = default_demos()
        if isinstance(demos, LazyRetrievalDemos):
            demos.warm()  # the embedding model loads with the replica, not on the first request
        gpt = HuggingGPT(
            app_args.controller,
            llm,
            catalog,
            HandleInvoker(experts, pool, pooled),
            live_models,
            attachments=store,
            demos=demos,
            llm_embedded=embedded_llm is not None,
        )
        if warm := getattr(gpt.planner, "warm", None):
            warm()  # the trained planner's model loads with the replica, not on the first request
        service = Service(
            gpt=gpt,
            store=store,
            catalog=catalog,
            expert_states=states,
            llm_description=_describe_llm(llm_config, embedded=embedded_llm is not None),
            llm_ready=llm_config is not None,
            metrics=ServeMetrics(),
            public_model_name=app_args.public_model_name,
            max_body_bytes=app_args.max_body_bytes,
            max_active_requests=app_args.max_active_requests,
        )
        log.info(
            "controller ready: %d dedicated experts, %d pooled, LLM %s",
            len(experts),
            len(pooled),
            service.llm_description,
        )
        set_current_service(service)


def _describe_llm(config: LLMConfig | None, embedded: bool) -> str:
    if config is None:
        return "not configured"
    if embedded:
        return f"{config.model} (embedded, deployment {EMBEDDED_LLM_DEPLOYMENT})"
    return f"{config.model} at {config.base_url or 'https://api.openai.com/v1'}"
