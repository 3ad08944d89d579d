"""The ``Planner`` that needs no LLM: the trained model decides the tasks in ~0.15 s on a CPU core."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator, Collection
from pathlib import Path

import numpy as np

from controller.messages import Conversation
from controller.planning import PlanOutcome
from controller.schema import Plan, PlanError, StageUsage, Task
from controller.trained_planner.asking import with_the_answer
from controller.trained_planner.decode import Decision, decide
from controller.trained_planner.model import ARTIFACT, PlannerModel, embedding_texts

log = logging.getLogger(__name__)


class TrainedPlanner:
    """Loads the committed artifact and the bundled MiniLM embedder once, on first use (or ``warm``)."""

    def __init__(self, max_tasks: int = 10, artifact: Path = ARTIFACT, embedder=None):
        self.max_tasks = max_tasks
        self.artifact = artifact
        self._embedder = embedder
        self._model: PlannerModel | None = None
        self._lock = threading.Lock()

    def warm(self) -> None:
        with self._lock:
            if self._model is None:
                self._model = PlannerModel.load(self.artifact)
            if self._embedder is None:
                from experts.embeddings import default_embedder

                self._embedder = default_embedder()

    def decide(self, conv: Conversation, offered: Collection[str]) -> Decision:
        conv = with_the_answer(
            conv
        )  # "'Where is the library?'" after "To do that I need the text to translate"
        self.warm()
        assert self._model is not None and self._embedder is not None
        model = self._model
        # One encoder pass: the request's and its clauses' embeddings, and below the detector's layers their
        # hidden states, which the fine-tuned detector takes from there.
        vectors, states = self._embedder.embed_keeping(embedding_texts(conv.request), model.tuned.cut)
        # The request alone, its clauses as one batch: padding every clause to the request's length would
        # cost the detector several times over on a long request.
        tuned = np.vstack([model.tuned.probabilities(states[:1]), model.tuned.probabilities(states[1:])])
        return decide(model, conv.request, conv.history, vectors, tuned, offered, self.max_tasks)

    async def plan(self, conv: Conversation, offered: Collection[str], usage: StageUsage) -> PlanOutcome:
        decision = await asyncio.to_thread(self.decide, conv, offered)
        usage.calls += 1
        if decision.ask:
            reason = decision.chat_reason or "an input the request needs is missing"
            return PlanOutcome(None, reason, ask=decision.ask)
        if not decision.tasks:
            return PlanOutcome(None, decision.chat_reason or "the request needs no model")
        try:
            return PlanOutcome(Plan(tasks=decision.tasks))
        except PlanError as e:  # the decoder only wires backwards, so this is a bug: say so, do not crash
            log.error("trained planner produced an invalid plan: %s", e)
            return PlanOutcome(None, f"no usable plan: {e}", unusable=True)

    async def stream(
        self, conv: Conversation, offered: Collection[str], usage: StageUsage, outcome: list[PlanOutcome]
    ) -> AsyncIterator[Task]:
        """The whole plan at once (it takes milliseconds), in the streaming planners' shape."""
        result = await self.plan(conv, offered, usage)
        outcome.append(result)
        for task in result.plan.tasks if result.plan else []:
            yield task
