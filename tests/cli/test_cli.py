"""`hugginggpt ask|plan|models` against the real API on a loopback port (scripted LLM, offline experts)."""

from __future__ import annotations

import json
import socket

import pytest
from typer.testing import CliRunner

from cli.main import app
from tests.controller.helpers import echo_urls, plan_reply
from tests.deployments.conftest import make_service
from tests.experts.expert_samples import png_bytes

DRAW_AND_DESCRIBE = plan_reply(
    {"id": 0, "task": "text-to-image", "args": {"text": "a red bicycle"}},
    {"id": 1, "task": "image-classification", "args": {"image": "<GENERATED>-0"}},
    {"id": 2, "task": "image-to-text", "args": {"image": "<GENERATED>-0"}},
)
MISSING_IMAGE = "/v1/artifacts/" + "a" * 64 + ".png"


@pytest.fixture
def cli(live):
    runner = CliRunner()

    def run(*args: str, env: dict[str, str] | None = None):
        return runner.invoke(app, [*args, "--url", live.url], env={"COLUMNS": "200", **(env or {})})

    return run


def test_ask_shows_each_task_with_state_and_model_the_answer_and_saves_artifacts(cli, llm_script, tmp_path):
    llm_script.on("plan", DRAW_AND_DESCRIBE)
    llm_script.on("respond", echo_urls)
    out = tmp_path / "art"
    r = cli("ask", "draw a red bicycle and tell me what it is", "--out", str(out))
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    for task_id, task, model in [
        (0, "text-to-image", "offline/tiny-stable-diffusion"),
        (1, "image-classification", "offline/tiny-vit"),
        (2, "image-to-text", "offline/tiny-vit-gpt2"),
    ]:
        line = next(x for x in lines if f"#{task_id} {task}" in x)
        assert "✓ done" in line and model in line and line.rstrip().endswith(" s"), r.output
    assert any(x.startswith("Done. ![result](/v1/artifacts/") for x in lines)
    [saved] = out.iterdir()
    assert saved.name.startswith("0-text-to-image-") and saved.suffix == ".png"
    assert saved.read_bytes().startswith(b"\x89PNG")
    assert f"saved {saved}" in r.output


def test_a_failed_task_is_shown_with_its_error(cli, llm_script, tmp_path):
    llm_script.on(
        "plan", plan_reply({"id": 0, "task": "image-classification", "args": {"image": MISSING_IMAGE}})
    )
    llm_script.on("respond", "I could not read the image.")
    r = cli("ask", "classify my picture", "--out", str(tmp_path))
    assert r.exit_code == 1, r.output  # a script must not go on as if the work were done
    assert "✗ failed" in r.output and "ArtifactNotFound" in r.output
    assert "I could not read the image." in r.output
    assert "1 task(s) did not finish: #0 image-classification failed" in r.output
    assert list(tmp_path.iterdir()) == []


def test_ask_uploads_files_and_the_planner_sees_them(cli, llm_script, tmp_path):
    picture = tmp_path / "cat.png"
    picture.write_bytes(png_bytes())
    llm_script.on("plan", '{"tasks": []}')
    llm_script.on("chat", "A small picture.")
    r = cli("ask", "what is this?", "--file", str(picture), "--out", str(tmp_path / "out"))
    assert r.exit_code == 0, r.output
    assert "A small picture." in r.output
    seen = llm_script.calls("plan")[0]["messages"][-1]["content"]
    assert seen.startswith("what is this?\n[attached image: /v1/artifacts/")


@pytest.mark.parametrize(
    ("name", "message"),
    [("missing.png", "File not found"), ("notes.txt", "not an image, audio or video file")],
)
def test_bad_files_are_refused_before_anything_runs(cli, llm_script, tmp_path, name, message):
    (tmp_path / "notes.txt").write_text("hello")
    r = cli("ask", "what is this?", "--file", str(tmp_path / name))
    assert r.exit_code == 2 and message in r.output
    assert llm_script.requests == []


def test_plan_prints_a_tree_or_json(cli, llm_script):
    llm_script.on("plan", DRAW_AND_DESCRIBE)
    tree = cli("plan", "draw a red bicycle and tell me what it is")
    assert tree.exit_code == 0, tree.output
    lines = tree.output.splitlines()
    assert lines[0] == "Plan: 3 tasks"
    root = next(i for i, x in enumerate(lines) if "#0 text-to-image" in x)
    child = next(i for i, x in enumerate(lines) if "#1 image-classification" in x)
    assert child > root and lines[child].index("#1") > lines[root].index("#0")  # nested under #0
    assert llm_script.calls("select") == [] and llm_script.calls("respond") == []

    as_json = cli("plan", "draw a red bicycle", "--json")
    tasks = json.loads(as_json.output)
    assert [(t["id"], t["task"], t["dep"]) for t in tasks] == [
        (0, "text-to-image", []),
        (1, "image-classification", [0]),
        (2, "image-to-text", [0]),
    ]


def test_models_lists_the_llm_and_the_experts(cli):
    r = cli("models")
    assert r.exit_code == 0, r.output
    assert "LLM: scripted" in r.output
    detr = next(x for x in r.output.splitlines() if "offline/tiny-detr" in x)
    assert "object-detection" in detr and "LOCAL" in detr
    data = json.loads(cli("models", "--json").output)
    assert data[0]["id"] == "hugginggpt"


def test_no_service_says_to_start_it():
    with socket.socket() as s:  # a port that nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    r = CliRunner().invoke(app, ["models"], env={"HUGGINGGPT_URL": f"http://127.0.0.1:{port}"})
    assert r.exit_code == 3
    assert f"No HuggingGPT service answers at http://127.0.0.1:{port}" in r.output and "make run" in r.output


def test_no_llm_configured_says_which_variable_to_set(cli, live, llm_script, experts, offline_catalog, store):
    live.holder.current = make_service(llm_script, experts, offline_catalog, store, llm_ready=False)
    r = cli("ask", "draw a bicycle")
    assert r.exit_code == 1
    assert "no LLM configured" in r.output and "OPENAI_API_KEY" in r.output and "Planning" not in r.output


def test_llm_down_mid_plan_is_an_error_with_advice(cli, llm_script):
    llm_script.on("plan", "", status=502)
    r = cli("plan", "draw a bicycle")
    assert r.exit_code == 1 and "Check that the LLM endpoint is up" in r.output


def test_a_service_with_keys_gets_the_key_from_the_flag_or_the_environment(cli, live, llm_script, tmp_path):
    import dataclasses

    from deployments.http.security import AccessPolicy, AccessState, key_digest

    live.holder.current = dataclasses.replace(
        live.holder.current, access=AccessState(AccessPolicy(key_digests=frozenset({key_digest("sk-cli")})))
    )
    refused = cli("models")
    assert refused.exit_code == 1 and "--api-key" in refused.output and "HUGGINGGPT_API_KEY" in refused.output
    assert cli("models", "--api-key", "sk-wrong").exit_code == 1
    assert cli("models", "--api-key", "sk-cli").exit_code == 0
    # A whole run with the key from the environment: upload, stream, and the artifact downloaded.
    llm_script.on("plan", DRAW_AND_DESCRIBE)
    llm_script.on("respond", echo_urls)
    photo = tmp_path / "photo.png"
    photo.write_bytes(png_bytes())
    r = cli("ask", "draw a bicycle", "--file", str(photo), "--out", str(tmp_path / "out"),
            env={"HUGGINGGPT_API_KEY": "sk-cli"})  # fmt: skip
    assert r.exit_code == 0, r.output
    assert next((tmp_path / "out").iterdir()).read_bytes().startswith(b"\x89PNG")
