"""Benchmarks of the deployed service: `python -m bench` writes reports/bench.json and PNG plots."""
