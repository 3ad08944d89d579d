"""The brain of HuggingGPT: plan, select, execute, respond. Plain async Python, no Ray."""
