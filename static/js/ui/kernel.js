// What the kernel says about a TCP socket (docs/protocol.md §5.3, `kernel`
// events), on its card: its state and numbers, a listener's accept queue
// against its backlog, how long a connection the session closed still
// lingers (TIME_WAIT, FIN_WAIT2) before the kernel lets it go, and the RFC
// 9293 state diagram with the path taken so far.

import { rttText } from "../describe.js";
import { h, setText } from "../dom.js";
import { t } from "../i18n.js";
import { TCPDiagram, pathText } from "./tcpstate.js";

// What each TCP state means (the states keep the kernel's names).
const MEANING = {
  LISTEN: () => t("kernel.meaning.LISTEN"),
  SYN_SENT: () => t("kernel.meaning.SYN_SENT"),
  SYN_RECV: () => t("kernel.meaning.SYN_RECV"),
  ESTABLISHED: () => t("kernel.meaning.ESTABLISHED"),
  FIN_WAIT1: () => t("kernel.meaning.FIN_WAIT1"),
  FIN_WAIT2: () => t("kernel.meaning.FIN_WAIT2"),
  CLOSE_WAIT: () => t("kernel.meaning.CLOSE_WAIT"),
  CLOSING: () => t("kernel.meaning.CLOSING"),
  LAST_ACK: () => t("kernel.meaning.LAST_ACK"),
  TIME_WAIT: () => t("kernel.meaning.TIME_WAIT"),
  CLOSED: () => t("kernel.meaning.CLOSED"),
};

/** Builds the kernel part of a card: rows for the facts list, and the diagram. */
export function createKernel(uid) {
  const refs = {};
  refs.stateDt = h("dt", { hidden: true, i18n: "kernel.kernel" });
  refs.state = h("dd", { hidden: true, class: "kernel-state" });
  refs.numsDt = h("dt", { hidden: true, dataset: { field: "queue" } }); // "Queues" or "Accept queue": updateKernel says
  refs.nums = h("dd", { hidden: true, dataset: { field: "queue" } });
  refs.rows = [refs.stateDt, refs.state, refs.numsDt, refs.nums];
  refs.path = h("p", { class: "kpath" });
  refs.diagram = new TCPDiagram(`tcpd-${uid}`);
  refs.details = h("details", { class: "tcp-diagram" }, h("summary", { i18n: "kernel.diagram" }), refs.diagram.svg);
  refs.box = h("div", { class: "kernel", hidden: true }, refs.path, refs.details);
  refs.opened = false;
  return refs;
}

/** Brings the kernel part up to date. */
export function updateKernel(s, refs, now = performance.now()) {
  const k = s.kernel;
  const tcp = s.kind === "tcp" || s.kind === "tcp-listener";
  const show = !!k && tcp;
  for (const r of refs.rows) r.hidden = !show;
  refs.box.hidden = !show;
  if (!show) return;
  // A learner's socket shows the diagram open; a live one keeps it folded.
  if (!refs.opened) {
    refs.opened = true;
    refs.details.open = s.step;
  }
  tickKernel(s, refs, now);
  // A socket with no connection (CLOSED) or one in TIME_WAIT has no queues to speak of.
  const quiet = k.state === "CLOSED" || k.state === "TIME_WAIT";
  refs.numsDt.hidden = refs.nums.hidden = quiet;
  if (k.state === "LISTEN") {
    setText(refs.numsDt, t("kernel.accept_queue"));
    const backlog = k.backlog || s.backlog || 0;
    const waiting = k.recv_q || 0;
    setText(refs.nums, t(waiting > backlog ? "kernel.queue.full" : waiting ? "kernel.queue.waiting" : "kernel.queue.empty", { n: waiting, backlog }));
  } else if (!quiet) {
    setText(refs.numsDt, t("kernel.queues"));
    const parts = [`send-Q ${k.send_q || 0} B`, `recv-Q ${k.recv_q || 0} B`, t("ev.kernel.unacked", { n: k.unacked || 0 }), t("ev.kernel.retrans", { n: k.retrans || 0 })];
    if (k.lost) parts.push(t("ev.kernel.lost", { n: k.lost }));
    if (k.rtt_us) parts.push(`rtt ${rttText(k.rtt_us)}${k.rttvar_us ? ` ±${rttText(k.rttvar_us)}` : ""}`);
    if (k.cwnd) parts.push(`cwnd ${k.cwnd}`);
    setText(refs.nums, parts.join(" · "));
  }
  setText(refs.path, pathText(s.kpath));
  refs.diagram.update(s.kpath);
}

/**
 * Updates what counts down: the time until the kernel releases a lingering
 * connection. now is the page's clock (Store.now), in ms.
 */
export function tickKernel(s, refs, now = performance.now()) {
  const k = s.kernel;
  if (!k) return;
  let text = k.state || "?";
  if (k.closed && k.state !== "CLOSED") {
    const left = Math.max(0, (k.timer_ms || 0) - (now - s.kernelAt));
    text += ` · ${s.kernelEnded ? t("kernel.closed.ended") : k.timer_ms ? t("kernel.closed.timer", { s: (left / 1000).toFixed(1) }) : t("kernel.closed.held")}`;
  } else if (k.state === "CLOSED" && !k.closed && !s.final) {
    text += ` · ${t("kernel.no_connection")}`;
  } else {
    text += ` · ${MEANING[k.state] ? MEANING[k.state]() : ""}`;
  }
  setText(refs.state, text);
}
