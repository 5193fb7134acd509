// Socket cards: one per socket, showing what the events said about it —
// kind, state, addresses, bytes and messages each way, age, the last error —
// with the actions that make sense in its state. A listener's accepted
// connections are cards of their own, placed after it and linked to it.

import { byteCount } from "../bytes.js";
import { $, duration, h, setText } from "../dom.js";
import { KIND_NAMES, isProxy } from "../protocol.js";
import { createKernel, tickKernel, updateKernel } from "./kernel.js";
import { createProxy, updateProxy } from "./proxy.js";
import { createStep, tickStep, updateStep } from "./step.js";

const STATE_HELP = {
  opening: "asking the kernel for the socket",
  created: "a new socket: not bound, not connected; nothing happens until you call it",
  connecting: "the handshake is under way",
  listening: "waiting for clients; connections are accepted by themselves",
  bound: "ready to send and receive datagrams",
  established: "connected: bytes can flow both ways",
  "half-closed": "one direction is finished",
  closed: "the socket is closed",
  failed: "the socket failed",
  proxying: "forwarding clients to the target",
};

// STEP_HELP explains a step socket's state: nothing happens by itself.
const STEP_HELP = {
  bound: "bound to a local address; call listen() to accept connections, or connect()",
  listening: "listening: connections wait in the kernel's accept queue until you call accept()",
  established: "connected: bytes that arrive wait in the kernel until you call recv()",
};

export class Cards {
  /**
   * actions: { send(sock), shutdown(sock), close(sock), connectTo(sock),
   * udpTo(sock), proxySet(sock, knobs), proxyReset(sock), step(sock),
   * call(sock, header), cancel(sock) }, each called with a Sock when its
   * button is pressed.
   */
  constructor(store, actions) {
    this.store = store;
    this.actions = actions;
    this.root = $("cards");
    this.empty = $("cards-empty");
    this.clearBtn = $("clear-closed");
    this.cards = new Map(); // key -> { el, refs }
    this.clearBtn.addEventListener("click", () => {
      const n = this.store.removeFinal();
      for (const [k, c] of this.cards) {
        if (!this.store.sockets.has(k)) {
          c.el.remove();
          this.cards.delete(k);
        }
      }
      this.actions.announce(`Removed ${n} closed ${n === 1 ? "socket" : "sockets"}`);
      this.sync();
      const heading = $("sockets-h");
      heading.tabIndex = -1;
      heading.focus();
    });
    setInterval(() => this.tick(), 1000);
    // Blocked calls and lingering connections count in tenths of a second.
    setInterval(() => this.tickFast(), 100);
  }

  /** Updates the cards of the sockets that changed. */
  render() {
    const dirty = this.store.dirty;
    if (dirty.size === 0) return;
    for (const s of dirty) {
      if (!this.store.sockets.has(s.key)) continue;
      let c = this.cards.get(s.key);
      if (c && !!c.proxy !== isProxy(s.kind)) {
        // Its kind became known after the card was drawn: draw it again.
        const fresh = this.create(s);
        c.el.replaceWith(fresh.el);
        c = fresh;
        this.cards.set(s.key, c);
      }
      if (!c) {
        c = this.create(s);
        this.cards.set(s.key, c);
        this.place(s, c.el);
      }
      this.update(s, c);
    }
    dirty.clear();
    this.sync();
  }

  sync() {
    this.empty.hidden = this.cards.size > 0;
    let anyFinal = false;
    for (const s of this.store.sockets.values()) if (s.final) anyFinal = true;
    this.clearBtn.disabled = !anyFinal;
  }

  // place puts an accepted connection after its listener's other children.
  place(s, el) {
    const parent = s.parent ? this.cards.get(`${s.epoch}:${s.parent}`) : null;
    if (!parent) {
      this.root.append(el);
      return;
    }
    let after = parent.el;
    while (after.nextElementSibling && after.nextElementSibling.dataset.parent === parent.el.dataset.key) after = after.nextElementSibling;
    after.after(el);
  }

