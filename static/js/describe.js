// Events in words: what the timeline and the copied text say about each
// event. One place, so the views agree. The words are the page's language
// (i18n.js); API names (send, recvfrom, SOCK_STREAM, ECONNREFUSED, LISTEN…)
// stay as the API spells them, and an error's message is the server's.

import { byteCount, escapeBytes } from "./bytes.js";
import { num, t, tn } from "./i18n.js";
import { joinHostPort } from "./store.js";
import { firingOf } from "./toolkit.js";
import { callWords, resultWords, tlsAskText } from "./netkit.js";

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

// The socket states the server reports (docs/protocol.md §5.2), as the page names them.
const STATES = {
  opening: () => t("state.opening"),
  created: () => t("state.created"),
  connecting: () => t("state.connecting"),
  handshaking: () => t("state.handshaking"),
  listening: () => t("state.listening"),
  bound: () => t("state.bound"),
  established: () => t("state.established"),
  "half-closed": () => t("state.half-closed"),
  closed: () => t("state.closed"),
  failed: () => t("state.failed"),
  proxying: () => t("state.proxying"),
};

/** A socket state in words: "established" (in Korean "연결됨"); an unknown one as the server spells it. */
export function stateName(state) {
  const f = STATES[state];
  return f ? f() : state;
}

// Socket kinds as people say them.
const KINDS = {
  tcp: () => t("kind.tcp"),
  "tcp-listener": () => t("kind.tcp-listener"),
  udp: () => t("kind.udp"),
  "tcp-proxy": () => t("kind.tcp-proxy"),
  "udp-proxy": () => t("kind.udp-proxy"),
};

/** A socket kind as people say it: "TCP connection", "TCP server", "UDP socket", "TCP proxy"… */
export function kindName(kind) {
  const f = KINDS[kind];
  return f ? f() : t("kind.socket");
}

// The page's own notes in the timeline, by label.
const NOTES = {
  note: () => t("ev.note.note"),
  session: () => t("ev.note.session"),
  disconnected: () => t("ev.note.disconnected"),
};

// What a proxy did with a chunk, by the relay event's name.
const RELAYS = {
  chunk: () => t("ev.relay_name.chunk"),
  drop: () => t("ev.relay_name.drop"),
  hold: () => t("ev.relay_name.hold"),
  fin: () => t("ev.relay_name.fin"),
  open: () => t("ev.relay_name.open"),
  close: () => t("ev.relay_name.close"),
  reset: () => t("ev.relay_name.reset"),
  error: () => t("ev.relay_name.error"),
};

/**
 * errorText is the last error on a card: "connect failed: connection
 * refused… (ECONNREFUSED)", or "recv() returned at once: …" when a
 * non-blocking call said "not now". The message is the server's.
 */
export function errorText(err, notNow = false) {
  const text = `${err.message}${err.errno ? ` (${err.errno})` : ""}`;
  if (!err.op) return text;
  return notNow ? t("card.error.not_now", { op: err.op, text }) : t("card.error.failed", { op: err.op, text });
}

/** A short name for the event: "send", "recvfrom", "connect()", "error: refused", "established". */
export function label(ev) {
  switch (ev.type) {
    case "sent":
    case "data":
      return ev.op;
    case "call":
      // A responder's firing (docs/protocol.md §16.3) is a send the session made.
      if (ev.rule && ev.auto) return t("ev.label.auto_reply");
      return ev.op + "()";
    case "result":
      return ev.auto ? t("ev.label.done_auto", { op: ev.op }) : `${ev.op} ✓`;
    case "error":
      return ev.code ? t("ev.label.error_code", { code: ev.code }) : t("ev.label.error");
    case "state":
      if (ev.half === "read") return t("ev.label.half_read");
      if (ev.half === "write") return t("ev.label.half_write");
      return stateName(ev.state);
    case "relay":
      return t("ev.label.relay", { what: RELAYS[ev.relay] ? RELAYS[ev.relay]() : ev.relay });
    case "blocked":
      return t("ev.label.blocked", { op: ev.op });
    case "kernel":
      return t("ev.label.kernel", { state: (ev.tcp && ev.tcp.state) || "?" });
    case "note":
      return NOTES[ev.label || "note"] ? NOTES[ev.label || "note"]() : ev.label;
    case "lesson":
      return t("ev.label.lesson");
    case "answer":
      return t("ev.label.answer");
    default:
      return ev.type;
  }
}

