"""The controller's view of which experts are live."""

import time


def test_live_states_never_make_a_request_wait_once_known():
    """Serve's status is read in the background after the first time (it costs hundreds of ms)."""
    import asyncio
    from types import SimpleNamespace

    from deployments.invoker import ServeStates

    calls: list[float] = []

    def slow_status():
        calls.append(time.monotonic())
        time.sleep(0.3)
        deployment = SimpleNamespace(status=SimpleNamespace(value="HEALTHY"))
        return SimpleNamespace(applications={"app": SimpleNamespace(deployments={"expert:m": deployment})})

    async def scenario():
        states = ServeStates("app", {"m": "expert:m"}, set(), ttl_s=0.0, read=slow_status)
        assert await states() == {"m": "HEALTHY"}  # the first request has to wait
        start = time.perf_counter()
        for _ in range(5):
            assert await states() == {"m": "HEALTHY"}  # stale-but-known, refreshed behind the scenes
        waited = time.perf_counter() - start
        await asyncio.sleep(0.4)
        return waited

    waited = asyncio.run(scenario())
    assert waited < 0.1 and len(calls) >= 2
