// One assistant turn: the stage line, the plan's DAG and step list (live states, models, reasons,
// timings), the streaming answer, and every artifact the experts produced.
import { DagView } from "./dag.js";
import { el, formatSeconds } from "./dom.js";
import { renderMarkdown } from "./markdown.js";
import { artifactCard } from "./media.js";

const MEDIA_FIELDS = ["image", "audio", "video"];
const STATE_OF_STATUS = { ok: "done", failed: "failed", timeout: "failed", skipped: "skipped" };

export class RunView {
  constructor() {
    this.stageText = el("span", { text: "Planning the tasks…" });
    this.spinner = el("span", { class: "spinner" });
    this.stage = el("div", { class: "stage-line" }, this.spinner, this.stageText);
    this.planArea = el("div", { class: "plan" });
    this.answerText = "";
    this.answer = el("div", { class: "answer" });
    this.artifacts = el("div", { class: "artifacts" });
    this.notices = el("div", { class: "notices" });
    this.element = el(
      "article",
      { class: "bubble turn", "data-state": "running" },
      this.stage,
      this.planArea,
      this.answer,
      this.artifacts,
      this.notices,
    );
    this.steps = new Map(); // task id -> {row, state, model, started}
    this.shown = new Set(); // artifact URLs already in the gallery
    this.ticker = setInterval(() => this.tick(), 200);
  }

  handle(event) {
    const handler = {
      plan: () => this.onPlan(event),
      selected: () => this.onSelected(event.selection),
      task_started: () => this.onStarted(event),
      task_finished: () => this.onResult(event.result),
      task_failed: () => this.onResult(event.result),
      answer_delta: () => this.onDelta(event.delta),
      error: () => this.notice(`${event.stage ? `${event.stage}: ` : ""}${event.message}`),
      done: () => this.onDone(event),
    }[event.type];
    handler?.();
  }

  onPlan({ tasks, chitchat, repairs }) {
    if (!tasks.length) {
      this.setStage(chitchat ? "No models needed: answering directly…" : "The plan is empty; answering…");
      return;
    }
    this.dag = new DagView(tasks);
    const list = el("ol", { class: "steps" }, ...tasks.map((t) => this.stepRow(t)));
    this.planArea.replaceChildren(this.dag.element, list);
    this.setStage(`Planned ${tasks.length} task${tasks.length === 1 ? "" : "s"}; choosing models…`);
    if (repairs?.length) this.notice(`The plan was repaired: ${repairs.join("; ")}`, "info");
  }

  stepRow(task) {
    const row = {
      state: el("span", { class: "state", text: "waiting" }),
      model: el("span", { class: "model", text: "" }),
      where: el("span", { class: "where", text: "" }),
      reason: el("div", { class: "reason" }),
      error: el("div", { class: "error" }),
      time: el("span", { class: "time" }),
      started: null,
    };
    row.element = el(
      "li",
      { class: "step", "data-task-id": task.id, "data-state": "waiting" },
      row.state,
      el(
        "div",
        { class: "what" },
        el("strong", { text: `#${task.id} ${task.task}` }),
        " ",
        row.model,
        " ",
        row.where,
        row.reason,
        row.error,
      ),
      row.time,
    );
    this.steps.set(task.id, row);
    return row.element;
  }

  setState(id, state, { model, reason, error, seconds, ranOn } = {}) {
    const row = this.steps.get(id);
    if (!row) return;
    row.element.dataset.state = state;
    row.state.textContent = state;
    if (model !== undefined) row.model.textContent = model ? `→ ${model}` : "→ no live model";
    // Where the expert runs: "local" (this cluster) or "remote (provider)".
    if (ranOn) row.where.textContent = `on ${ranOn}`;
    if (reason !== undefined) row.reason.textContent = reason;
    if (error) row.error.textContent = error;
    const timed = seconds !== undefined && state !== "skipped"; // a skipped task never ran
    if (timed) row.time.textContent = formatSeconds(seconds);
    const status = [state, row.where.textContent.replace(/^on /, ""), timed ? formatSeconds(seconds) : ""];
    const meta = status.filter(Boolean).join(" · ");
    this.dag?.update(id, { state, model, reason, meta });
  }

  onSelected({ task_id, model_id, reason }) {
    this.setState(task_id, "selected", { model: model_id, reason });
  }

  onStarted({ task_id, model_id, ran_on }) {
    const row = this.steps.get(task_id);
    if (row) row.started = performance.now();
    this.setState(task_id, "running", { model: model_id, ranOn: ran_on });
    this.setStage("Running the experts…");
  }

  onResult(result) {
    const row = this.steps.get(result.task_id);
    if (row) row.started = null;
    const state = STATE_OF_STATUS[result.status] ?? "failed";
    this.setState(result.task_id, state, {
      model: result.model_id ?? undefined,
      error: result.error,
      seconds: result.elapsed_s,
      ranOn: result.ran_on ?? undefined,
      reason: result.fallback ?? undefined, // why it ran on its next candidate
    });
    if (result.status === "ok") this.addArtifacts(result);
  }

  addArtifacts(result) {
    for (const field of MEDIA_FIELDS) {
      const url = result.outputs?.[field];
      if (typeof url !== "string" || this.shown.has(url)) continue;
      const card = artifactCard(url, `#${result.task_id} ${result.task} · ${field}`);
      if (!card) continue;
      this.shown.add(url);
      this.artifacts.append(card);
    }
  }

  onDelta(delta) {
    if (!this.answerText) this.setStage("Writing the answer…");
    this.answerText += delta;
    this.answer.classList.add("streaming");
    renderMarkdown(this.answerText, this.answer);
  }

  onDone(done) {
    done.results?.forEach((r) => this.onResult(r)); // the final word on every task
    if (!this.answerText && done.answer) this.onDelta(done.answer);
    this.answerText = done.answer || this.answerText;
    const t = done.timings ?? {};
    const parts = [["plan", t.plan_s], ["run", t.execute_s], ["answer", t.respond_s]]
      .filter(([, s]) => s !== undefined)
      .map(([name, s]) => `${name} ${formatSeconds(s)}`);
    const total = t.total_s === undefined ? "Finished" : `Finished in ${formatSeconds(t.total_s)}`;
    this.finish(parts.length ? `${total} (${parts.join(" · ")})` : total);
  }

  /** Ends the run's live parts; the summary line stays. */
  finish(summary, failed = false) {
    clearInterval(this.ticker);
    this.spinner.remove();
    this.answer.classList.remove("streaming");
    this.element.dataset.state = failed ? "failed" : "done";
    this.stageText.textContent = summary;
    for (const [id, row] of this.steps) {
      if (row.element.dataset.state === "running") this.setState(id, "failed", { error: "interrupted" });
    }
  }

  fail(message) {
    this.notice(message);
    this.finish("Stopped", true);
  }

  tick() {
    for (const [id, row] of this.steps) {
      if (row.started === null) continue;
      const seconds = (performance.now() - row.started) / 1000;
      row.time.textContent = formatSeconds(seconds);
      this.dag?.update(id, { meta: `running · ${formatSeconds(seconds)}` });
    }
  }

  setStage(text) {
    this.stageText.textContent = text;
  }

  notice(text, kind = "") {
    this.notices.append(el("p", { class: `notice ${kind}`, text }));
  }
}