// lessonTitle is a lesson's title in the page's language.
function lessonTitle(l) {
  return l.id ? t(`lesson.${l.id}.title`) : "";
}

// lessonText: "started: An endpoint is…", "2 of 3 steps done", "passed".
function lessonText(l) {
  const title = lessonTitle(l);
  switch (l.action) {
    case "start":
      return t("ev.lesson.start", { lesson: title });
    case "stop":
      return title ? t("ev.lesson.stop", { lesson: title }) : t("ev.lesson.stop_all");
    default: {
      const steps = l.steps || [];
      if (l.passed) return t("ev.lesson.passed", { lesson: title });
      return t("ev.lesson.progress", { lesson: title, done: steps.filter((s) => s.done).length, steps: steps.length });
    }
  }
}

/** How many payload bytes the event carries or asks for, or "" if none. */
export function length(ev) {
  if (ev.type === "sent" || ev.type === "data") return String(ev.len || 0);
  // A template's call has the template, not its length (§16.1).
  if (ev.type === "call" && (ev.op === "send" || ev.op === "sendto" || ev.op === "repeat")) return ev.template !== undefined && !ev.len ? "" : String(ev.len || 0);
  if (ev.type === "relay" && RELAY_BYTES.has(ev.relay)) return String(ev.len || 0);
  return "";
}

/** The rest of the row: the payload (escaped, at most max bytes) or what happened. */
export function detail(ev, bytes, max = 160) {
  switch (ev.type) {
    case "sent":
    case "data": {
      const peer = ev.peer ? `${ev.type === "data" ? t("ev.from", { peer: ev.peer }) : t("ev.to", { peer: ev.peer })}  ` : "";
      if (ev.eof) return t("ev.eof");
      const cut = ev.datagram_len > (ev.len || 0) ? `  ${t("ev.truncated", { bytes: byteCount(ev.datagram_len) })}` : "";
      // One send of a repeat (§16.2): which one.
      const nth = ev.repeat ? `${t("ev.repeat_n", { n: num(ev.repeat) })}  ` : "";
      return nth + peer + (bytes ? escapeBytes(bytes, max) : "") + cut;
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
    case "lesson":
      return lessonText(ev.lesson || {});
    case "answer":
      return t("ev.answer", { lesson: lessonTitle(ev.lesson || {}), step: (ev.lesson && ev.lesson.step) || 0, answer: (ev.lesson && ev.lesson.answer) || "" });
    default:
      return "";
  }
}

// The relay events whose payload is bytes the proxy forwarded, dropped or held.
const RELAY_BYTES = new Set(["chunk", "drop", "hold"]);

// towards names the end a relayed chunk goes to: "target" or "client", or "".
function towards(ev) {
  if (ev.dir === "to-target") return t("ev.towards.target");
  if (ev.dir === "to-client") return t("ev.towards.client");
  return "";
}

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
  return ev.conn ? t("ev.conn", { n: ev.conn }) : ev.peer ? t("ev.conn_datagram", { peer: ev.peer }) : t("ev.conn_proxy");
}

function relayError(ev) {
  return `${ev.message || ev.code || t("ev.label.error")}${ev.errno ? ` (${ev.errno})` : ""}`;
}

