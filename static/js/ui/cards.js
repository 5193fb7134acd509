// Socket cards: one per socket, showing what the events said about it —
// kind, state, addresses, bytes and messages each way, age, the last error —
// with the actions that make sense in its state. A listener's accepted
// connections are cards of their own, placed after it and linked to it.

import { byteCount } from "../bytes.js";
import { errorText, kindName, stateName } from "../describe.js";
import { $, duration, h, setText } from "../dom.js";
import { currentLang, msg, num, t, tn } from "../i18n.js";
import { isProxy } from "../protocol.js";
import { createKernel, tickKernel, updateKernel } from "./kernel.js";
import { createProxy, updateProxy } from "./proxy.js";
import { createToolkit, updateToolkit } from "./responders.js";
import { createStep, tickStep, updateStep } from "./step.js";
import { createMulticast, updateMulticast } from "./multicast.js";
import { createThroughput, updateThroughput } from "./throughput.js";
import { createTLS, updateTLS } from "./tlsinfo.js";

const STATE_HELP = {
  opening: () => t("card.help.opening"),
  created: () => t("card.help.created"),
  connecting: () => t("card.help.connecting"),
  handshaking: () => t("card.help.handshaking"),
  listening: () => t("card.help.listening"),
  bound: () => t("card.help.bound"),
  established: () => t("card.help.established"),
  "half-closed": () => t("card.help.half-closed"),
  closed: () => t("card.help.closed"),
  failed: () => t("card.help.failed"),
  proxying: () => t("card.help.proxying"),
};

