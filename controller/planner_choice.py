"""Which planner runs stage 1, decided once from the configuration (see ``ControllerConfig.planner``)."""

from __future__ import annotations

from controller.attached_files import AttachedFiles
from controller.config import ControllerConfig
from controller.demos import DemoSource
from controller.llm import LLMClient
from controller.planning import FallbackPlanner, LLMPlanner, Planner
from controller.trained_planner.planner import TrainedPlanner


def choose_planner(
    config: ControllerConfig, llm: LLMClient, demos: DemoSource | None, llm_embedded: bool
) -> Planner:
    """ "auto": the trained planner when the only LLM is the small embedded one; with a capable LLM, the
    LLM plans and the trained planner takes over when its plan stays unusable. Either way a file the user
    names and attaches is planned as that attachment (``AttachedFiles``)."""
    return AttachedFiles(_planner(config, llm, demos, llm_embedded))


def _planner(
    config: ControllerConfig, llm: LLMClient, demos: DemoSource | None, llm_embedded: bool
) -> Planner:
    mode = config.planner
    if mode == "auto":
        mode = "trained" if llm_embedded else "llm+trained"
    if mode == "trained":
        return TrainedPlanner(config.max_tasks)
    llm_planner = LLMPlanner(llm, config, demos)
    if mode == "llm":
        return llm_planner
    return FallbackPlanner(llm_planner, TrainedPlanner(config.max_tasks))
