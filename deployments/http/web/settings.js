// The settings panel: which LLM plans and answers, and which experts are live, from /v1/models.
import { apiFetch } from "./auth.js";
import { el } from "./dom.js";

const LIVE = new Set(["HEALTHY", "UPSCALING", "DOWNSCALING", "ON_DEMAND", "LOCAL", "RUNNING", "REMOTE"]);
const DOWN = new Set(["UNHEALTHY", "DEPLOY_FAILED", "REMOTE_UNAVAILABLE"]);

export async function loadSettings() {
  document.getElementById("service-url").textContent = window.location.origin;
  const llmBadge = document.getElementById("llm-badge");
  try {
    const response = await apiFetch("/v1/models");
    if (!response.ok) throw new Error(`${response.status}`);
    const { data } = await response.json();
    const [orchestrator, ...experts] = data;
    const llm = orchestrator?.llm ?? "unknown";
    llmBadge.textContent = `LLM · ${llm}`;
    llmBadge.title = `planning and answers: ${llm}`;
    document.getElementById("settings-llm").textContent = llm;
    const live = experts.filter((m) => LIVE.has(m.status)).length;
    document.getElementById("settings-count").textContent = `${live} live of ${experts.length}`;
    renderExperts(experts);
  } catch (err) {
    llmBadge.textContent = "service unreachable";
    document.getElementById("settings-llm").textContent = `could not load /v1/models (${err.message})`;
  }
}

function renderExperts(experts) {
  const byTask = new Map();
  for (const m of experts) {
    const task = m.task ?? "other";
    if (!byTask.has(task)) byTask.set(task, []);
    byTask.get(task).push(m);
  }
  const groups = [...byTask.entries()].sort(([a], [b]) => a.localeCompare(b));
  document.getElementById("experts").replaceChildren(
    ...groups.map(([task, models]) =>
      el(
        "div",
        { class: "expert-group" },
        el("div", { class: "expert-task", text: task }),
        ...models.map((m) =>
          el(
            "div",
            { class: "expert", title: m.status, "data-model": m.id },
            el("span", { class: `dot ${LIVE.has(m.status) ? "live" : DOWN.has(m.status) ? "down" : ""}` }),
            el("span", { text: m.id }),
            m.remote && el("span", { class: "where", text: ` remote (${m.remote.provider})` }),
          ),
        ),
      ),
    ),
  );
}
