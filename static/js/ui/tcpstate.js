// The TCP state machine of RFC 9293 (§3.3.2) as a small SVG: the state the
// kernel reports now, highlighted, and the path the connection has taken so
// far (the states seen in `kernel` events, in order). Built with
// createElementNS, no markup from strings; colours come from the page's CSS,
// so it follows the light and dark themes. The SVG is one image to a screen
// reader, named by its text alternative ("Path: SYN_SENT → ESTABLISHED").
// The states keep the kernel's names in every language; what causes each
// transition is in the page's language.

import { currentLang, t } from "../i18n.js";

const NS = "http://www.w3.org/2000/svg";

const W = 92; // a state's box
const H = 18;
const COL = [48, 160, 272]; // x of each column's centre
const ROW0 = 11; // y of the first row's centre
const DY = 28; // between rows

// Where each state sits: [column, row]. CLOSED appears twice: where a
// socket starts (top) and where a connection ends (bottom right).
const NODES = {
  CLOSED: [1, 0],
  LISTEN: [0, 1],
  SYN_SENT: [2, 1],
  SYN_RECV: [0, 2],
  ESTABLISHED: [1, 3],
  FIN_WAIT1: [0, 4],
  CLOSE_WAIT: [2, 4],
  FIN_WAIT2: [0, 5],
  CLOSING: [1, 5],
  LAST_ACK: [2, 5],
  TIME_WAIT: [0, 6],
  "CLOSED:end": [2, 6],
};

// The transitions drawn, with what causes each (RFC 9293, figure 5; the
// returns to CLOSED from LISTEN and SYN_SENT are left out, as they would
// retrace the lines that leave it).
const EDGES = [
  ["CLOSED", "LISTEN", () => t("tcp.edge.passive_open")],
  ["CLOSED", "SYN_SENT", () => t("tcp.edge.active_open")],
  ["LISTEN", "SYN_RECV", () => t("tcp.edge.syn_received")],
  ["SYN_SENT", "SYN_RECV", () => t("tcp.edge.simultaneous_open")],
  ["SYN_SENT", "ESTABLISHED", () => t("tcp.edge.synack_received")],
  ["SYN_RECV", "ESTABLISHED", () => t("tcp.edge.ack_received")],
  ["SYN_RECV", "FIN_WAIT1", () => t("tcp.edge.close_fin")],
  ["ESTABLISHED", "FIN_WAIT1", () => t("tcp.edge.close_fin")],
  ["ESTABLISHED", "CLOSE_WAIT", () => t("tcp.edge.fin_received")],
  ["FIN_WAIT1", "FIN_WAIT2", () => t("tcp.edge.fin_acked")],
  ["FIN_WAIT1", "CLOSING", () => t("tcp.edge.fin_received")],
  ["FIN_WAIT2", "TIME_WAIT", () => t("tcp.edge.fin_received")],
  ["CLOSING", "TIME_WAIT", () => t("tcp.edge.fin_acked")],
  ["CLOSE_WAIT", "LAST_ACK", () => t("tcp.edge.close_fin")],
  ["LAST_ACK", "CLOSED:end", () => t("tcp.edge.fin_acked")],
  ["TIME_WAIT", "CLOSED:end", () => t("tcp.edge.msl_timeout")],
];

function el(tag, attrs = {}, text) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

const centre = (id) => {
  const [c, r] = NODES[id];
  return [COL[c], ROW0 + r * DY];
};

// nodeId maps a state seen at position i of a path to its box: the CLOSED
// a path ends in is the bottom one once the connection got anywhere.
function nodeIds(path) {
  let connected = false;
  return path.map((st) => {
    if (st !== "CLOSED") {
      if (st !== "LISTEN" && st !== "SYN_SENT") connected = true;
      return st;
    }
    return connected ? "CLOSED:end" : "CLOSED";
  });
}

