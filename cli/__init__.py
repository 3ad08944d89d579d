"""The `hugginggpt` command line: a client of the HTTP API (`ask`, `plan`, `models`) and `serve`, which
runs serve_config.yaml. Not Serve wiring: it reaches the service over HTTP only."""
