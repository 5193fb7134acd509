// Events in words: what the timeline and the copied text say about each
// event. One place, so the views agree.

import { escapeBytes } from "./bytes.js";
import { sockType } from "./python.js";
import { joinHostPort } from "./store.js";

/** The filter group of an event: data, calls, states, errors, relay (a proxy at work), kernel or notes. */
export function group(ev) {
  switch (ev.type) {
    case "relay":
      return "relay";
    case "kernel":
      return "kernel";
    case "blocked":
      return "calls";
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

/** The direction arrow: → sent, ← received, ⇢ relayed to the target, ⇠ to the client, ! error, blank otherwise. */
export function arrow(ev) {
  if (ev.type === "sent") return "→";
  if (ev.type === "data") return "←";
  if (ev.type === "error") return "!";
  if (ev.type === "relay") {
    if (ev.relay === "error") return "!";
    if (ev.dir === "to-target") return "⇢";
    if (ev.dir === "to-client") return "⇠";
  }
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
    case "relay":
      return `relay ${ev.relay}`;
    case "blocked":
      return `${ev.op}() blocked`;
    case "kernel":
      return `kernel ${(ev.tcp && ev.tcp.state) || "?"}`;
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
  if (ev.type === "relay" && RELAY_BYTES.has(ev.relay)) return String(ev.len || 0);
  return "";
}

/** The rest of the row: the payload (escaped, at most max bytes) or what happened. */
export function detail(ev, bytes, max = 160) {
  switch (ev.type) {
    case "sent":
    case "data": {
      const peer = ev.peer ? (ev.type === "data" ? `from ${ev.peer}  ` : `to ${ev.peer}  `) : "";
      if (ev.eof) return "end of stream: recv returned 0 bytes (the peer finished sending)";
      const cut = ev.datagram_len > (ev.len || 0) ? `  (truncated: the datagram had ${ev.datagram_len} bytes)` : "";
      return peer + (bytes ? escapeBytes(bytes, max) : "") + cut;
    }
    case "blocked":
      return blockedText(ev);
    case "kernel":
      return kernelText(ev.tcp || {});
    case "call":
      return callText(ev);
    case "result":
      return resultText(ev);
    case "error":
      return ev.message + (ev.errno ? ` (${ev.errno})` : "");
    case "state":
      return stateText(ev);
    case "relay":
      return relayText(ev, bytes, max);
    case "note":
      return ev.message;
    default:
      return "";
  }
}

// The relay events whose payload is bytes the proxy forwarded, dropped or held.
const RELAY_BYTES = new Set(["chunk", "drop", "hold"]);

const TOWARDS = { "to-target": "target", "to-client": "client" };

/** "+25 ms", "+1.2 ms", "+300 µs": the delay a proxy gave a chunk. */
export function delayText(us) {
  us = us || 0;
  if (us >= 10000) return `+${Math.round(us / 1000)} ms`;
  if (us >= 1000) return `+${(us / 1000).toFixed(1)} ms`;
  return us ? `+${us} µs` : "+0 ms";
}

// dropReason: " (the loss knob chose this datagram)", from the event's message.
function dropReason(ev) {
  const why = (ev.message || "").replace(/^dropped:\s*/, "");
  return why ? ` (${why})` : "";
}

function connName(ev) {
  return ev.conn ? `conn ${ev.conn}` : ev.peer ? `a datagram from ${ev.peer}` : "the proxy";
}

// relayText: "conn 1 → target, +25 ms: hel".
function relayText(ev, bytes, max) {
  const who = connName(ev);
  const to = TOWARDS[ev.dir] ? ` → ${TOWARDS[ev.dir]}` : "";
  const payload = bytes ? escapeBytes(bytes, max) : "";
  switch (ev.relay) {
    case "chunk":
      return `${who}${to}, ${delayText(ev.delay_us)}: ${payload}`;
    case "drop":
      return `${who}${to}, dropped${dropReason(ev)}: ${payload}`;
    case "hold":
      return `${who}${to}, held back to be reordered: ${payload}`;
    case "fin":
      return `${who}${to}: end of stream passed on (FIN)`;
    case "open":
      return `${who} opened${ev.peer ? ` for ${ev.peer}` : ""}`;
    case "close":
      return `${who} closed`;
    case "reset":
      return `${who} reset${ev.dir ? `, passed on to the ${TOWARDS[ev.dir]}` : " at both ends"}`;
    case "error":
      return `${who}${to}: ${ev.message || ev.code || "error"}${ev.errno ? ` (${ev.errno})` : ""}`;
    default:
      return who;
  }
}

/**
 * A proxy's knobs in words: "latency 200 ms, split into 3-byte pieces 25 ms
 * apart", or "none (forwards unchanged)". Absent knobs are 0 (off).
 */
export function knobsText(k) {
  k = k || {};
  const parts = [];
  if (k.latency_ms) parts.push(`latency ${k.latency_ms} ms`);
  if (k.jitter_ms) parts.push(`jitter ±${k.jitter_ms} ms`);
  if (k.bandwidth) parts.push(`bandwidth ${k.bandwidth.toLocaleString("en-US")} bytes/s`);
  if (k.split) parts.push(`split into ${k.split}-byte pieces ${k.split_gap_ms || 1} ms apart`);
  if (k.coalesce_ms) parts.push(`coalesce within ${k.coalesce_ms} ms`);
  if (k.loss) parts.push(`loss ${percent(k.loss)}`);
  if (k.reorder) parts.push(`reorder ${percent(k.reorder)}`);
  return parts.length ? parts.join(", ") : "none (forwards unchanged)";
}

function percent(p) {
  return `${Math.round(p * 1000) / 10}%`;
}

/** Why a call waits, in words: "accept() waits for a client to connect". */
export function blockedText(ev) {
  const why = {
    accept: "waits for a client to connect: the accept queue is empty",
    recv: "waits for bytes: nothing has been received",
    recvfrom: "waits for a datagram",
    connect: "waits for the handshake to finish",
    send: "waits for room: the send buffer is full",
    sendto: "waits for room in the send buffer",
  }[ev.op];
  return `${ev.op}() ${why || "waits in the kernel"}`;
}

/** µs as a round-trip time: "48 µs", "1.2 ms", "230 ms". */
export function rttText(us) {
  us = us || 0;
  if (us >= 100000) return `${Math.round(us / 1000)} ms`;
  if (us >= 1000) return `${(us / 1000).toFixed(1)} ms`;
  return `${us} µs`;
}

/**
 * The kernel's numbers in one line: "ESTABLISHED · rtt 48 µs ±24 µs · cwnd 10
 * · unacked 0 · retrans 0 · send-Q 0 · recv-Q 7"; for a listener, its
 * accept queue against its backlog; after close, the timer.
 */
export function kernelText(k) {
  const parts = [k.state || "?"];
  if (k.state === "LISTEN") {
    parts.push(`accept queue ${k.recv_q || 0} / backlog ${k.backlog || 0}`);
  } else if (k.state !== "CLOSED") {
    if (k.rtt_us) parts.push(`rtt ${rttText(k.rtt_us)}${k.rttvar_us ? ` ±${rttText(k.rttvar_us)}` : ""}`);
    if (k.cwnd) parts.push(`cwnd ${k.cwnd}`);
    parts.push(`unacked ${k.unacked || 0}`, `retrans ${k.retrans || 0}`);
    if (k.lost) parts.push(`lost ${k.lost}`);
    parts.push(`send-Q ${k.send_q || 0}`, `recv-Q ${k.recv_q || 0}`);
  }
  if (k.closed) parts.push(k.state === "CLOSED" ? "released by the kernel" : `closed by you; released in ${((k.timer_ms || 0) / 1000).toFixed(1)} s`);
  return parts.join(" · ");
}

function callText(ev) {
  const hp = ev.host !== undefined ? joinHostPort(ev.host, ev.port || 0) : "";
  switch (ev.op) {
    case "socket":
      return `socket(${ev.family === "ip6" ? "AF_INET6" : "AF_INET"}${sockTypeName(ev)})`;
    case "setsockopt":
      return `setsockopt ${ev.option} = ${ev.value || 0}`;
    case "settimeout":
      return timeoutText(ev);
    case "accept":
      return "accept a connection";
    case "recv":
      return `recv at most ${ev.n || 0} bytes`;
    case "recvfrom":
      return `recvfrom at most ${ev.n || 0} bytes`;
    case "cancel":
      return "cancel the blocked call";
    case "step":
      return "switch to step mode";
    case "connect":
      return `connect to ${hp}${ev.family ? ` (${ev.family})` : ""}${ev.timeout_ms ? `, timeout ${ev.timeout_ms} ms` : ""}`;
    case "listen":
      return ev.host !== undefined ? `listen on ${hp}` : `listen, backlog ${ev.backlog || 0}`;
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
    case "proxy":
      return `${(ev.proto || "tcp").toUpperCase()} proxy on ${hp} to ${ev.target}, knobs: ${knobsText(ev.knobs)}`;
    case "proxy_set":
      return `set knobs: ${knobsText(ev.knobs)}`;
    case "proxy_reset":
      return "reset every connection through the proxy now";
    default:
      return ev.op;
  }
}

function resultText(ev) {
  switch (ev.op) {
    case "socket":
      return "a new socket: not bound, not connected, blocking";
    case "setsockopt":
      return `${ev.option} = ${ev.value || 0}${ev.actual !== undefined && ev.actual !== ev.value ? ` (getsockopt reads back ${ev.actual})` : ""}`;
    case "settimeout":
      return ev.how === "non-blocking" ? "non-blocking: calls that would wait fail with EAGAIN" : ev.how === "timeout" ? `calls wait at most ${(ev.timeout_ms || 0) / 1000} s` : "blocking: calls wait as long as it takes";
    case "cancel":
      return "the blocked call was interrupted";
    case "step":
      return "step mode: nothing happens until you call it";
    case "connect":
      return `connected from ${ev.local} to ${ev.remote}`;
    case "listen":
      return `listening on ${ev.local}${ev.backlog !== undefined ? `, backlog ${ev.backlog}` : ""}`;
    case "bind":
      return `bound to ${ev.local}`;
    case "accept":
      return `accepted socket ${ev.child} from ${ev.remote}`;
    case "shutdown":
      return `shut down ${ev.how}`;
    case "close":
      return ev.auto ? "closed by itself: both directions are finished" : "closed";
    case "proxy":
      return `proxying ${ev.local} to ${ev.remote}, knobs: ${knobsText(ev.knobs)}`;
    case "proxy_set":
      return `knobs now: ${knobsText(ev.knobs)}`;
    case "proxy_reset":
      return `reset ${ev.conns || 0} ${ev.conns === 1 ? "connection" : "connections"}`;
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

// timeoutText: "settimeout None (blocking)", "settimeout 0 (non-blocking)", "settimeout 1.5 s".
function timeoutText(ev) {
  const how = ev.how || (ev.timeout_ms ? "timeout" : "blocking");
  if (how === "non-blocking") return "settimeout 0 (non-blocking)";
  if (how === "timeout") return `settimeout ${(ev.timeout_ms || 0) / 1000} s`;
  return "settimeout None (blocking)";
}

function sockTypeName(ev) {
  const t = sockType(ev);
  return t === "stream" ? ", SOCK_STREAM" : t === "dgram" ? ", SOCK_DGRAM" : "";
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
      if (ev.eof) return `${who} recv returned 0 bytes: end of stream`;
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
    case "relay":
      return `${who} ${relaySpoken(ev, entry.bytes)}`;
    case "blocked":
      return `${who} blocked: ${blockedText(ev)}`;
    case "kernel":
      return `${who} kernel: ${kernelText(ev.tcp || {})}`;
    default:
      return detail(ev, null);
  }
}

// relaySpoken: "relayed 3 bytes of conn 1 to the target: hel (delayed 25 ms)".
function relaySpoken(ev, bytes) {
  const conn = connName(ev);
  const to = TOWARDS[ev.dir] ? ` to the ${TOWARDS[ev.dir]}` : "";
  const payload = bytes ? escapeBytes(bytes, 80) : "";
  const n = ev.len || 0;
  switch (ev.relay) {
    case "chunk":
      return `relayed ${n} bytes of ${conn}${to}: ${payload} (delayed ${delayText(ev.delay_us).slice(1)})`;
    case "drop":
      return `dropped ${n} bytes of ${conn}${to}${dropReason(ev)}: ${payload}`;
    case "hold":
      return `held back ${n} bytes of ${conn}${to}, to be reordered: ${payload}`;
    case "fin":
      return `passed on the end of stream of ${conn}${to}`;
    case "open":
      return `opened ${conn}${ev.peer ? ` for ${ev.peer}` : ""}`;
    case "close":
      return `closed ${conn}`;
    case "reset":
      return `reset ${conn}${to ? `, passed on${to}` : " at both ends"}`;
    case "error":
      return `relay error in ${conn}${to}: ${ev.message || ev.code || ""}${ev.errno ? ` (${ev.errno})` : ""}`;
    default:
      return `relay ${ev.relay} in ${conn}`;
  }
}
