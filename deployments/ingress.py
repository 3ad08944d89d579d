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
from deployments.http.security import KEYS_ENV, AccessState
from deployments.http.service import Service, current_service, live, set_current_service
from deployments.invoker import INGRESS_DEPLOYMENT, HandleInvoker, ServeStates, deployment_name
from deployments.llm_transport import EMBEDDED_LLM_DEPLOYMENT, HandleTransport
from deployments.metrics import ServeMetrics
from deployments.settings import Decided
from experts.adapters import ExpertContext
from experts.artifacts import ArtifactStore
from experts.remote import RemoteExperts
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
        metrics = ServeMetrics()
        remote = None
        if decided.remote is not None:  # remote / hybrid: the endpoints' calls run on this replica (I/O only)
            r = decided.remote
            ctx = ExpertContext(store=store, device="cpu")
            remote = RemoteExperts(r.config, r.routes, r.specs, ctx, observe=metrics.remote_call)

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
            decided.selectable(),
            HandleInvoker(experts, pool, pooled, states.stranded, app_args.experts.replica_wait_s),
            live_models,
            attachments=store,
            demos=demos,
            llm_embedded=embedded_llm is not None,
            remote=remote,
        )
        if warm := getattr(gpt.planner, "warm", None):
            warm()  # the trained planner's model loads with the replica, not on the first request
        service = Service(
            gpt=gpt,
            store=store,
            catalog=decided.selectable(),
            expert_states=states,
            remote_states=remote.states if remote else dict,
            llm_description=_describe_llm(llm_config, embedded=embedded_llm is not None),
            llm_ready=llm_config is not None,
            metrics=metrics,
            public_model_name=app_args.public_model_name,
            max_body_bytes=app_args.max_body_bytes,
            access=AccessState(decided.access),
            max_active_requests=app_args.max_active_requests,
        )
        log.info(
            "controller ready: %d dedicated experts, %d pooled, %d remote, LLM %s",
            len(experts),
            len(pooled),
            len(remote.routes) if remote else 0,
            service.llm_description,
        )
        if not decided.access.keys_required:
            log.warning(
                "NO API KEYS configured (%s): %s",
                KEYS_ENV,
                "every client is served without a key (security.allow_unauthenticated)"
                if decided.access.allow_unauthenticated
                else "only loopback clients are served; others get 403",
            )
        set_current_service(service)


def _describe_llm(config: LLMConfig | None, embedded: bool) -> str:
    if config is None:
        return "not configured"
    if embedded:
        return f"{config.model} (embedded, deployment {EMBEDDED_LLM_DEPLOYMENT})"
    # The model's name only: the endpoint's address is the operator's business, not every client's.
    return f"{config.model} (external)"
