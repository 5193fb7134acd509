// Events as evidence: what the learner did, in one line each ("socket 3:
// listen() → listening on 127.0.0.1:41234"), for a lesson's finished steps
// and for the cause of an error. An event becomes a small fact (plain data,
// kept in localStorage) that is worded in the page's language when shown, so
// the record follows a switch of language.

import { escapeBytes } from "../bytes.js";
import { stateName } from "../describe.js";
import { t, tn } from "../i18n.js";
import { joinHostPort } from "../store.js";

// A payload is quoted up to this many bytes.
const QUOTE = 40;

/**
 * fact(entry, store) is what an event shows the learner did, as plain data;
 * store (the page's model) adds the socket's address where the event has
 * none (a kernel sample says only the state).
 */
export function fact(entry, store) {
  const ev = entry.ev;
  const f = { k: ev.type, sock: ev.sock || 0, op: ev.op || "" };
  const s = f.sock && store ? store.get(f.sock, entry.epoch) : null;
  switch (ev.type) {
    case "state":
      f.state = ev.state;
      f.addr = ev.state === "established" && ev.remote ? ev.remote : ev.local || "";
      f.peer = ev.state === "established" ? "remote" : "";
      break;
    case "kernel":
      f.tcp = (ev.tcp && ev.tcp.state) || "";
      f.addr = (s && s.local) || "";
      break;
    case "result":
      f.addr = ev.local || "";
      f.peer = ev.remote || "";
      f.child = ev.child || 0;
      if (ev.backlog !== undefined) f.backlog = ev.backlog;
      if (ev.option) f.option = `${ev.option}=${ev.actual ?? ev.value ?? ""}`;
      break;
    case "call":
      if (ev.host !== undefined && ev.port !== undefined) f.addr = joinHostPort(ev.host, ev.port);
      break;
    case "sent":
    case "data":
      f.len = ev.len || 0;
      f.eof = !!ev.eof;
      f.peer = ev.peer || "";
      f.text = entry.bytes ? escapeBytes(entry.bytes, QUOTE) : "";
      break;
    case "error":
      f.errno = ev.errno || ev.code || "";
      break;
    case "answer":
      f.answer = (ev.lesson && ev.lesson.answer) || "";
      break;
    case "blocked":
      break;
    default:
      f.k = "other";
      f.type = ev.type;
  }
  return f;
}

/** The fact in words, in the page's language. */
export function factText(f) {
  if (!f) return "";
  const sock = f.sock;
  const op = f.op;
  switch (f.k) {
    case "state":
      if (f.peer === "remote" && f.addr) return t("learn.did.state_to", { sock, state: stateName(f.state), addr: f.addr });
      return f.addr ? t("learn.did.state_on", { sock, state: stateName(f.state), addr: f.addr }) : t("learn.did.state", { sock, state: stateName(f.state) });
    case "kernel":
      return f.addr ? t("learn.did.kernel_on", { sock, tcp: f.tcp, addr: f.addr }) : t("learn.did.kernel", { sock, tcp: f.tcp });
    case "result":
      if (op === "accept" && f.child) return f.peer ? t("learn.did.accept_from", { sock, child: f.child, addr: f.peer }) : t("learn.did.accept", { sock, child: f.child });
      if (op === "connect" && f.peer) return t("learn.did.connect", { sock, addr: f.peer, local: f.addr || "?" });
      if (op === "listen") return f.addr ? t("learn.did.listen", { sock, addr: f.addr, backlog: f.backlog ?? "?" }) : t("learn.did.returned", { sock, op });
      if (op === "bind" && f.addr) return t("learn.did.bind", { sock, addr: f.addr });
      if (op === "setsockopt" && f.option) return t("learn.did.setsockopt", { sock, option: f.option });
      return t("learn.did.returned", { sock, op });
    case "call":
      return f.addr ? t("learn.did.call_addr", { sock, op, addr: f.addr }) : t("learn.did.call", { sock, op });
    case "sent":
      return tn(f.peer ? "learn.did.sent_to" : "learn.did.sent", f.len, { sock, text: f.text || "", addr: f.peer });
    case "data":
      if (f.eof) return t("learn.did.eof", { sock });
      return tn(f.peer ? "learn.did.received_from" : "learn.did.received", f.len, { sock, text: f.text || "", addr: f.peer });
    case "error":
      return t("learn.did.error", { sock, op: op || "?", errno: f.errno });
    case "answer":
      return t("learn.did.answer", { answer: f.answer });
    case "blocked":
      return t("learn.did.blocked", { sock, op });
    default:
      return t("learn.did.other", { type: f.type || "?" });
  }
}

/**
 * callText(ev) names a call for an error's cause: "connect() to
 * 127.0.0.1:9 on socket 4", "bind() on 127.0.0.1:80, socket 2",
 * "send() on socket 3".
 */
export function callText(ev) {
  const op = ev.op || "?";
  const sock = ev.sock || 0;
  const addr = ev.host !== undefined && ev.port !== undefined ? joinHostPort(ev.host, ev.port) : ev.target_host ? joinHostPort(ev.target_host, ev.target_port) : "";
  // A client's call goes to an address; a server's bind and listen are on one.
  if (addr && sock) return t(op === "bind" || op === "listen" ? "learn.cause.call_on_sock" : "learn.cause.call_addr_sock", { op, addr, sock });
  if (addr) return t("learn.cause.call_addr", { op, addr });
  if (sock) return t("learn.cause.call_sock", { op, sock });
  return t("learn.cause.call", { op });
}
