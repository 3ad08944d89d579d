"""The embedded LLM: a local causal LM behind an OpenAI-compatible chat-completions API (Ray-free core)."""
