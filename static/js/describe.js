// Events in words: what the timeline and the copied text say about each
// event. One place, so the views agree.

import { escapeBytes } from "./bytes.js";
import { joinHostPort } from "./store.js";

/** The filter group of an event: data, calls, states, errors or notes. */
export function group(ev) {
  switch (ev.type) {
    case "sent":
    case "data":
      return "data";
    case "call":
    case "result":
      return "calls";
    case "state":
      return "states";
    case "error":
      return "errors";
    default:
      return "notes";
  }
}

/** The direction arrow: → sent, ← received, ! error, blank otherwise. */
export function arrow(ev) {
  if (ev.type === "sent") return "→";
  if (ev.type === "data") return "←";
  if (ev.type === "error") return "!";
  return "";
}

/** A short name for the event: "send", "recvfrom", "connect", "error", "established". */
export function label(ev) {
  switch (ev.type) {
    case "sent":
    case "data":
      return ev.op;
    case "call":
      return ev.op + "()";
    case "result":
      return ev.op + (ev.auto ? " (auto)" : "") + " ✓";
    case "error":
      return ev.code ? `error: ${ev.code}` : "error";
    case "state":
      return ev.half ? `half-closed (${ev.half})` : ev.state;
    case "note":
      return ev.label || "note";
    default:
      return ev.type;
  }
}

/** How many payload bytes the event carries or asks for, or "" if none. */
export function length(ev) {
  if (ev.type === "sent" || ev.type === "data") return String(ev.len || 0);
  if (ev.type === "call" && (ev.op === "send" || ev.op === "sendto")) return String(ev.len || 0);
  return "";
}

/** The rest of the row: the payload (escaped, at most max bytes) or what happened. */
export function detail(ev, bytes, max = 160) {
  switch (ev.type) {
    case "sent":
    case "data": {
      const peer = ev.peer ? (ev.type === "data" ? `from ${ev.peer}  ` : `to ${ev.peer}  `) : "";
      return peer + (bytes ? escapeBytes(bytes, max) : "");
    }
    case "call":
      return callText(ev);
    case "result":
      return resultText(ev);
    case "error":
      return ev.message + (ev.errno ? ` (${ev.errno})` : "");
    case "state":
      return stateText(ev);
    case "note":
      return ev.message;
    default:
      return "";
  }
}

function callText(ev) {
  const hp = ev.host !== undefined ? joinHostPort(ev.host, ev.port || 0) : "";
  switch (ev.op) {
    case "connect":
      return `connect to ${hp}${ev.family ? ` (${ev.family})` : ""}, timeout ${ev.timeout_ms} ms`;
    case "listen":
      return `listen on ${hp}`;
    case "bind":
      return `bind ${hp}`;
    case "send":
      return `send ${ev.len || 0} bytes`;
    case "sendto":
      return `sendto ${hp}, ${ev.len || 0} bytes`;
    case "shutdown":
      return `shutdown ${ev.how}`;
    case "close":
      return ev.now ? "close now" : "close";
    default:
      return ev.op;
  }
}

function resultText(ev) {
  switch (ev.op) {
    case "connect":
      return `connected from ${ev.local} to ${ev.remote}`;
    case "listen":
      return `listening on ${ev.local}`;
    case "bind":
      return `bound to ${ev.local}`;
    case "accept":
      return `accepted socket ${ev.child} from ${ev.remote}`;
    case "shutdown":
      return `shut down ${ev.how}`;
    case "close":
      return ev.auto ? "closed by itself: both directions are finished" : "closed";
    default:
      return "";
  }
}

function stateText(ev) {
  const where = ev.remote ? `${ev.local || "?"} ⇄ ${ev.remote}` : ev.local || "";
  if (ev.state === "connecting") return `trying ${ev.addr}${ev.addrs ? ` (resolved: ${ev.addrs.join(", ")})` : ""}`;
  if (ev.reason) return where ? `${ev.reason} · ${where}` : ev.reason;
  return where;
}

/** One line of plain text for copying: time, socket, arrow, label, length, detail (bytes in full). */
export function line(entry, time) {
  const ev = entry.ev;
  const sock = entry.sock ? `#${entry.sock}` : "-";
  const len = length(ev);
  return [time, sock, arrow(ev) || " ", label(ev), len ? `${len}B` : "", detail(ev, entry.bytes, Infinity)].join("\t");
}

/** What a screen reader says for the event's row: who, what, how much, and the payload's start. */
export function spoken(entry) {
  const ev = entry.ev;
  const who = entry.sock ? `socket ${entry.sock}` : "session";
  switch (ev.type) {
    case "data":
      return `${who} received ${ev.len || 0} bytes${ev.peer ? ` from ${ev.peer}` : ""}: ${entry.bytes ? escapeBytes(entry.bytes, 80) : ""}`;
    case "sent":
      return `${who} sent ${ev.len || 0} bytes${ev.peer ? ` to ${ev.peer}` : ""}${entry.bytes ? `: ${escapeBytes(entry.bytes, 80)}` : ""}`;
    case "call":
      return `${who} call ${ev.op}: ${callText(ev)}`;
    case "result":
      return `${who} ${ev.op} done: ${resultText(ev)}`;
    case "error":
      return `${who} error${ev.op ? ` in ${ev.op}` : ""}: ${detail(ev, null)}`;
    case "state":
      return `${who} is ${label(ev)}: ${stateText(ev)}`;
    default:
      return detail(ev, null);
  }
}
