// Concepts on the live page: for each concept of the guide, the parts of the
// page that show it now — a card's address fields for an endpoint, the state
// badge and the kernel's LISTEN for listen(), data rows of the traffic for a
// byte stream. Hovering or focusing a term lights them up.
//
// The parts are found by the classes and data-field marks the views already
// use; an element may also name its concepts itself with data-concept="id …".

import { splitAddr } from "../protocol.js";

const HL = "learn-hl";

const all = (sel) => [...document.querySelectorAll(sel)];

// A card's facts are marked data-field="local", "remote", "in", "out",
// "queue" (cards.js, kernel.js): a label and its value each.
const field = (card, ...names) => [...card.querySelectorAll(":scope > .facts > [data-field]")].filter((el) => names.includes(el.dataset.field));
const local = (card) => field(card, "local");
const remote = (card) => field(card, "remote");
const cards = (sel = "") => all(`#cards .sock-card${sel}`).filter((c) => !c.classList.contains("final"));
const callForm = (op) => all(`#cards .sock-card:not(.final) form.call[data-op="${op}"]:not([hidden])`);

// tcpNodes finds the boxes of the TCP state diagrams that name one of states.
function tcpNodes(...states) {
  return all(".tcp-node").filter((g) => states.includes(g.textContent.trim()));
}

// kernelState finds the cards' "Kernel" rows that say one of states.
function kernelState(...states) {
  return all("#cards .sock-card dd.kernel-state").filter((dd) => states.some((s) => dd.textContent.startsWith(s)));
}

const isLoopback = (addr) => {
  const { host } = splitAddr(addr || "");
  return host.startsWith("127.") || host === "::1";
};

// The rows of the traffic view for sockets of one kind ("udp", or "tcp" for
// everything else), read from each row's "#n" socket cell.
function rows(classes, store, kind) {
  return all(`#tl-list .tl-item:is(${classes})`).filter((row) => {
    if (!kind || !store) return true;
    const n = Number((row.querySelector(".tl-sock")?.textContent || "").replace("#", ""));
    const s = n ? store.get(n) : null;
    return s && (kind === "udp" ? s.kind === "udp" : s.kind !== "udp");
  });
}

/** For each concept id, the parts of the page that show it now. */
const FIND = {
  socket: () => cards(),
  endpoint: () => cards().flatMap((c) => [...local(c), ...(c.classList.contains("k-tcp") ? remote(c) : [])]),
  port: () => [...cards().flatMap(local), ...all("#open-port"), ...all('#cards form.call:is([data-op="bind"], [data-op="connect"]):not([hidden]) .arg:has(input[type="number"])')],
  "four-tuple": () => cards(".k-tcp").flatMap((c) => [...local(c), ...remote(c)]),
  "server-client": () => [...cards(".k-tcp-listener"), ...cards(".k-tcp")],
  bind: () => [...callForm("bind"), ...cards().flatMap(local)],
  listen: () => [...cards(".k-tcp-listener").map((c) => c.querySelector(".badge")), ...callForm("listen"), ...kernelState("LISTEN"), ...tcpNodes("LISTEN")],
  accept: () => [...cards(".k-tcp-listener"), ...cards("[data-parent]"), ...callForm("accept")],
  connect: () => [...callForm("connect"), ...cards(".k-tcp:not([data-parent])").map((c) => c.querySelector(".badge")), ...tcpNodes("SYN_SENT")],
  stream: (store) => [...rows(".t-data, .t-sent", store, "tcp"), ...cards(".k-tcp").flatMap((c) => field(c, "in", "out"))],
  datagram: (store) => [...cards(".k-udp"), ...rows(".t-data, .t-sent", store, "udp")],
  bytes: (store) => [...all("#preview"), ...rows(".t-data, .t-sent", store)],
  "half-close": () => [...all("#cards .badge.st-half-closed"), ...callForm("shutdown"), ...tcpNodes("FIN_WAIT1", "FIN_WAIT2", "CLOSE_WAIT")],
  "time-wait": () => [...kernelState("TIME_WAIT", "FIN_WAIT2"), ...tcpNodes("TIME_WAIT")],
  backlog: () => [...all('#cards form.call[data-op="listen"]:not([hidden]) .arg'), ...cards(".k-tcp-listener").flatMap((c) => field(c, "queue"))],
  blocking: () => [...all("#cards .blocked:not([hidden])"), ...callForm("settimeout"), ...all("#tl-list .tl-item.t-blocked")],
  ipc: () =>
    cards(".k-tcp").filter((c) => {
      const [l, r] = [local(c), remote(c)].map((f) => f.find((el) => el.tagName === "DD"));
      return l && r && isLoopback(l.textContent) && isLoopback(r.textContent);
    }),
};

/**
 * Highlighter lights up a concept's parts of the page: show(id) until
 * clear(). A concept pinned (pin) stays lit while another is hovered over
 * and comes back after.
 */
export class Highlighter {
  constructor(store) {
    this.store = store;
    this.lit = [];
    this.id = "";
    this.pinned = "";
  }

  /** The parts of the page that show concept id now. */
  find(id) {
    const marked = all(`[data-concept~="${CSS.escape(id)}"]`).filter((el) => !el.closest("#learn"));
    const found = FIND[id] ? FIND[id](this.store) : [];
    return [...new Set([...marked, ...found])].filter((el) => el && !el.closest("[hidden]") && el.getClientRects().length > 0);
  }

  /** Lights up concept id's parts; returns them. */
  show(id) {
    this.clear(false);
    this.id = id;
    this.lit = this.find(id);
    for (const el of this.lit) el.classList.add(HL);
    return this.lit;
  }

  /** Turns the lights off, and back on for the pinned concept unless back is false. */
  clear(back = true) {
    for (const el of this.lit) el.classList.remove(HL);
    this.lit = [];
    this.id = "";
    if (back && this.pinned) this.show(this.pinned);
  }

  /** Pins concept id (or unpins it): it stays lit until unpinned. */
  pin(id) {
    this.pinned = this.pinned === id ? "" : id;
    if (this.pinned) this.show(id);
    else this.clear();
    return this.pinned === id;
  }

  /** Lights the current concept again: the page changed under it. */
  refresh() {
    if (this.id) this.show(this.id);
  }
}
