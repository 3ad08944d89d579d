"""The trained planner: plans a request without an LLM, from a small model trained on TaskBench gold plans
and everyday requests (``make train-planner``). Pure numpy at run time, plus the bundled MiniLM embedder."""
