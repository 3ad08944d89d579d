"""The hands of HuggingGPT: model catalog, task adapters, artifact store. No Ray in here."""
