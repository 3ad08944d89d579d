"""build_app(args): the whole application from serve_config.yaml's `args` — one expert deployment per
model the config deploys, and the Ingress holding a handle to each.

    serve run serve_config.yaml        # or: serve run deployments.app:build_app profile=offline
"""

from __future__ import annotations

import logging
from typing import Any

from ray.serve import Application

from deployments.expert import ExpertDeployment
from deployments.ingress import Ingress
from deployments.invoker import POOL_DEPLOYMENT, deployment_name
from deployments.llm_deployment import EmbeddedLLM
from deployments.llm_transport import EMBEDDED_LLM_DEPLOYMENT
from deployments.settings import decide

log = logging.getLogger("ray.serve")


def build_app(args: dict[str, Any]) -> Application:
    # Profile ("auto" resolved), catalog and LLM are decided once, here; every deployment gets the result.
    decided = decide(args)
    app_args, catalog = decided.args, decided.catalog
    # inference_mode remote: every expert runs on the remote endpoints, none on this cluster.
    local = app_args.inference_mode != "remote"
    wanted = (app_args.experts.models or [m.id for m in catalog.default_models()]) if local else []
    store, device = app_args.artifact_store, app_args.experts.device
    experts = {}
    for model_id in wanted:
        spec = catalog.get(model_id)
        if spec is None:
            raise ValueError(f"expert {model_id!r} is not in the {catalog.profile} catalog")
        if not spec.runnable:
            raise ValueError(f"expert {model_id!r} cannot run: {spec.unavailable_reason}")
        gpus = 0.0 if device == "cpu" else spec.resources.num_gpus
        experts[model_id] = ExpertDeployment.options(
            name=deployment_name(model_id),
            ray_actor_options={"num_cpus": 0, "num_gpus": gpus},
        ).bind(store, device, model=spec.model_dump(mode="json"))
    # The same class again, multiplexed: every other runnable catalog model, loaded on demand.
    pool = None
    if app_args.experts.pool and local:
        pool = ExpertDeployment.options(name=POOL_DEPLOYMENT).bind(store, device, catalog=catalog)
    # No LLM configured (args or environment): deploy the embedded one and point the controller at it.
    llm = None
    if decided.llm is None:
        e = app_args.embedded_llm
        llm = EmbeddedLLM.options(
            name=EMBEDDED_LLM_DEPLOYMENT,
            ray_actor_options={"num_cpus": e.num_cpus, "num_gpus": e.num_gpus},
            max_queued_requests=e.max_queued_requests,
        ).bind(e.model, e.device, e.max_tokens)
    log.info(
        "building HuggingGPT: profile %s, inference %s, %d dedicated experts, %d remote models, LLM %s",
        app_args.profile,
        app_args.inference_mode,
        len(experts),
        len(decided.remote.routes) if decided.remote else 0,
        "embedded" if llm else "external",
    )
    return Ingress.bind(decided, experts, pool, llm)