// STEP_HELP explains a step socket's state: nothing happens by itself.
const STEP_HELP = {
  bound: () => t("card.step_help.bound"),
  listening: () => t("card.step_help.listening"),
  established: () => t("card.step_help.established"),
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
      this.actions.announce(tn("card.removed", n));
      this.sync();
      const heading = $("sockets-h");
      heading.tabIndex = -1;
      heading.focus();
    });
    setInterval(() => this.tick(), 1000);
    // Blocked calls and lingering connections count in tenths of a second.
    setInterval(() => this.tickFast(), 100);
    // A card's fixed labels follow the language by themselves (data-i18n);
    // what update() writes is written again.
    document.addEventListener("langchange", () => {
      for (const s of this.store.sockets.values()) this.store.touch(s);
      this.render();
    });
  }

  /** Updates the cards of the sockets that changed. */
  render() {
    const dirty = this.store.dirty;
    if (dirty.size === 0) return;
    for (const s of dirty) {
      if (this.store.sockets.get(s.key) !== s) continue; // removed, or forgotten by a reset
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

  /** Removes every card: the store was reset (app.js resetViews). */
  reset() {
    for (const c of this.cards.values()) c.el.remove();
    this.cards.clear();
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
    // data-field names each fact, for the learning column's concepts (learn-highlight.js).
    const dd = (name) => (refs[name] = h("dd", { dataset: { field: name } }));
    const btn = (key, onclick) => h("button", { type: "button", class: "btn small", onclick, i18n: key });
    refs.title = h("h3", { id: titleId });
    refs.state = h("span", { class: "badge" });
    refs.stateHelp = h("p", { class: "state-help hint" });
    refs.parent = h("p", { class: "linked", hidden: true });
    refs.children = h("p", { class: "linked", hidden: true });
    refs.error = h("p", { class: "card-error", hidden: true });
    refs.send = btn("card.send", () => this.actions.send(s));
    refs.connect = btn("card.connect", () => this.actions.connectTo(s));
    refs.shut = btn("card.shutdown", () => this.actions.shutdown(s));
    refs.close = h("button", { type: "button", class: "btn small", onclick: () => this.actions.close(s) }); // "Close" or "Close now": update() says
    refs.stepBtn = h("button", { type: "button", class: "btn small", onclick: () => this.actions.step(s), i18n: "card.step", i18nAttr: { title: "card.step_title" } });
    refs.mode = h("span", { class: "pill mode", hidden: true, i18n: "card.mode", i18nAttr: { title: "card.mode_title" } });
    refs.optsDt = h("dt", { hidden: true, i18n: "card.options" });
    refs.opts = h("dd", { hidden: true });
    const uid = titleId.replace("sock-", "");
    refs.kernel = createKernel(uid);
    refs.step = createStep(this, s, uid);
    refs.toolkit = createToolkit(this, s, uid); // auto-reply rules and the repeat (responders.js)
    refs.tls = createTLS(this, s, uid);
    refs.rate = createThroughput(this, s, uid);
    refs.mcast = createMulticast(this, s, uid);
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
        h("dt", { i18n: "card.local", dataset: { field: "local" } }),
        dd("local"),
        h("dt", { i18n: "card.remote", dataset: { field: "remote" } }),
        dd("remote"),
        h("dt", { i18n: "card.received", dataset: { field: "in" } }),
        dd("in"),
        h("dt", { i18n: "card.sent", dataset: { field: "out" } }),
        dd("out"),
        ...refs.kernel.rows,
        refs.optsDt,
        refs.opts,
        h("dt", { i18n: "card.age" }),
        dd("age"),
      ),
      refs.tls.box,
      refs.rate.box,
      refs.kernel.box,
      refs.children,
      refs.error,
      refs.mcast.box,
      refs.step.calls,
      refs.toolkit.box,
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
    const kind = unconnected ? t("card.kind.tcp_socket") : kindName(s.kind);
    const role = s.kind === "tcp" && !unconnected ? (s.parent ? t("card.role.accepted") : s.target ? t("card.role.client") : "") : "";
    const earlier = s.epoch !== this.store.epoch ? ` · ${t("card.earlier")}` : "";
    setText(refs.title, `${t("card.title", { n: s.id, kind: role ? `${kind} ${role}` : kind })}${earlier}`);
    const state = s.state === "half-closed" ? t("card.half", { which: [s.half.write && t("card.half.write"), s.half.read && t("card.half.read")].filter(Boolean).join(", ") }) : stateName(s.state || "opening");
    setText(refs.state, state);
    refs.state.className = `badge st-${s.state || "opening"}`;
    el.className = `sock-card k-${s.kind || "none"} st-${s.state || "opening"}${s.final ? " final" : ""}`;
    const help = (s.step && STEP_HELP[s.state]) || STATE_HELP[s.state];
    setText(refs.stateHelp, msg(s.reason) || (help ? help() : ""));
    refs.mode.hidden = !s.step;
    if (s.parent) {
      el.dataset.parent = `${s.epoch}:${s.parent}`;
      refs.parent.hidden = false;
      if (refs.parentLang !== currentLang()) {
        refs.parentLang = currentLang();
        // "Accepted by socket 1": the link sits where the message's {socket} is.
        const [before, after] = t("card.accepted_by").split("{socket}");
        refs.parent.replaceChildren(before, this.link(s.epoch, s.parent), after ?? "");
      }
    }
    if (s.kind === "tcp-listener" && s.children.length) {
      refs.children.hidden = false;
      const links = s.children.flatMap((id, i) => (i ? [", ", this.link(s.epoch, id)] : [this.link(s.epoch, id)]));
      const [before, after] = t("card.accepted_list").split("{sockets}");
      refs.children.replaceChildren(before, ...links, after ?? "");
    }
    setText(refs.local, s.local || (s.state === "created" ? t("card.local.unbound") : "—"));
    const remote =
      s.kind === "udp"
        ? s.peer
          ? t("card.remote.udp_peer", { peer: s.peer })
          : t("card.remote.udp_any")
        : s.kind === "tcp-listener"
          ? t("card.remote.listener")
          : s.remote || s.target || (s.state === "created" || s.state === "bound" ? t("card.remote.unconnected") : "—");
    setText(refs.remote, remote);
    const udp = s.kind === "udp";
    setText(refs.in, tn(udp ? "card.in.datagrams" : "card.in.reads", s.inMsgs, { bytes: byteCount(s.inBytes) }));
    setText(refs.out, tn(udp ? "card.out.datagrams" : "card.out.sends", s.outMsgs, { bytes: byteCount(s.outBytes) }));
    this.age(s, refs);
    const opts = Object.entries(s.options).map(([k, v]) => `${k}=${v}`);
    if (s.timeout) opts.unshift(s.timeout.how === "timeout" ? t("card.timeout", { s: num(s.timeout.ms / 1000) }) : s.timeout.how === "non-blocking" ? t("card.nonblocking") : t("card.blocking"));
    refs.optsDt.hidden = refs.opts.hidden = opts.length === 0;
    setText(refs.opts, opts.join(" · "));
    updateKernel(s, refs.kernel, this.store.now());
    updateStep(this, s, refs.step);
    updateToolkit(this, s, refs.toolkit);
    updateTLS(this, s, refs.tls);
    updateThroughput(this, s, refs.rate);
    updateMulticast(this, s, refs.mcast);
    refs.error.hidden = !s.error;
    if (s.error) {
      // EAGAIN and EINPROGRESS are how a non-blocking call says "not now", not failures.
      const notNow = s.error.code === "would_block" || s.error.code === "in_progress";
      setText(refs.error, errorText(s.error, notNow));
      refs.error.classList.toggle("not-now", notNow);
    }
    const isConn = s.kind === "tcp";
    refs.send.disabled = !s.canSend;
    refs.connect.hidden = s.kind !== "tcp-listener";
    refs.connect.disabled = s.state !== "listening";
    refs.shut.hidden = !isConn || s.step; // a step socket has shutdown() among its calls
    refs.shut.disabled = !(s.state === "established" || (s.state === "half-closed" && !s.half.write));
    refs.close.disabled = s.final;
    // A TLS connection stays live: its kernel socket carries TLS records (§16.4).
    refs.stepBtn.hidden = s.step || s.final || !!s.tlsAsk || !(s.kind === "tcp" || s.kind === "tcp-listener" || s.kind === "udp") || s.epoch !== this.store.epoch;
    refs.send.hidden = s.kind === "tcp-listener" || (s.step && s.kind === "tcp" && !s.canSend && !s.final);
    setText(refs.close, s.closing && !s.final ? t("card.close_now") : t("card.close"));
    refs.close.title = s.closing && !s.final ? t("card.close_now_title") : "";
  }

  link(epoch, id) {
    return h("button", { type: "button", class: "link", onclick: () => this.focus(`${epoch}:${id}`) }, t("card.link", { n: id }));
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
    // A socket known from a sync (§15.3) has no first event to count from.
    const ms = s.final && s.endT ? (s.firstT ? (s.endT - s.firstT) / 1000 : s.endAt - s.bornAt) : this.store.now() - s.bornAt;
    setText(refs.age, s.final ? t("card.lived", { age: duration(ms) }) : duration(ms));
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
      if (s.blocked) tickStep(s, c.refs.step, this.store.now());
      if (s.lingering) tickKernel(s, c.refs.kernel, this.store.now());
    }
  }
}
