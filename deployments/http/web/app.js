// The page's wiring: the composer, the conversation history, one RunView per request.
import { Attachments, attachmentLines, chip } from "./composer.js";
import { el } from "./dom.js";
import { RunView } from "./run.js";
import { loadSettings } from "./settings.js";
import { chatStream } from "./stream.js";

const $ = (id) => document.getElementById(id);
const conversation = $("conversation");
const prompt = $("prompt");
const send = $("send");
const errorLine = $("composer-error");
const attachments = new Attachments($("attachments"), (message) => (errorLine.textContent = message));
let history = []; // the messages sent with each request: the chat's memory
let running = null; // the AbortController of the request in flight

function showError(message) {
  errorLine.textContent = message;
}

async function ask(text) {
  const items = attachments.take();
  const content = [text, attachmentLines(items)].filter(Boolean).join("\n");
  $("welcome")?.remove();
  conversation.append(
    el(
      "div",
      { class: "bubble user" },
      text,
      items.length ? el("div", { class: "chips" }, ...items.map((i) => chip(i))) : null,
    ),
  );
  const run = new RunView();
  conversation.append(run.element);
  run.element.scrollIntoView({ behavior: "smooth", block: "start" });

  const messages = [...history, { role: "user", content }];
  running = new AbortController();
  send.disabled = true;
  try {
    for await (const item of chatStream(messages, running.signal)) {
      if (item.delta) run.onDelta(item.delta);
      else run.handle(item.event);
    }
    if (run.element.dataset.state === "running") run.finish("Finished");
    history = [...messages, { role: "assistant", content: run.answerText }];
  } catch (err) {
    run.fail(err.name === "AbortError" ? "Cancelled." : err.message);
  } finally {
    running = null;
    send.disabled = false;
  }
}

$("composer").addEventListener("submit", (e) => {
  e.preventDefault();
  const text = prompt.value.trim();
  if (!text || running) return;
  if (attachments.pending) {
    showError("Wait for the uploads to finish.");
    return;
  }
  showError("");
  prompt.value = "";
  prompt.style.height = "";
  ask(text);
});

prompt.addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.shiftKey) {
    e.preventDefault();
    $("composer").requestSubmit();
  }
});
prompt.addEventListener("input", () => {
  prompt.style.height = "";
  prompt.style.height = `${Math.min(prompt.scrollHeight, 160)}px`;
});

$("file-input").addEventListener("change", (e) => {
  showError("");
  [...e.target.files].forEach((f) => attachments.addFile(f));
  e.target.value = "";
});
$("url-toggle").addEventListener("click", () => {
  $("url-row").hidden = !$("url-row").hidden;
  if (!$("url-row").hidden) $("url-input").focus();
});
$("url-add").addEventListener("click", () => {
  showError("");
  if (attachments.addUrl($("url-input").value)) $("url-input").value = "";
});
$("new-chat").addEventListener("click", () => {
  running?.abort();
  history = [];
  conversation.replaceChildren();
  showError("");
});
$("settings-toggle").addEventListener("click", () => {
  const panel = $("settings");
  panel.hidden = !panel.hidden;
  $("settings-toggle").setAttribute("aria-expanded", String(!panel.hidden));
});

loadSettings();