// relayText: "conn 1 → target, +25 ms: hel".
function relayText(ev, bytes, max) {
  const who = connName(ev);
  const to = towards(ev) ? ` → ${towards(ev)}` : "";
  const payload = bytes ? escapeBytes(bytes, max) : "";
  switch (ev.relay) {
    case "chunk":
      return `${who}${to}, ${delayText(ev.delay_us)}: ${payload}`;
    case "drop":
      return t("ev.relay.drop", { who, to, reason: dropReason(ev), payload });
    case "hold":
      return t("ev.relay.hold", { who, to, payload });
    case "fin":
      return t("ev.relay.fin", { who, to });
    case "open":
      return ev.peer ? t("ev.relay.open_for", { who, peer: ev.peer }) : t("ev.relay.open", { who });
    case "close":
      return t("ev.relay.close", { who });
    case "reset":
      return ev.dir ? t("ev.relay.reset_to", { who, towards: towards(ev) }) : t("ev.relay.reset_both", { who });
    case "error":
      return `${who}${to}: ${relayError(ev)}`;
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
  if (k.latency_ms) parts.push(t("ev.knob.latency", { ms: num(k.latency_ms) }));
  if (k.jitter_ms) parts.push(t("ev.knob.jitter", { ms: num(k.jitter_ms) }));
  if (k.bandwidth) parts.push(t("ev.knob.bandwidth", { n: num(k.bandwidth) }));
  if (k.split) parts.push(t("ev.knob.split", { n: num(k.split), gap: num(k.split_gap_ms || 1) }));
  if (k.coalesce_ms) parts.push(t("ev.knob.coalesce", { ms: num(k.coalesce_ms) }));
  if (k.loss) parts.push(t("ev.knob.loss", { pct: percent(k.loss) }));
  if (k.reorder) parts.push(t("ev.knob.reorder", { pct: percent(k.reorder) }));
  return parts.length ? parts.join(", ") : t("ev.knob.none");
}

function percent(p) {
  return `${Math.round(p * 1000) / 10}%`;
}

// Why each call waits, in the kernel.
const WAITS = {
  accept: () => t("ev.wait.accept"),
  recv: () => t("ev.wait.recv"),
  recvfrom: () => t("ev.wait.recvfrom"),
  connect: () => t("ev.wait.connect"),
  send: () => t("ev.wait.send"),
  sendto: () => t("ev.wait.sendto"),
};

/** Why a call op waits, in words: "waits for a client to connect: the accept queue is empty". */
export function blockedWhy(op) {
  return WAITS[op] ? WAITS[op]() : t("ev.wait.other");
}

/** Why a call waits, in words: "accept() waits for a client to connect: …". */
export function blockedText(ev) {
  return t("ev.blocked", { op: ev.op, why: blockedWhy(ev.op) });
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
    parts.push(t("ev.kernel.accept_queue", { n: k.recv_q || 0, backlog: k.backlog || 0 }));
  } else if (k.state !== "CLOSED") {
    if (k.rtt_us) parts.push(`rtt ${rttText(k.rtt_us)}${k.rttvar_us ? ` ±${rttText(k.rttvar_us)}` : ""}`);
    if (k.cwnd) parts.push(`cwnd ${k.cwnd}`);
    parts.push(t("ev.kernel.unacked", { n: k.unacked || 0 }), t("ev.kernel.retrans", { n: k.retrans || 0 }));
    if (k.lost) parts.push(t("ev.kernel.lost", { n: k.lost }));
    parts.push(`send-Q ${k.send_q || 0}`, `recv-Q ${k.recv_q || 0}`);
  }
  if (k.closed) parts.push(k.state === "CLOSED" ? t("ev.kernel.released") : t("ev.kernel.releasing", { s: ((k.timer_ms || 0) / 1000).toFixed(1) }));
  return parts.join(" · ");
}

