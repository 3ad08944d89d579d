"""A local multi-node Ray cluster with the app on it (`make cluster`, tests/multinode)."""
