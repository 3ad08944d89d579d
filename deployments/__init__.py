"""What Ray Serve runs: the app builder, the ingress, the expert deployments, the embedded LLM, metrics.
The HTTP layer (`http/`) and the embedded LLM's engine (`llm/`) are Ray-free sub-packages."""
