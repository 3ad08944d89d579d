// Artifacts: which player an URL needs, and the inline card (player + download link) for it.
import { authorizedSource } from "./auth.js";
import { el } from "./dom.js";

const KINDS = {
  image: ["png", "jpg", "jpeg", "gif", "webp", "bmp", "svg"],
  audio: ["wav", "mp3", "flac", "ogg", "m4a"],
  video: ["mp4", "webm", "mov"],
};

/** "image" | "audio" | "video" | null, from the URL's extension. */
export function mediaKind(url) {
  const ext = url.split(/[?#]/)[0].split(".").pop().toLowerCase();
  return Object.keys(KINDS).find((kind) => KINDS[kind].includes(ext)) ?? null;
}

/** Only same-origin paths and http(s) URLs may become src/href: no javascript:, data:, file:. */
export function safeUrl(url) {
  const text = String(url).trim();
  if (text.startsWith("/") && !text.startsWith("//")) return text;
  try {
    const parsed = new URL(text);
    return parsed.protocol === "http:" || parsed.protocol === "https:" ? parsed.href : null;
  } catch {
    return null;
  }
}

export function player(url, kind, alt = "") {
  if (kind === "image") return authorizedSource(el("img", { alt, loading: "lazy" }), "src", url);
  if (kind === "audio") return authorizedSource(el("audio", { controls: true, preload: "metadata" }), "src", url);
  if (kind === "video") return authorizedSource(el("video", { controls: true, preload: "metadata" }), "src", url);
  return null;
}

/** A produced artifact: the media inline and a download link, captioned with what made it. */
export function artifactCard(url, label) {
  const safe = safeUrl(url);
  const kind = safe && mediaKind(safe);
  if (!kind) return null;
  const name = safe.split("/").pop();
  return el(
    "figure",
    { class: "artifact", "data-kind": kind, "data-url": safe },
    player(safe, kind, label),
    el(
      "figcaption",
      { class: "caption" },
      el("span", { text: label }),
      authorizedSource(el("a", { download: name, text: "Download" }), "href", safe),
    ),
  );
}
