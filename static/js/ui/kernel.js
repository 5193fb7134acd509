// What the kernel says about a TCP socket (docs/protocol.md §5.3, `kernel`
// events), on its card: its state and numbers, a listener's accept queue
// against its backlog, how long a connection the session closed still
// lingers (TIME_WAIT, FIN_WAIT2) before the kernel lets it go, and the RFC
// 9293 state diagram with the path taken so far.

import { rttText } from "../describe.js";
import { h, setText } from "../dom.js";
import { TCPDiagram, pathText } from "./tcpstate.js";

const MEANING = {
  LISTEN: "waiting for connections",
  SYN_SENT: "SYN sent; waiting for the SYN+ACK",
  SYN_RECV: "SYN received, SYN+ACK sent; waiting for the ACK",
  ESTABLISHED: "the handshake is done; data flows both ways",
  FIN_WAIT1: "you closed; your FIN is not yet acknowledged",
  FIN_WAIT2: "your FIN is acknowledged; waiting for the peer's FIN",
  CLOSE_WAIT: "the peer sent FIN; waiting for you to close",
  CLOSING: "both sent FIN at once; waiting for the ACK",
  LAST_ACK: "you closed after the peer; waiting for the ACK of your FIN",
  TIME_WAIT: "the side that closed first waits 2×MSL so stray segments die out",
  CLOSED: "the kernel has let the connection go",
};

/** Builds the kernel part of a card: rows for the facts list, and the diagram. */
export function createKernel(uid) {
  const refs = {};
  refs.stateDt = h("dt", { hidden: true }, "Kernel");
  refs.state = h("dd", { hidden: true, class: "kernel-state" });
  refs.numsDt = h("dt", { hidden: true }, "Queues");
  refs.nums = h("dd", { hidden: true });
  refs.rows = [refs.stateDt, refs.state, refs.numsDt, refs.nums];
  refs.path = h("p", { class: "kpath" });
  refs.diagram = new TCPDiagram(`tcpd-${uid}`);
  refs.details = h("details", { class: "tcp-diagram" }, h("summary", {}, "TCP state diagram"), refs.diagram.svg);
  refs.box = h("div", { class: "kernel", hidden: true }, refs.path, refs.details);
  refs.opened = false;
  return refs;
}

/** Brings the kernel part up to date. */
export function updateKernel(s, refs) {
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
  tickKernel(s, refs);
  // A socket with no connection (CLOSED) or one in TIME_WAIT has no queues to speak of.
  const quiet = k.state === "CLOSED" || k.state === "TIME_WAIT";
  refs.numsDt.hidden = refs.nums.hidden = quiet;
  if (k.state === "LISTEN") {
    setText(refs.numsDt, "Accept queue");
    const backlog = k.backlog || s.backlog || 0;
    const waiting = k.recv_q || 0;
    setText(refs.nums, `${waiting} / backlog ${backlog}${waiting > backlog ? ": full, the kernel drops new SYNs (clients retry)" : waiting ? " waiting to be accepted" : ""}`);
  } else if (!quiet) {
    setText(refs.numsDt, "Queues");
    const parts = [`send-Q ${k.send_q || 0} B`, `recv-Q ${k.recv_q || 0} B`, `unacked ${k.unacked || 0}`, `retrans ${k.retrans || 0}`];
    if (k.lost) parts.push(`lost ${k.lost}`);
    if (k.rtt_us) parts.push(`rtt ${rttText(k.rtt_us)}${k.rttvar_us ? ` ±${rttText(k.rttvar_us)}` : ""}`);
    if (k.cwnd) parts.push(`cwnd ${k.cwnd}`);
    setText(refs.nums, parts.join(" · "));
  }
  setText(refs.path, pathText(s.kpath));
  refs.diagram.update(s.kpath);
}

/** Updates what counts down: the time until the kernel releases a lingering connection. */
export function tickKernel(s, refs) {
  const k = s.kernel;
  if (!k) return;
  let text = k.state || "?";
  if (k.closed && k.state !== "CLOSED") {
    const left = Math.max(0, (k.timer_ms || 0) - (performance.now() - s.kernelAt));
    text += s.kernelEnded
      ? " · closed by you; the session ended before the kernel let it go"
      : k.timer_ms
        ? ` · closed by you; the kernel lets it go in ${(left / 1000).toFixed(1)} s`
        : " · closed by you; the kernel still holds it";
  } else if (k.state === "CLOSED" && !k.closed && !s.final) {
    text += " · no connection yet";
  } else {
    text += ` · ${MEANING[k.state] || ""}`;
  }
  setText(refs.state, text);
}
