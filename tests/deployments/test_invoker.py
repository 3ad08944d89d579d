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
    assert waited < 0.3 and len(calls) >= 2  # one blocking read alone takes 0.3 s


def _status(**deployments):
    """serve.status()'s shape: deployment name -> (status, replica states)."""
    from types import SimpleNamespace

    found = {
        name: SimpleNamespace(status=SimpleNamespace(value=status), replica_states=replicas)
        for name, (status, replicas) in deployments.items()
    }
    return lambda: SimpleNamespace(applications={"app": SimpleNamespace(deployments=found)})


def test_a_deployment_is_stranded_only_when_it_is_unhealthy_with_no_running_replica():
    """A lost node's expert (UNHEALTHY, its new replica pending) is stranded; one scaling up from zero, or
    one that lost a replica but still runs another, is not: calls to those are served in time."""
    import asyncio

    from deployments.invoker import ServeStates

    read = _status(
        **{
            "expert:lost": ("UNHEALTHY", {"STARTING": 1}),
            "expert:cold": ("UPSCALING", {"STARTING": 1}),
            "expert:half": ("UNHEALTHY", {"RUNNING": 1, "STARTING": 1}),
        }
    )
    names = {m: f"expert:{m}" for m in ("lost", "cold", "half", "deleted")}
    states = ServeStates("app", names, set(), ttl_s=60, read=read)

    async def stranded() -> set[str]:
        return {m for m in names if await states.stranded(m)}

    assert asyncio.run(stranded()) == {"lost", "deleted"}


class _PendingCall:
    """What a DeploymentHandle call looks like while Serve has no replica to give it: it never resolves."""

    def __init__(self):
        self.cancelled = False
        self._never = None

    def __await__(self):
        self._never = asyncio_future()
        return self._never.__await__()

    def cancel(self):
        self.cancelled = True


def asyncio_future():
    import asyncio

    return asyncio.get_running_loop().create_future()


def test_a_call_to_a_stranded_deployment_fails_typed_and_one_queued_elsewhere_waits():
    import asyncio
    from types import SimpleNamespace

    import pytest

    from deployments.invoker import HandleInvoker
    from experts.errors import ExpertUnavailable

    calls: list[_PendingCall] = []

    def remote(*_):
        calls.append(_PendingCall())
        return calls[-1]

    handle = SimpleNamespace(remote=remote)

    async def scenario(stranded: bool) -> None:
        async def is_stranded(model_id: str) -> bool:
            return stranded

        invoker = HandleInvoker({"m": handle}, None, set(), is_stranded, replica_wait_s=0.2, poll_s=0.05)
        await asyncio.wait_for(invoker.invoke("m", "text-to-image", {"text": "x"}), timeout=5)

    with pytest.raises(ExpertUnavailable, match="no running replica"):
        asyncio.run(scenario(stranded=True))
    assert calls[-1].cancelled  # withdrawn from Serve's queue, not left to wait there
    with pytest.raises(TimeoutError):  # busy or starting replicas: only the caller's own bound applies
        asyncio.run(asyncio.wait_for(scenario(stranded=False), timeout=0.6))
