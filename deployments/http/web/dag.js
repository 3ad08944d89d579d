// The plan as a DAG in SVG: a layered layout (column = dependency depth), edges as curves from
// each dependency to its dependant, and one node per task whose state the run updates live.
import { svg, el } from "./dom.js";

const W = 220;
const H = 72;
const GAP_X = 64;
const GAP_Y = 16;
const PAD = 16;

/** Column of every task: 0 without deps, else one more than its deepest dependency. */
export function depths(tasks) {
  const byId = new Map(tasks.map((t) => [t.id, t]));
  const depth = new Map();
  const visit = (id, seen = new Set()) => {
    if (depth.has(id)) return depth.get(id);
    if (seen.has(id)) return 0; // the server rejects cycles; never loop on one anyway
    seen.add(id);
    const deps = (byId.get(id)?.dep ?? []).filter((d) => byId.has(d));
    const d = deps.length ? 1 + Math.max(...deps.map((x) => visit(x, seen))) : 0;
    depth.set(id, d);
    return d;
  };
  tasks.forEach((t) => visit(t.id));
  return depth;
}

function clip(text, max) {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

export class DagView {
  constructor(tasks) {
    const depth = depths(tasks);
    const columns = [];
    for (const t of [...tasks].sort((a, b) => a.id - b.id)) {
      (columns[depth.get(t.id)] ??= []).push(t);
    }
    const rows = Math.max(...columns.map((c) => c.length));
    const width = PAD * 2 + columns.length * W + (columns.length - 1) * GAP_X;
    const height = PAD * 2 + rows * H + (rows - 1) * GAP_Y;
    this.pos = new Map();
    columns.forEach((col, ci) => {
      const offset = ((rows - col.length) * (H + GAP_Y)) / 2; // center short columns
      col.forEach((t, ri) => {
        this.pos.set(t.id, { x: PAD + ci * (W + GAP_X), y: PAD + offset + ri * (H + GAP_Y) });
      });
    });

    const defs = svg(
      "defs",
      {},
      svg(
        "marker",
        { id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto" },
        svg("path", { d: "M0,0 L10,5 L0,10 z", fill: "#b8bfd0" }),
      ),
    );
    const edges = tasks.flatMap((t) => (t.dep ?? []).filter((d) => this.pos.has(d)).map((d) => this.edge(d, t.id)));
    this.nodes = new Map(tasks.map((t) => [t.id, this.node(t)]));
    this.element = el(
      "div",
      { class: "dag-wrap" },
      svg(
        "svg",
        { class: "dag", width, height, viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": "task graph" },
        defs,
        ...edges,
        ...[...this.nodes.values()].map((n) => n.group),
      ),
    );
  }

  edge(from, to) {
    const a = this.pos.get(from);
    const b = this.pos.get(to);
    const x1 = a.x + W;
    const y1 = a.y + H / 2;
    const x2 = b.x - 2;
    const y2 = b.y + H / 2;
    const mid = (x1 + x2) / 2;
    return svg("path", {
      class: "edge",
      d: `M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2},${y2}`,
      "marker-end": "url(#arrow)",
      "data-from": from,
      "data-to": to,
    });
  }

  node(task) {
    const { x, y } = this.pos.get(task.id);
    const tip = svg("title", { text: `#${task.id} ${task.task}` });
    const model = svg("text", { class: "model", x: x + 16, y: y + 42, text: "choosing a model…" });
    const meta = svg("text", { class: "meta", x: x + 16, y: y + 60, text: "waiting" });
    const group = svg(
      "g",
      { class: "node", "data-task-id": task.id, "data-state": "waiting" },
      tip,
      svg("rect", { class: "card", x, y, width: W, height: H, rx: 10 }),
      svg("rect", { class: "bar", x, y, width: 6, height: H, rx: 3 }),
      svg("text", { class: "title", x: x + 16, y: y + 22, text: clip(`#${task.id} ${task.task}`, 30) }),
      model,
      meta,
    );
    return { group, tip, model, meta, task };
  }

  /** Show a task's state; any of model, reason and meta (the status line) may be given. */
  update(id, { state, model, reason, meta }) {
    const n = this.nodes.get(id);
    if (!n) return;
    if (state) n.group.setAttribute("data-state", state);
    if (model !== undefined) n.model.textContent = clip(model ?? "no live model", 34);
    if (meta !== undefined) n.meta.textContent = meta;
    if (reason !== undefined) n.tip.textContent = `#${id} ${n.task.task}\n${model ?? ""}\n${reason}`;
  }
}