// edgeEnds is where a line from a to b starts and stops: on the boxes' edges.
function edgeEnds(a, b) {
  const [x1, y1] = centre(a);
  const [x2, y2] = centre(b);
  const dx = x2 - x1, dy = y2 - y1;
  const clip = (x, y, sx, sy) => {
    // Leave the box around (x, y) in direction (sx, sy).
    const tx = sx ? W / 2 / Math.abs(sx) : Infinity;
    const ty = sy ? H / 2 / Math.abs(sy) : Infinity;
    const k = Math.min(tx, ty);
    return [x + sx * k, y + sy * k];
  };
  const len = Math.hypot(dx, dy) || 1;
  const [ax, ay] = clip(x1, y1, dx / len, dy / len);
  const [bx, by] = clip(x2, y2, -dx / len, -dy / len);
  return [ax, ay, bx, by];
}

/** The text alternative: "Path: SYN_SENT → ESTABLISHED" (or "no state yet"). */
export function pathText(path) {
  return path.length ? t("tcp.path", { path: path.join(" → ") }) : t("tcp.path_none");
}

/**
 * TCPDiagram draws the state machine once; update(path) highlights the
 * states and transitions of path, its last state as the current one.
 */
export class TCPDiagram {
  constructor(idPrefix) {
    const width = COL[2] + W / 2 + 4;
    const height = ROW0 + 6 * DY + H / 2 + 4;
    this.svg = el("svg", { viewBox: `0 0 ${width} ${height}`, class: "tcp-svg", role: "img", focusable: "false" });
    const marker = `${idPrefix}-arrow`;
    const markerOn = `${idPrefix}-arrow-on`;
    const defs = el("defs");
    for (const [id, cls] of [[marker, "tcp-head"], [markerOn, "tcp-head on"]]) {
      const m = el("marker", { id, viewBox: "0 0 8 8", refX: 7, refY: 4, markerWidth: 6, markerHeight: 6, orient: "auto-start-reverse" });
      m.append(el("path", { d: "M0,0 L8,4 L0,8 z", class: cls }));
      defs.append(m);
    }
    this.svg.append(defs);
    this.edges = new Map(); // "a>b" -> line
    this.titles = []; // [title element, a, b, why]: worded again when the language changes
    for (const [a, b, why] of EDGES) {
      const [x1, y1, x2, y2] = edgeEnds(a, b);
      const line = el("line", { x1, y1, x2, y2, class: "tcp-edge", "marker-end": `url(#${marker})` });
      const title = el("title");
      this.titles.push([title, a, b, why]);
      line.append(title);
      line.dataset.on = `url(#${markerOn})`;
      line.dataset.off = `url(#${marker})`;
      this.svg.append(line);
      this.edges.set(`${a}>${b}`, line);
    }
    this.nodes = new Map(); // id -> g
    for (const id of Object.keys(NODES)) {
      const [x, y] = centre(id);
      const g = el("g", { class: "tcp-node" });
      g.append(el("rect", { x: x - W / 2, y: y - H / 2, width: W, height: H, rx: 5 }));
      g.append(el("text", { x, y: y + 3.3, "text-anchor": "middle" }, label(id)));
      this.svg.append(g);
      this.nodes.set(id, g);
    }
    this.sig = null;
    this.update([]);
  }

  /** Highlights path (kernel states in order); its last is the state now. */
  update(path) {
    const sig = `${currentLang()} ${path.join(">")}`;
    if (sig === this.sig) return;
    if (!this.sig || !this.sig.startsWith(`${currentLang()} `)) {
      for (const [title, a, b, why] of this.titles) title.textContent = `${label(a)} → ${label(b)}: ${why()}`;
    }
    this.sig = sig;
    const ids = nodeIds(path);
    const seen = new Set(ids);
    const now = ids[ids.length - 1];
    for (const [id, g] of this.nodes) g.setAttribute("class", `tcp-node${id === now ? " now" : seen.has(id) ? " seen" : ""}`);
    const taken = new Set();
    for (let i = 1; i < ids.length; i++) taken.add(`${ids[i - 1]}>${ids[i]}`);
    for (const [k, line] of this.edges) {
      const on = taken.has(k);
      line.setAttribute("class", `tcp-edge${on ? " on" : ""}`);
      line.setAttribute("marker-end", on ? line.dataset.on : line.dataset.off);
    }
    const alt = `${t("tcp.alt")} ${now ? `${t("tcp.now", { state: path[path.length - 1] })} ` : ""}${pathText(path)}`;
    this.svg.setAttribute("aria-label", alt);
  }
}

// label is a box's text: the state as the kernel names it.
function label(id) {
  return id.replace(":end", "");
}
