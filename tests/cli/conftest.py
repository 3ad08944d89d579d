"""The CLI talks to the same live API server as the browser tests."""

from tests.web.conftest import live, live_api

__all__ = ["live", "live_api"]
