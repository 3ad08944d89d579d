"""Training of the planner's model (``make train-planner``); the runtime never imports this package."""