  create(s) {
    const titleId = `sock-${s.key.replace(":", "-")}`;
    if (isProxy(s.kind)) return createProxy(this, s, titleId);
    const refs = {};
    const dd = (name) => (refs[name] = h("dd"));
    const btn = (text, onclick) => h("button", { type: "button", class: "btn small", onclick }, text);
    refs.title = h("h3", { id: titleId });
    refs.state = h("span", { class: "badge" });
    refs.stateHelp = h("p", { class: "state-help hint" });
    refs.parent = h("p", { class: "linked", hidden: true });
    refs.children = h("p", { class: "linked", hidden: true });
    refs.error = h("p", { class: "card-error", hidden: true });
    refs.send = btn("Send…", () => this.actions.send(s));
    refs.connect = btn("Connect a client", () => this.actions.connectTo(s));
    refs.shut = btn("Shut down writing", () => this.actions.shutdown(s));
    refs.close = btn("Close", () => this.actions.close(s));
    refs.stepBtn = btn("Step mode", () => this.actions.step(s));
    refs.stepBtn.title = "Stop accepting and reading by itself: from then on you make each call";
    refs.mode = h("span", { class: "pill mode", hidden: true, title: "Step mode: nothing happens on this socket until you make the call" }, "step");
    refs.optsDt = h("dt", { hidden: true }, "Options");
    refs.opts = h("dd", { hidden: true });
    const uid = titleId.replace("sock-", "");
    refs.kernel = createKernel(uid);
    refs.step = createStep(this, s, uid);
    const el = h(
      "article",
      { class: "sock-card", "aria-labelledby": titleId, dataset: { key: s.key } },
      h("header", { class: "card-head" }, refs.title, h("span", { class: "head-badges" }, refs.mode, refs.state)),
      refs.stateHelp,
      refs.parent,
      refs.step.blocked,
      h(
        "dl",
        { class: "facts" },
        h("dt", {}, "Local"),
        dd("local"),
        h("dt", {}, "Remote"),
        dd("remote"),
        h("dt", {}, "Received"),
        dd("in"),
        h("dt", {}, "Sent"),
        dd("out"),
        ...refs.kernel.rows,
        refs.optsDt,
        refs.opts,
        h("dt", {}, "Age"),
        dd("age"),
      ),
      refs.kernel.box,
      refs.children,
      refs.error,
      refs.step.calls,
      h("div", { class: "actions" }, refs.send, refs.connect, refs.shut, refs.stepBtn, refs.close),
    );
    if (s.parent) el.dataset.parent = `${s.epoch}:${s.parent}`;
    return { el, refs };
  }

  update(s, c) {
    const { el, refs } = c;
    if (c.proxy) updateProxy(this, s, c);
    else this.updateSocket(s, c);
    // A button that just became disabled must not take the focus with it.
    if (el.contains(document.activeElement) && (document.activeElement.matches(":disabled") || document.activeElement.hidden)) {
      el.tabIndex = -1;
      el.focus();
    }
  }