function callText(ev) {
  const words = callWords(ev); // join, leave, IP_MULTICAST_IF (netkit.js)
  if (words !== undefined) return words;
  const hp = ev.host !== undefined ? joinHostPort(ev.host, ev.port || 0) : "";
  switch (ev.op) {
    case "socket":
      return `socket(${ev.family === "ip6" ? "AF_INET6" : "AF_INET"}${sockTypeName(ev)})`;
    case "setsockopt":
      return `setsockopt ${ev.option} = ${ev.value || 0}`;
    case "settimeout":
      return timeoutText(ev);
    case "accept":
      return t("ev.call.accept");
    case "recv":
      return t("ev.call.recv", { n: num(ev.n || 0) });
    case "recvfrom":
      return t("ev.call.recvfrom", { n: num(ev.n || 0) });
    case "cancel":
      return t("ev.call.cancel");
    case "step":
      return t("ev.call.step");
    case "connect": {
      const to = t("ev.call.connect", { addr: hp });
      return `${to}${ev.family ? ` (${ev.family})` : ""}${ev.timeout_ms ? `, ${t("ev.call.timeout", { ms: num(ev.timeout_ms) })}` : ""}${ev.tls ? ` ${tlsAskText(ev.tls)}` : ""}`;
    }
    case "listen":
      return ev.host !== undefined ? t("ev.call.listen_on", { addr: hp }) : `listen, backlog ${ev.backlog || 0}`;
    case "bind":
      return t("ev.call.bind", { addr: hp });
    case "send":
    case "sendto":
      return ev.rule ? autoReplyText(ev, sendText(ev, hp)) : sendText(ev, hp);
    case "repeat":
      return t("ev.call.repeat", {
        what: ev.template !== undefined ? t("ev.what.template", { template: quoted(ev.template) }) : byteCount(ev.len || 0),
        to: ev.host !== undefined ? t("ev.repeat.to", { addr: hp }) : "",
        times: ev.count ? tn("ev.repeat.times", ev.count) : t("ev.repeat.until_stopped"),
        pace: ev.interval_ms ? t("ev.repeat.every", { ms: num(ev.interval_ms) }) : t("ev.repeat.flow"),
      });
    case "stop":
      return t("ev.call.stop");
    case "respond":
      return t("ev.call.respond", { when: matchText(ev.match, ev.pattern), reply: spelledText(ev.reply) });
    case "unrespond":
      return t("ev.call.unrespond", { rule: ev.rule || 0 });
    case "shutdown":
      return `shutdown ${ev.how}`;
    case "close":
      return ev.now ? t("ev.call.close_now") : "close";
    case "proxy":
      return t("ev.call.proxy", { proto: (ev.proto || "tcp").toUpperCase(), addr: hp, target: ev.target, knobs: knobsText(ev.knobs) });
    case "proxy_set":
      return t("ev.call.proxy_set", { knobs: knobsText(ev.knobs) });
    case "proxy_reset":
      return t("ev.call.proxy_reset");
    default:
      return ev.op;
  }
}

function resultText(ev) {
  const words = ev.op === "connect" ? undefined : resultWords(ev); // join, leave, IP_MULTICAST_IF (netkit.js)
  if (words !== undefined) return words;
  switch (ev.op) {
    case "socket":
      return t("ev.result.socket");
    case "setsockopt":
      return `${ev.option} = ${ev.value || 0}${ev.actual !== undefined && ev.actual !== ev.value ? ` ${t("ev.result.readback", { n: ev.actual })}` : ""}`;
    case "settimeout":
      return ev.how === "non-blocking" ? t("ev.result.nonblocking") : ev.how === "timeout" ? t("ev.result.timeout", { s: (ev.timeout_ms || 0) / 1000 }) : t("ev.result.blocking");
    case "cancel":
      return t("ev.result.cancel");
    case "step":
      return t("ev.result.step");
    case "connect":
      return t("ev.result.connect", { local: ev.local, remote: ev.remote }) + (ev.tls ? ` · ${resultWords(ev)}` : "");
    case "listen":
      return ev.backlog !== undefined ? t("ev.result.listen_backlog", { local: ev.local, backlog: ev.backlog }) : t("ev.result.listen", { local: ev.local });
    case "bind":
      return t("ev.result.bind", { local: ev.local });
    case "accept":
      return t("ev.result.accept", { child: ev.child, remote: ev.remote });
    case "shutdown":
      return t("ev.result.shutdown", { how: ev.how });
    case "close":
      return ev.auto ? t("ev.result.close_auto") : t("ev.result.close");
    case "proxy":
      return t("ev.result.proxy", { local: ev.local, remote: ev.remote, knobs: knobsText(ev.knobs) });
    case "proxy_set":
      return t("ev.result.proxy_set", { knobs: knobsText(ev.knobs) });
    case "proxy_reset":
      return tn("ev.result.proxy_reset", ev.conns || 0);
    case "repeat":
      return ev.reason ? tn("ev.result.repeat_stopped", ev.count || 0, { reason: ev.reason, bytes: byteCount(ev.len || 0) }) : tn("ev.result.repeat_done", ev.count || 0, { bytes: byteCount(ev.len || 0) });
    case "stop":
      return t("ev.result.stop");
    case "respond":
      return t("ev.result.respond", { rule: ev.rule || 0 });
    case "unrespond":
      return t("ev.result.unrespond", { rule: ev.rule || 0 });
    default:
      return "";
  }
}

