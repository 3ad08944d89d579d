// The composer's attachments: files are uploaded to /v1/artifacts as soon as they are picked,
// URLs are taken as they are; both reach the planner as "[attached <kind>: <url>]" lines.
import { apiFetch } from "./auth.js";
import { el } from "./dom.js";
import { mediaKind, safeUrl } from "./media.js";
import { apiError } from "./stream.js";

export class Attachments {
  constructor(container, onError) {
    this.container = container;
    this.onError = onError;
    this.items = []; // {kind, url, name, pending}
  }

  async addFile(file) {
    const kind = file.type.split("/")[0];
    if (!["image", "audio", "video"].includes(kind)) {
      this.onError(`${file.name} is not an image, audio or video file.`);
      return;
    }
    const item = { kind, url: null, name: file.name, pending: true };
    this.items.push(item);
    this.render();
    try {
      const response = await apiFetch("/v1/artifacts", {
        method: "POST",
        headers: { "Content-Type": file.type },
        body: file,
      });
      if (!response.ok) throw await apiError(response);
      item.url = (await response.json()).url;
      item.pending = false;
    } catch (err) {
      this.items = this.items.filter((i) => i !== item);
      this.onError(`Could not upload ${file.name}: ${err.message}`);
    }
    this.render();
  }

  addUrl(text) {
    const url = safeUrl(text);
    if (!url) {
      this.onError("Paste an http(s) URL of an image, audio or video.");
      return false;
    }
    this.items.push({ kind: mediaKind(url) ?? "image", url, name: url, pending: false });
    this.render();
    return true;
  }

  get pending() {
    return this.items.some((i) => i.pending);
  }

  /** Hands over the uploaded attachments and empties the composer. */
  take() {
    const ready = this.items.filter((i) => !i.pending);
    this.items = [];
    this.render();
    return ready;
  }

  render() {
    this.container.replaceChildren(...this.items.map((item) => chip(item, () => this.remove(item))));
  }

  remove(item) {
    this.items = this.items.filter((i) => i !== item);
    this.render();
  }
}

export function chip(item, onRemove) {
  return el(
    "span",
    { class: `chip${item.pending ? " pending" : ""}`, title: item.url ?? "uploading…" },
    el("b", { text: item.kind }),
    el("span", { text: `${item.name}${item.pending ? " (uploading…)" : ""}` }),
    onRemove ? el("button", { type: "button", "aria-label": "remove", onclick: onRemove, text: "×" }) : null,
  );
}

export function attachmentLines(items) {
  return items.map((i) => `[attached ${i.kind}: ${i.url}]`).join("\n");
}