  updateSocket(s, { el, refs }) {
    // A TCP socket is a "connection" once it connects or is accepted.
    const unconnected = s.kind === "tcp" && !s.parent && (s.state === "created" || s.state === "bound" || s.state === "opening");
    const kind = unconnected ? "TCP socket" : KIND_NAMES[s.kind] || "socket";
    const role = s.kind === "tcp" && !unconnected ? (s.parent ? " (accepted)" : s.target ? " (client)" : "") : "";
    setText(refs.title, `Socket ${s.id} · ${kind}${role}${s.epoch !== this.store.epoch ? " · earlier session" : ""}`);
    const state = s.state === "half-closed" ? `half-closed: ${[s.half.write && "no more sending", s.half.read && "no more receiving"].filter(Boolean).join(", ")}` : s.state || "opening";
    setText(refs.state, state);
    refs.state.className = `badge st-${s.state || "opening"}`;
    el.className = `sock-card k-${s.kind || "none"} st-${s.state || "opening"}${s.final ? " final" : ""}`;
    setText(refs.stateHelp, s.reason || (s.step && STEP_HELP[s.state]) || STATE_HELP[s.state] || "");
    refs.mode.hidden = !s.step;
    if (s.parent) {
      el.dataset.parent = `${s.epoch}:${s.parent}`;
      refs.parent.hidden = false;
      if (!refs.parent.firstChild) refs.parent.append("Accepted by ", this.link(s.epoch, s.parent));
    }
    if (s.kind === "tcp-listener" && s.children.length) {
      refs.children.hidden = false;
      refs.children.replaceChildren("Accepted connections: ", ...s.children.flatMap((id, i) => (i ? [", ", this.link(s.epoch, id)] : [this.link(s.epoch, id)])));
    }
    setText(refs.local, s.local || (s.state === "created" ? "— (not bound yet)" : "—"));
    const remote = s.kind === "udp" ? (s.peer ? `last datagram from ${s.peer}` : "any (UDP is connectionless)") : s.kind === "tcp-listener" ? "— (a listener has no peer)" : s.remote || s.target || (s.state === "created" || s.state === "bound" ? "— (not connected)" : "—");
    setText(refs.remote, remote);
    setText(refs.in, `${byteCount(s.inBytes)} in ${s.inMsgs.toLocaleString("en-US")} ${s.kind === "udp" ? "datagram" : "read"}${s.inMsgs === 1 ? "" : "s"}`);
    setText(refs.out, `${byteCount(s.outBytes)} in ${s.outMsgs.toLocaleString("en-US")} ${s.kind === "udp" ? "datagram" : "send"}${s.outMsgs === 1 ? "" : "s"}`);
    this.age(s, refs);
    const opts = Object.entries(s.options).map(([k, v]) => `${k}=${v}`);
    if (s.timeout) opts.unshift(s.timeout.how === "timeout" ? `timeout ${s.timeout.ms / 1000} s` : s.timeout.how);
    refs.optsDt.hidden = refs.opts.hidden = opts.length === 0;
    setText(refs.opts, opts.join(" · "));
    updateKernel(s, refs.kernel);
    updateStep(this, s, refs.step);
    refs.error.hidden = !s.error;
    if (s.error) {
      // EAGAIN and EINPROGRESS are how a non-blocking call says "not now", not failures.
      const notNow = s.error.code === "would_block" || s.error.code === "in_progress";
      const what = s.error.op ? `${s.error.op}${notNow ? "() returned at once" : " failed"}: ` : "";
      setText(refs.error, `${what}${s.error.message}${s.error.errno ? ` (${s.error.errno})` : ""}`);
      refs.error.classList.toggle("not-now", notNow);
    }
    const isConn = s.kind === "tcp";
    refs.send.disabled = !s.canSend;
    refs.connect.hidden = s.kind !== "tcp-listener";
    refs.connect.disabled = s.state !== "listening";
    refs.shut.hidden = !isConn || s.step; // a step socket has shutdown() among its calls
    refs.shut.disabled = !(s.state === "established" || (s.state === "half-closed" && !s.half.write));
    refs.close.disabled = s.final;
    refs.stepBtn.hidden = s.step || s.final || !(s.kind === "tcp" || s.kind === "tcp-listener" || s.kind === "udp") || s.epoch !== this.store.epoch;
    refs.send.hidden = s.kind === "tcp-listener" || (s.step && s.kind === "tcp" && !s.canSend && !s.final);
    setText(refs.close, s.closing && !s.final ? "Close now" : "Close");
    refs.close.title = s.closing && !s.final ? "The close waits for earlier sends; this closes at once and cancels them" : "";
  }

  link(epoch, id) {
    return h("button", { type: "button", class: "link", onclick: () => this.focus(`${epoch}:${id}`) }, `socket ${id}`);
  }

  /** Scrolls a socket's card into view and gives it focus. */
  focus(key) {
    const c = this.cards.get(key);
    if (!c) return;
    c.el.tabIndex = -1;
    c.el.scrollIntoView({ block: "nearest", behavior: "smooth" });
    c.el.focus({ preventScroll: true });
    c.el.classList.add("flash");
    setTimeout(() => c.el.classList.remove("flash"), 1200);
  }

  age(s, refs) {
    const ms = s.final && s.endT ? (s.endT - s.firstT) / 1000 : performance.now() - s.bornAt;
    setText(refs.age, s.final ? `lived ${duration(ms)}` : duration(ms));
  }

  tick() {
    for (const [k, c] of this.cards) {
      const s = this.store.sockets.get(k);
      if (s && !s.final) this.age(s, c.refs);
    }
  }

  tickFast() {
    for (const [k, c] of this.cards) {
      if (c.proxy) continue;
      const s = this.store.sockets.get(k);
      if (!s) continue;
      if (s.blocked) tickStep(s, c.refs.step);
      if (s.lingering) tickKernel(s, c.refs.kernel);
    }
  }
}
