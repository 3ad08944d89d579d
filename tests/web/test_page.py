"""The page in a real headless Chromium against the real API, the scripted LLM and the offline experts."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.controller.helpers import echo_urls, plan_reply
from tests.deployments.conftest import make_service
from tests.web.browser import chromium

REPORTS = Path(__file__).resolve().parents[2] / "reports" / "web"
MISSING_IMAGE = "/v1/artifacts/" + "a" * 64 + ".png"
DRAW_AND_DESCRIBE = plan_reply(
    {"id": 0, "task": "text-to-image", "args": {"text": "a red bicycle"}},
    {"id": 1, "task": "image-classification", "args": {"image": "<GENERATED>-0"}},
    {"id": 2, "task": "image-to-text", "args": {"image": "<GENERATED>-0"}},
)
TIMEOUT_MS = 30_000
# Records every change of a DAG node's state as [task id, state], as it happens.
RECORD_NODE_STATES = """() => {
  window.nodeStates = [];
  new MutationObserver((changes) => {
    for (const c of changes) {
      const state = c.target.getAttribute("data-state");
      if (c.target.classList.contains("node") && state !== c.oldValue)
        window.nodeStates.push([c.target.dataset.taskId, state]);
    }
  }).observe(document.body, {
    subtree: true, attributes: true, attributeOldValue: true, attributeFilter: ["data-state"],
  });
}"""


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    with chromium(tmp_path_factory.mktemp("chromium-profile")) as context:
        yield context


@pytest.fixture
def page(browser, live):
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(live.url + "/")
    yield page
    page.close()
    assert errors == [], f"JavaScript errors on the page: {errors}"


def ask(page, text: str) -> None:
    page.fill("#prompt", text)
    page.click("#send")
    page.wait_for_selector('.turn[data-state="done"]', timeout=TIMEOUT_MS)


def test_a_request_renders_its_dag_node_states_answer_and_inline_image(page, llm_script):
    llm_script.on("plan", DRAW_AND_DESCRIBE)
    llm_script.on("respond", echo_urls)
    page.evaluate(RECORD_NODE_STATES)
    ask(page, "draw a red bicycle and tell me what it is")

    seen = page.evaluate("() => window.nodeStates")
    for task_id in ("0", "1", "2"):  # every node went through its states live, in order
        assert [state for tid, state in seen if tid == task_id] == ["selected", "running", "done"]
    nodes = page.locator(".dag .node")
    assert nodes.count() == 3
    assert page.locator(".dag path.edge").count() == 2
    assert [nodes.nth(i).get_attribute("data-state") for i in range(3)] == ["done"] * 3
    assert "offline/tiny-stable-diffusion" in nodes.nth(0).text_content()
    assert "done · " in nodes.nth(0).locator("text.meta").text_content()  # with its timing

    step = page.locator('.step[data-task-id="1"]')
    assert "offline/tiny-vit" in step.locator(".model").text_content()
    assert step.locator(".reason").text_content().strip()  # why that model
    assert step.locator(".time").text_content().endswith(" s")

    image = page.locator('.artifact[data-kind="image"] img')
    assert image.count() == 1
    page.wait_for_function("() => document.querySelector('.artifact img').naturalWidth > 0")
    assert page.locator(".artifact a[download]").get_attribute("href").startswith("/v1/artifacts/")
    assert page.locator(".answer").text_content().startswith("Done.")
    assert page.locator(".answer img").count() == 1  # the markdown image in the answer, inline
    assert "Finished in" in page.locator(".turn .stage-line").text_content()

    page.click("#settings-toggle")  # the screenshot shows the settings panel too
    page.wait_for_selector(".expert .dot.live")
    REPORTS.mkdir(parents=True, exist_ok=True)
    shot = REPORTS / "run.png"
    page.set_viewport_size({"width": 1280, "height": 1200})  # the whole run, composer below it
    page.screenshot(path=str(shot))
    print(f"\nscreenshot: {shot}")


def test_a_failing_task_shows_as_failed_and_its_dependant_as_skipped(page, llm_script):
    llm_script.on(
        "plan",
        plan_reply(
            {"id": 0, "task": "image-classification", "args": {"image": MISSING_IMAGE}},
            {"id": 1, "task": "text-to-speech", "args": {"text": "<GENERATED>-0"}},
        ),
    )
    llm_script.on("respond", "The image could not be read.")
    ask(page, "classify my picture and read the label aloud")

    assert page.locator('.dag .node[data-task-id="0"]').get_attribute("data-state") == "failed"
    assert page.locator('.dag .node[data-task-id="1"]').get_attribute("data-state") == "skipped"
    failed = page.locator('.step[data-task-id="0"]')
    assert "a" * 64 in failed.locator(".error").text_content()
    assert page.locator(".artifact").count() == 0
    REPORTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(REPORTS / "failed.png"), full_page=True)


def test_llm_text_is_never_injected_as_html(page, llm_script):
    llm_script.on("plan", '{"tasks": []}')
    llm_script.on("chat", '<img src=x onerror="window.pwned=1"> **bold** [bad](javascript:alert(1))')
    ask(page, "hello")

    answer = page.locator(".answer")
    assert "<img src=x" in answer.text_content()
    assert answer.locator("img").count() == 0 and answer.locator("a").count() == 0
    assert answer.locator("strong").text_content() == "bold"
    assert page.evaluate("() => window.pwned") is None


def test_history_is_sent_and_uploads_reach_the_planner(page, llm_script, tmp_path):
    from tests.experts.expert_samples import png_bytes

    llm_script.on("plan", '{"tasks": []}')
    llm_script.on("chat", "first answer", contains="first")
    llm_script.on("chat", "second answer")
    ask(page, "first question")

    picture = tmp_path / "cat.png"
    picture.write_bytes(png_bytes())
    page.set_input_files("#file-input", str(picture))
    page.wait_for_selector(".attachments .chip:not(.pending)", timeout=TIMEOUT_MS)
    page.fill("#prompt", "and what is this?")
    page.click("#send")
    page.wait_for_selector('.turn[data-state="done"] >> nth=1', timeout=TIMEOUT_MS)

    plan_messages = llm_script.calls("plan")[-1]["messages"]
    contents = " ".join(str(m["content"]) for m in plan_messages)
    assert "first question" in contents and "first answer" in contents
    assert "[attached image: /v1/artifacts/" in plan_messages[-1]["content"]
    assert page.locator(".bubble.user .chip").count() == 1


def test_a_greeting_after_work_shows_no_invented_artifact(
    page, live, llm_script, experts, offline_catalog, store
):
    """Without a capable LLM: the small chat model never reads the last turn's report as its own words,
    and a link it invents to an artifact that does not exist never reaches the page."""
    live.holder.current = make_service(llm_script, experts, offline_catalog, store, llm_embedded=True)
    llm_script.on("chat", "- **text to image** (offline/tiny-sd): ![image](/v1/artifacts/b0a8…c2222…) Hello!")
    ask(page, "Draw a lighthouse at dusk, then describe the picture.")
    assert page.locator(".answer img").count() == 1  # the grounded answer shows the real image

    page.fill("#prompt", "Hi! How are you today?")
    page.click("#send")
    page.wait_for_selector('.turn[data-state="done"] >> nth=1', timeout=TIMEOUT_MS)
    greeting = page.locator(".answer").nth(1)
    assert greeting.locator("img").count() == 0 and greeting.locator("a").count() == 0
    assert "/v1/artifacts/" not in greeting.text_content() and "Hello!" in greeting.text_content()
    chat = llm_script.calls("chat")[-1]["messages"]
    assert [m["role"] for m in chat] == ["system", "user"]  # the work turn and its report left out
    assert llm_script.calls("plan") == []  # the trained planner planned both turns


def test_settings_show_the_llm_and_live_experts(page):
    page.click("#settings-toggle")
    assert page.locator("#settings-llm").text_content() == "scripted"
    page.wait_for_selector('.expert[data-model="offline/tiny-detr"] .dot.live')
    assert "live of" in page.locator("#settings-count").text_content()
    assert page.locator("#llm-badge").text_content() == "LLM · scripted"


def test_a_service_with_keys_asks_for_one_then_runs_and_shows_its_media(browser, live, llm_script):
    import dataclasses

    from deployments.http.security import AccessPolicy, AccessState, key_digest

    live.holder.current = dataclasses.replace(
        live.holder.current, access=AccessState(AccessPolicy(key_digests=frozenset({key_digest("sk-page")})))
    )
    page = browser.new_page()
    asked: list[str] = []

    def answer(dialog) -> None:
        asked.append(dialog.message)
        dialog.accept("sk-page")

    page.on("dialog", answer)
    page.goto(live.url + "/")  # the settings panel's /v1/models gets a 401: the page asks
    page.wait_for_function("() => document.getElementById('llm-badge').textContent.includes('scripted')")
    assert len(asked) == 1 and "wants an API key" in asked[0]
    llm_script.on("plan", DRAW_AND_DESCRIBE)
    llm_script.on("respond", echo_urls)
    ask(page, "draw a red bicycle and tell me what it is")
    # The image was fetched with the key (an <img> cannot send one) and shows from a blob URL.
    page.wait_for_function("() => document.querySelector('.artifact img').naturalWidth > 0")
    assert page.locator(".artifact img").get_attribute("src").startswith("blob:")
    assert page.locator(".artifact a[download]").get_attribute("href").startswith("blob:")
    assert len(asked) == 1  # the key was kept
    page.evaluate("() => localStorage.clear()")
    page.close()


def test_each_task_shows_where_it_ran_local_or_remote(
    page, live, llm_script, hf_script, experts, offline_catalog, store
):
    from tests.deployments.conftest import make_service
    from tests.scripted_hf import remote_experts

    summariser = "facebook/bart-large-cnn"
    remote = remote_experts(hf_script, store, name="my-endpoint", models=[summariser])
    down = frozenset(m.id for m in offline_catalog.models_for("summarization"))  # summaries: remote only
    live.holder.current = make_service(
        llm_script, experts, offline_catalog, store, unhealthy=down, remote=remote
    )
    llm_script.on(
        "plan",
        plan_reply(
            {"id": 0, "task": "summarization", "args": {"text": "a long story about a kite"}},
            {"id": 1, "task": "text-classification", "args": {"text": "<GENERATED>-0"}},
        ),
    )
    llm_script.on("respond", "Done.")
    experts.host("offline/tiny-bert-sentiment")  # loaded before the clock starts (a busy CPU takes long)
    ask(page, "summarise the story and tell me its sentiment")

    assert page.locator('.step[data-task-id="0"] .where').text_content() == "on remote (my-endpoint)"
    assert page.locator('.step[data-task-id="1"] .where').text_content() == "on local"
    meta = page.locator('.dag .node[data-task-id="0"] text.meta').text_content()
    assert meta.startswith("done · remote (my-endpoint) · ")
    page.reload()  # the settings panel reads /v1/models when the page loads
    page.click("#settings-toggle")
    page.wait_for_selector(f'.expert[data-model="{summariser}"] .dot.live')
    assert "remote (my-endpoint)" in page.locator(f'.expert[data-model="{summariser}"]').text_content()
