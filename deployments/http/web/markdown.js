// A deliberately small markdown renderer for answers: paragraphs, line breaks, **bold**, `code`,
// [links](url) and ![images](url). It builds DOM nodes; raw HTML in the text stays literal text.
import { el } from "./dom.js";
import { mediaKind, player, safeUrl } from "./media.js";

const INLINE = /(!?)\[([^\]]*)\]\(([^)\s]+)\)|\*\*([^*]+)\*\*|`([^`]+)`/g;

export function renderMarkdown(text, container) {
  container.replaceChildren(
    ...text
      .split(/\n{2,}/)
      .filter((block) => block.trim())
      .map((block) => el("p", {}, ...inlineWithBreaks(block))),
  );
}

function inlineWithBreaks(block) {
  const nodes = [];
  block.split("\n").forEach((line, i) => {
    if (i) nodes.push(el("br"));
    nodes.push(...inline(line));
  });
  return nodes;
}

function inline(line) {
  const nodes = [];
  let last = 0;
  for (const m of line.matchAll(INLINE)) {
    if (m.index > last) nodes.push(document.createTextNode(line.slice(last, m.index)));
    nodes.push(inlineNode(m) ?? document.createTextNode(m[0]));
    last = m.index + m[0].length;
  }
  if (last < line.length) nodes.push(document.createTextNode(line.slice(last)));
  return nodes;
}

function inlineNode([, bang, label, url, bold, code]) {
  if (bold !== undefined) return el("strong", { text: bold });
  if (code !== undefined) return el("code", { text: code });
  const safe = safeUrl(url);
  if (!safe) return null;
  if (bang) return player(safe, mediaKind(safe) ?? "image", label);
  return el("a", { href: safe, target: "_blank", rel: "noopener noreferrer", text: label || safe });
}
