"""API keys, per-key rate limits, usage metrics and CORS, over real HTTP (uvicorn on a loopback port):
what a client with or without a key, and a browser on another origin, actually get."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib

import httpx
import pytest

from deployments.http.routes import create_api
from deployments.http.security import AccessPolicy, AccessState, key_digest, load_key_digests
from deployments.http.service import NoMetrics
from deployments.settings import AppArgs, decide_access
from tests.controller.helpers import plan_reply
from tests.deployments.conftest import make_service
from tests.web.live_server import api_server

KEY, OTHER = "sk-hgpt-test-one", "sk-hgpt-test-two"
CHAT = "/v1/chat/completions"


class RecordingMetrics(NoMetrics):
    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    def access(self, key_id: str, outcome: str) -> None:
        self.seen.append((key_id, outcome))


@pytest.fixture(scope="module")
def server():
    with api_server() as (url, holder):
        yield url, holder


@pytest.fixture
def serve(server, llm_script, experts, offline_catalog, store):
    """Point the live server at a Service with the given access policy; returns its URL and metrics."""
    url, holder = server

    def configure(**policy) -> tuple[str, RecordingMetrics]:
        metrics = RecordingMetrics()
        base = make_service(llm_script, experts, offline_catalog, store)
        holder.current = dataclasses.replace(
            base, access=AccessState(AccessPolicy(**policy)), metrics=metrics
        )
        return url, metrics

    return configure


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def ask(content: str = "hello") -> dict:
    return {"model": "hugginggpt", "messages": [{"role": "user", "content": content}]}


# --- keys ---


async def test_with_keys_every_route_but_the_probes_and_the_page_wants_one(serve):
    url, _ = serve(key_digests=frozenset({key_digest(KEY), key_digest(OTHER)}))
    async with httpx.AsyncClient(base_url=url) as c:
        for path in ("/v1/models", "/docs", "/openapi.json", "/v1/artifacts/" + "0" * 64 + ".png"):
            r = await c.get(path)
            assert r.status_code == 401, path
            assert r.headers["www-authenticate"] == "Bearer"
            assert r.json()["error"]["code"] == "invalid_api_key" and "Authorization: Bearer" in r.text
        r = await c.post(CHAT, json=ask())
        assert r.status_code == 401
        wrong = await c.get("/v1/models", headers=bearer("sk-guess"))
        assert wrong.status_code == 401 and "invalid API key" in wrong.json()["error"]["message"]
        assert "sk-guess" not in wrong.text
        for key in (KEY, OTHER):
            assert (await c.get("/v1/models", headers=bearer(key))).status_code == 200
        assert (await c.get("/v1/models", headers={"Authorization": f"bearer {KEY}"})).status_code == 200
        assert (await c.get("/v1/models", headers={"Authorization": KEY})).status_code == 401
        for open_path in ("/healthz", "/readyz", "/", "/ui/app.js"):
            assert (await c.get(open_path)).status_code == 200, open_path


async def test_usage_is_counted_per_key_id_never_per_key(serve):
    url, metrics = serve(key_digests=frozenset({key_digest(KEY)}))
    async with httpx.AsyncClient(base_url=url) as c:
        await c.get("/v1/models", headers=bearer(KEY))
        await c.get("/v1/models", headers=bearer("sk-wrong"))
    key_id = hashlib.sha256(KEY.encode()).hexdigest()[:12]
    assert metrics.seen == [(key_id, "allowed"), ("anonymous", "unauthorized")]
    assert KEY not in repr(metrics.seen)


async def test_without_keys_only_loopback_is_served_unless_opted_in(
    serve, llm_script, experts, offline_catalog, store
):
    url, _ = serve()
    async with httpx.AsyncClient(base_url=url) as c:
        assert (await c.get("/v1/models")).status_code == 200  # loopback: how `make run` is used
    base = make_service(llm_script, experts, offline_catalog, store)
    for opted_in in (False, True):
        service = dataclasses.replace(base, access=AccessState(AccessPolicy(allow_unauthenticated=opted_in)))
        remote = httpx.ASGITransport(app=create_api(lambda s=service: s), client=("203.0.113.7", 40000))
        async with httpx.AsyncClient(transport=remote, base_url="http://api") as c:
            r = await c.get("/v1/models")
            assert (await c.get("/healthz")).status_code == 200
            if opted_in:
                assert r.status_code == 200
                continue
            assert r.status_code == 403 and r.json()["error"]["code"] == "remote_access_disabled"
            assert "HUGGINGGPT_API_KEYS" in r.json()["error"]["message"]


# --- rate limits ---


async def test_requests_per_minute_per_key_with_retry_after(serve):
    url, metrics = serve(key_digests=frozenset({key_digest(KEY), key_digest(OTHER)}), requests_per_minute=3)
    async with httpx.AsyncClient(base_url=url) as c:
        statuses = [(await c.get("/v1/models", headers=bearer(KEY))).status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        r = await c.get("/v1/models", headers=bearer(KEY))
        assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
        assert r.json()["error"] == {
            "message": r.json()["error"]["message"],
            "type": "rate_limit_error",
            "param": None,
            "code": "rate_limit_exceeded",
        }
        assert "3 requests a minute" in r.json()["error"]["message"]
        # Another key has its own budget; the probes are never limited.
        assert (await c.get("/v1/models", headers=bearer(OTHER))).status_code == 200
        assert (await c.get("/healthz")).status_code == 200
    assert "rate_limited" in {o for _, o in metrics.seen}


async def test_concurrent_runs_per_key(serve, llm_script):
    url, _ = serve(key_digests=frozenset({key_digest(KEY)}), max_concurrent_runs=1)
    llm_script.on("plan", plan_reply(), delay_s=1.5)
    llm_script.on("chat", "hi there")
    async with httpx.AsyncClient(base_url=url, timeout=30) as c:
        first = asyncio.create_task(c.post(CHAT, json=ask(), headers=bearer(KEY)))
        await asyncio.sleep(0.5)
        second = await c.post(CHAT, json=ask(), headers=bearer(KEY))
        assert second.status_code == 429 and second.headers["retry-after"] == "1"
        assert "runs are already in flight" in second.json()["error"]["message"]
        assert (await c.get("/v1/models", headers=bearer(KEY))).status_code == 200  # not a run
        assert (await first).status_code == 200
        llm_script.on("plan", plan_reply())
        assert (await c.post(CHAT, json=ask(), headers=bearer(KEY))).status_code == 200  # slot freed


# --- CORS ---

PREFLIGHT = {
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "authorization,content-type",
}


async def test_a_browser_on_an_allowed_origin_gets_through_preflight_and_call(serve, llm_script):
    url, _ = serve(key_digests=frozenset({key_digest(KEY)}), cors_origins=("http://localhost:5173",))
    llm_script.on("plan", plan_reply())
    llm_script.on("chat", "hello")
    origin = {"Origin": "http://localhost:5173"}
    async with httpx.AsyncClient(base_url=url, timeout=30) as c:
        pre = await c.options("/hugginggpt", headers={**origin, **PREFLIGHT})  # no key on a preflight
        assert pre.status_code == 200
        assert pre.headers["access-control-allow-origin"] == "http://localhost:5173"
        assert "authorization" in pre.headers["access-control-allow-headers"].lower()
        r = await c.post(
            "/hugginggpt", json={"messages": ask()["messages"]}, headers={**origin, **bearer(KEY)}
        )
        assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "http://localhost:5173"
        refused = await c.get("/v1/models", headers=origin)  # a browser can read the 401 too
        assert refused.status_code == 401 and refused.headers["access-control-allow-origin"]
        evil = await c.options("/hugginggpt", headers={"Origin": "https://evil.example", **PREFLIGHT})
        assert evil.status_code == 400 and evil.json()["error"]["code"] == "cors_refused"
        assert "access-control-allow-origin" not in evil.headers


async def test_without_cors_origins_no_origin_is_allowed(serve):
    url, _ = serve()
    async with httpx.AsyncClient(base_url=url) as c:
        pre = await c.options("/hugginggpt", headers={"Origin": "http://localhost:5173", **PREFLIGHT})
        assert pre.status_code == 405 and pre.json()["error"]["code"] == "method_not_allowed"
        assert "access-control-allow-origin" not in pre.headers
        r = await c.get("/v1/models", headers={"Origin": "http://localhost:5173"})
        assert "access-control-allow-origin" not in r.headers


# --- where keys and limits come from ---


def test_keys_come_from_the_environment_and_a_file(tmp_path):
    secret = tmp_path / "keys"
    secret.write_text("sk-file-1\n\nsk-file-2\n")
    env = {"HUGGINGGPT_API_KEYS": " sk-env-1, sk-env-2 ,", "HUGGINGGPT_API_KEYS_FILE": str(secret)}
    assert load_key_digests(env) == {
        key_digest(k) for k in ("sk-env-1", "sk-env-2", "sk-file-1", "sk-file-2")
    }
    assert load_key_digests({}) == frozenset()
    with pytest.raises(ValueError, match="cannot be read"):
        load_key_digests({"HUGGINGGPT_API_KEYS_FILE": str(tmp_path / "missing")})


def test_security_settings_are_decided_once_and_keys_are_never_in_the_file():
    args = AppArgs.model_validate(
        {
            "security": {
                "requests_per_minute": 60,
                "max_concurrent_runs": 4,
                "cors_origins": ["https://a.example"],
            }
        }
    )
    policy = decide_access(args.security, {"HUGGINGGPT_API_KEYS": KEY})
    assert policy.identify(KEY) == key_digest(KEY)[:12] and policy.identify("nope") is None
    assert (policy.requests_per_minute, policy.max_concurrent_runs) == (60, 4)
    assert policy.cors_origins == ("https://a.example",)
    assert KEY not in repr(policy)
    with pytest.raises(ValueError, match="api_keys"):
        AppArgs.model_validate({"security": {"api_keys": [KEY]}})
