import pytest

from controller.config import LLMConfig
from controller.llm import LLMClient, LLMUnavailable
from controller.schema import StageUsage


def client(server, **kw) -> LLMClient:
    return LLMClient(
        LLMConfig(base_url=server.base_url, model="scripted", **{"timeout_s": 5, "max_retries": 0, **kw})
    )


async def test_completion_records_tokens_and_calls(llm_script):
    llm_script.on(None, "hello there")
    usage = StageUsage()
    assert await client(llm_script).complete([{"role": "user", "content": "hi"}], usage) == "hello there"
    assert usage.calls == 1 and usage.prompt_tokens > 0 and usage.completion_tokens > 0 and usage.seconds > 0


async def test_streaming_yields_deltas_and_usage(llm_script):
    llm_script.on(None, "one two three")
    usage = StageUsage()
    deltas = [d async for d in client(llm_script).stream([{"role": "user", "content": "hi"}], usage)]
    assert "".join(deltas) == "one two three" and len(deltas) == 3
    assert usage.completion_tokens > 0


async def test_retries_are_bounded_and_recover_from_a_5xx(llm_script):
    llm_script.on(None, "", status=503, times=1)
    llm_script.on(None, "recovered")
    usage = StageUsage()
    text = await client(llm_script, max_retries=1).complete([{"role": "user", "content": "hi"}], usage)
    assert text == "recovered" and len(llm_script.requests) == 2


async def test_persistent_failure_is_llm_unavailable_after_the_retries(llm_script):
    llm_script.on(None, "", status=500)
    with pytest.raises(LLMUnavailable, match="HTTP 500"):
        await client(llm_script, max_retries=1).complete([{"role": "user", "content": "hi"}], StageUsage())
    assert len(llm_script.requests) == 2


async def test_timeout_is_llm_unavailable(llm_script):
    llm_script.on(None, "late", delay_s=2)
    with pytest.raises(LLMUnavailable, match="did not answer in time"):
        await client(llm_script, timeout_s=0.3).complete([{"role": "user", "content": "hi"}], StageUsage())


async def test_unreachable_endpoint_is_llm_unavailable():
    llm = LLMClient(LLMConfig(base_url="http://127.0.0.1:9/v1", timeout_s=2, max_retries=0))
    with pytest.raises(LLMUnavailable, match="could not be reached"):
        await llm.complete([{"role": "user", "content": "hi"}], StageUsage())


@pytest.mark.parametrize("stream", [False, True])
async def test_the_endpoints_own_error_text_never_reaches_the_message(llm_script, stream):
    # A provider's 401 says things like "Incorrect API key provided: sk-ab***yz"; clients see the status.
    llm_script.on(None, "", status=401)
    llm = client(llm_script)
    with pytest.raises(LLMUnavailable) as caught:
        if stream:
            [d async for d in llm.stream([{"role": "user", "content": "hi"}], StageUsage())]
        else:
            await llm.complete([{"role": "user", "content": "hi"}], StageUsage())
    message = str(caught.value)
    assert "credentials (HTTP 401)" in message
    assert "scripted failure" not in message and llm_script.base_url not in message


async def test_structured_output_sends_the_schema_only_when_enabled(llm_script):
    llm_script.on(None, "{}")
    schema = {"title": "plan", "type": "object"}
    await client(llm_script).complete([{"role": "user", "content": "x"}], StageUsage(), json_schema=schema)
    await client(llm_script, structured_output=True).complete(
        [{"role": "user", "content": "x"}], StageUsage(), json_schema=schema
    )
    first, second = llm_script.requests
    assert "response_format" not in first
    assert second["response_format"]["json_schema"]["schema"] == schema