const encoder = new TextEncoder();

// quoted is text in the escaped spelling, in quotes, cut at max characters.
function quoted(s, max = 48) {
  return `"${s.length > max ? `${s.slice(0, max)}…` : s}"`;
}

/**
 * A payload as a request spelled it (docs/protocol.md §4.3, §16.1), for a
 * person: "PING\r\n" in quotes (text shown with escapes), hex 50 49,
 * base64 AP8=, template "PING {{counter}}".
 */
export function spelledText(sp, max = 48) {
  if (!sp || typeof sp !== "object") return "?";
  const [kind, value] = Object.entries(sp)[0] || ["", ""];
  const v = String(value ?? "");
  switch (kind) {
    case "text":
      return quoted(escapeBytes(encoder.encode(v)), max);
    case "escaped":
      return quoted(v, max);
    case "template":
      return t("ev.what.template", { template: quoted(v, max) });
    case "hex":
    case "base64":
      return `${kind} ${v.length > max ? `${v.slice(0, max)}…` : v}`;
    default:
      return kind;
  }
}

/** A responder's condition in words: contains "PING", is exactly "PING", matches the regex "P.NG". */
export function matchText(match, pattern) {
  const p = spelledText(pattern);
  if (match === "equals") return t("ev.match.equals", { pattern: p });
  if (match === "regex") return t("ev.match.regex", { pattern: p });
  return t("ev.match.contains", { pattern: p });
}

// sendText: "send 6 bytes", "sendto 127.0.0.1:9, 6 bytes", "send template "…"".
function sendText(ev, hp) {
  if (ev.template !== undefined && !ev.len) {
    const what = t("ev.what.template", { template: quoted(ev.template) });
    return ev.op === "sendto" ? t("ev.call.sendto_what", { addr: hp, what }) : t("ev.call.send_what", { what });
  }
  return ev.op === "sendto" ? t("ev.call.sendto", { addr: hp, bytes: byteCount(ev.len || 0) }) : t("ev.call.send", { bytes: byteCount(ev.len || 0) });
}

// autoReplyText: "auto-reply rule 2 (contains "PING") → send 6 bytes".
function autoReplyText(ev, what) {
  const f = firingOf(ev);
  const rule = f ? t("ev.auto.rule_of", { rule: ev.rule, when: matchText(f.rule.match, f.rule.pattern) }) : t("ev.auto.rule", { rule: ev.rule });
  const whose = f && f.sock !== ev.sock ? ` ${t("ev.auto.of_socket", { n: f.sock })}` : "";
  return t("ev.call.auto_reply", { rule: rule + whose, what });
}

function stateText(ev) {
  const where = ev.remote ? `${ev.local || "?"} ⇄ ${ev.remote}` : ev.local || "";
  if (ev.state === "connecting") return ev.addrs ? t("ev.state.trying_resolved", { addr: ev.addr, addrs: ev.addrs.join(", ") }) : t("ev.state.trying", { addr: ev.addr });
  if (ev.reason) return where ? `${ev.reason} · ${where}` : ev.reason;
  return where;
}

// timeoutText: "settimeout None (blocking)", "settimeout 0 (non-blocking)", "settimeout 1.5 s".
function timeoutText(ev) {
  const how = ev.how || (ev.timeout_ms ? "timeout" : "blocking");
  if (how === "non-blocking") return t("ev.call.settimeout_nonblocking");
  if (how === "timeout") return t("ev.call.settimeout", { s: (ev.timeout_ms || 0) / 1000 });
  return t("ev.call.settimeout_blocking");
}

// sockTypeName: ", SOCK_STREAM" or ", SOCK_DGRAM" for a socket call. The
// type travels as proto ("tcp" or "udp"), the event's own "type" being "call".
function sockTypeName(ev) {
  if (ev.proto === "tcp" || ev.socktype === "stream" || ev.sock_type === "stream") return ", SOCK_STREAM";
  if (ev.proto === "udp" || ev.socktype === "dgram" || ev.sock_type === "dgram") return ", SOCK_DGRAM";
  return "";
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
  const who = entry.sock ? t("ev.who.socket", { n: entry.sock }) : t("ev.who.session");
  const payload = entry.bytes ? escapeBytes(entry.bytes, 80) : "";
  switch (ev.type) {
    case "data":
      if (ev.eof) return t("ev.spoken.eof", { who });
      return ev.peer
        ? t("ev.spoken.received_from", { who, bytes: byteCount(ev.len || 0), peer: ev.peer, payload })
        : t("ev.spoken.received", { who, bytes: byteCount(ev.len || 0), payload });
    case "sent": {
      let sent = ev.peer ? t("ev.spoken.sent_to", { who, bytes: byteCount(ev.len || 0), peer: ev.peer }) : t("ev.spoken.sent", { who, bytes: byteCount(ev.len || 0) });
      if (ev.repeat) sent += ` (${t("ev.spoken.repeat_n", { n: num(ev.repeat) })})`;
      return payload ? `${sent}: ${payload}` : sent;
    }
    case "call":
      return t("ev.spoken.call", { who, op: ev.op, text: callText(ev) });
    case "result":
      return t("ev.spoken.result", { who, op: ev.op, text: resultText(ev) });
    case "error":
      return ev.op ? t("ev.spoken.error_in", { who, op: ev.op, text: detail(ev, null) }) : t("ev.spoken.error", { who, text: detail(ev, null) });
    case "state":
      return t("ev.spoken.state", { who, state: label(ev), text: stateText(ev) });
    case "relay":
      return `${who} ${relaySpoken(ev, entry.bytes)}`;
    case "blocked":
      return t("ev.spoken.blocked", { who, text: blockedText(ev) });
    case "kernel":
      return t("ev.spoken.kernel", { who, text: kernelText(ev.tcp || {}) });
    default:
      return detail(ev, null);
  }
}

// relaySpoken: "relayed 3 bytes of conn 1 to the target: hel (delayed 25 ms)".
function relaySpoken(ev, bytes) {
  const conn = connName(ev);
  const to = towards(ev) ? ` ${t("ev.spoken.to_end", { towards: towards(ev) })}` : "";
  const payload = bytes ? escapeBytes(bytes, 80) : "";
  const n = byteCount(ev.len || 0);
  switch (ev.relay) {
    case "chunk":
      return t("ev.spoken.relay_chunk", { bytes: n, conn, to, payload, delay: delayText(ev.delay_us).slice(1) });
    case "drop":
      return t("ev.spoken.relay_drop", { bytes: n, conn, to, reason: dropReason(ev), payload });
    case "hold":
      return t("ev.spoken.relay_hold", { bytes: n, conn, to, payload });
    case "fin":
      return t("ev.spoken.relay_fin", { conn, to });
    case "open":
      return ev.peer ? t("ev.spoken.relay_open_for", { conn, peer: ev.peer }) : t("ev.spoken.relay_open", { conn });
    case "close":
      return t("ev.spoken.relay_close", { conn });
    case "reset":
      return to ? t("ev.spoken.relay_reset_to", { conn, to }) : t("ev.spoken.relay_reset_both", { conn });
    case "error":
      return t("ev.spoken.relay_error", { conn, to, message: relayError(ev) });
    default:
      return t("ev.spoken.relay_other", { what: ev.relay, conn });
  }
}
