// Error cards: each error of the session explained in the learning column —
// what it means in plain words, what in this session caused it (the call it
// answers, a link that shows that call in the traffic view) and what to try.
// The words are the catalog's "error.errno.<ERRNO>.*" when the kernel named
// an errno, else "error.code.<code>.*"; the server's own message is shown
// as it came, as text.

import { h } from "../dom.js";
import { has, t } from "../i18n.js";
import { callText } from "./learn-evidence.js";
import { tlsFailKind, verifyFailed } from "../netkit.js";
import { certList, disclosure } from "./tlsinfo.js";

// How many cards stay: the latest few, newest first.
const KEEP = 3;

// The policy's rules (internal/policy), in the groups the cards advise on.
// An error event names its rule in "rule" where the server says it; else the
// call refused and the message's words decide.
const POLICY_GROUPS = {
  rate: ["connect_rate", "target_rate"],
  quota: ["byte_quota"],
  listen: ["outside_pool", "pool_exhausted", "port_taken", "listeners", "not_loopback"],
  multicast: ["multicast", "broadcast"], // hosted mode (§16.5)
};

function policyGroup(ev) {
  if (ev.rule) {
    for (const [g, rules] of Object.entries(POLICY_GROUPS)) if (rules.includes(ev.rule)) return g;
    return "target";
  }
  const m = ev.message || "";
  if (ev.op === "join" || ev.op === "leave" || /hosted mode (sends|joins) no (multicast|broadcast)/.test(m)) return "multicast";
  if (/try again in/.test(m)) return "rate";
  if (/quota/.test(m)) return "quota";
  if (ev.op === "listen" || ev.op === "bind" || ev.op === "accept") return "listen";
  return "target";
}

// The card of an error with neither a known errno nor a known code.
const OTHER = "network";

/** The catalog prefix of an error's card: "error.errno.ECONNREFUSED", "error.code.policy"… */
export function cardKey(ev) {
  // A failed TLS handshake is explained by what failed: the authority, the
  // dates, the name, not TLS at all, or the handshake itself.
  if (ev.code === "tls") {
    const kind = `error.code.tls_${tlsFailKind(ev)}`;
    if (has(`${kind}.title`)) return kind;
  }
  if (ev.errno && has(`error.errno.${ev.errno}.title`)) return `error.errno.${ev.errno}`;
  if (ev.code && has(`error.code.${ev.code}.title`)) return `error.code.${ev.code}`;
  return `error.code.${OTHER}`;
}

export class ErrorCards {
  /**
   * reveal(seq) shows an event in the traffic view; changed() asks for a
   * render; retryTLS(ev, epoch), where given, retries the TLS connect that
   * ev failed, without verification.
   */
  constructor({ reveal, changed, retryTLS }) {
    this.reveal = reveal;
    this.changed = changed;
    this.retryTLS = retryTLS;
    this.cards = []; // newest first: { n, key, ev, call, count, epoch }
    this.n = 0;
    this.dirty = false;
    this.list = h("ol", { class: "err-list" });
    this.el = h(
      "section",
      { class: "learn-errors", "aria-labelledby": "learn-errors-h", hidden: true },
      h("div", { class: "learn-errors-head" }, h("h3", { id: "learn-errors-h", i18n: "learn.errors.heading" }), h("button", { type: "button", class: "link small-link", onclick: () => this.clearAll(), i18n: "learn.errors.clear" })),
      this.list,
    );
  }

  /**
   * add takes an error event's timeline entry, and call, the entry of the
   * call it answers (or null: live mode's own reads, a request with no id).
   */
  add(entry, call) {
    const ev = entry.ev;
    const key = cardKey(ev);
    // The same error again on the same socket (a repeat that keeps failing,
    // a closed socket cancelling its queued sends) counts on one card.
    const same = this.cards.find((c) => c.key === key && c.ev.sock === ev.sock && c.ev.op === ev.op && c.epoch === entry.epoch);
    if (same) {
      same.count++;
      same.ev = ev;
      same.call = call || same.call;
      same.seq = ev.seq;
      this.cards = [same, ...this.cards.filter((c) => c !== same)];
    } else {
      // The newest card is explained in full; the older ones fold to their
      // title and cause, so the lesson below stays in view.
      for (const c of this.cards) if (!c.opened) c.open = false;
      this.cards.unshift({ n: ++this.n, key, ev, call, count: 1, epoch: entry.epoch, seq: ev.seq, open: true, opened: false });
      this.cards.length = Math.min(this.cards.length, KEEP);
    }
    this.dirty = true;
    this.changed();
  }

  /** Removes every card, saying nothing (the views are being rebuilt). */
  reset() {
    this.cards = [];
    this.dirty = true;
  }

  /** How many cards are shown. */
  get size() {
    return this.cards.length;
  }

  dismiss(card) {
    this.cards = this.cards.filter((c) => c !== card);
    this.dirty = true;
    this.render();
    // The focus was on the card's button, now gone: give it to the next card, or the column.
    const next = this.list.querySelector(".err-dismiss");
    if (next) next.focus();
    else this.changed(true);
  }

  clearAll() {
    this.cards = [];
    this.dirty = true;
    this.render();
    this.changed(true);
  }

  /** Draws the cards again, in the page's new language. */
  redraw() {
    this.dirty = true;
  }

  render() {
    if (!this.dirty) return;
    this.dirty = false;
    this.el.hidden = this.cards.length === 0;
    this.list.replaceChildren(...this.cards.map((c) => this.card(c)));
  }

  card(c) {
    const ev = c.ev;
    const id = `err-${c.n}`;
    const title = t(`${c.key}.title`);
    const heading = ev.errno ? `${ev.errno} · ${title}` : title;
    // What caused it: the call it answers, else the event itself.
    const cause = h("p", { class: "err-cause" }, h("strong", { text: t("learn.error.here") }), " ");
    if (c.call) {
      const what = callText(c.call.ev);
      cause.append(h("button", { type: "button", class: "link", onclick: () => this.reveal(c.call.ev.seq), "aria-label": t("learn.error.show", { what }) }, what));
    } else if (ev.auto && ev.sock) {
      cause.append(t("learn.error.auto", { op: ev.op || "?", sock: ev.sock }), " ", this.eventLink(ev));
    } else {
      cause.append(t(ev.op ? "learn.error.request_op" : "learn.error.request", { op: ev.op || "" }), " ", this.eventLink(ev));
    }
    const body = [cause];
    if (c.open) {
      body.push(
        h("p", { class: "err-means" }, h("strong", { text: t("learn.error.means") }), " ", t(`${c.key}.means`)),
        h("p", { class: "err-try" }, h("strong", { text: t("learn.error.try") }), " ", this.tryText(c)),
        ...this.tlsParts(c, id),
        this.said(c, id),
      );
    } else {
      body.push(
        h("button", {
          type: "button",
          class: "link err-explain",
          "aria-expanded": "false",
          onclick: () => {
            c.open = c.opened = true;
            this.dirty = true;
            this.render();
            this.list.querySelector(`#${id}`)?.closest("article")?.querySelector(".err-means a, .err-dismiss")?.focus();
          },
          text: t("learn.error.explain"),
        }),
      );
    }
    const notNow = ev.code === "would_block" || ev.code === "in_progress";
    return h(
      "li",
      {},
      h(
        "article",
        { class: `err-card${notNow ? " not-now" : ""}`, "aria-labelledby": id },
        h(
          "header",
          { class: "err-head" },
          h("h4", { id, text: heading }),
          c.count > 1 ? h("span", { class: "err-count", text: t("learn.error.count", { n: c.count }) }) : null,
          h("button", { type: "button", class: "btn small ghost err-dismiss", "aria-label": t("learn.error.dismiss_named", { what: heading }), title: t("learn.error.dismiss"), onclick: () => this.dismiss(c) }, "×"),
        ),
        ...body,
      ),
    );
  }

  // said is the server's own message (in English), behind a button: the
  // details, for whoever wants them.
  said(c, id) {
    const code = h("code", { id: `${id}-said`, hidden: !c.said, text: c.ev.message || c.ev.code || "" });
    const btn = h(
      "button",
      {
        type: "button",
        class: "link disclosure err-said-btn",
        "aria-expanded": String(!!c.said),
        "aria-controls": `${id}-said`,
        onclick: () => {
          c.said = !c.said;
          code.hidden = !c.said;
          btn.setAttribute("aria-expanded", String(c.said));
        },
      },
      h("span", { class: "tri", "aria-hidden": "true" }),
      t("learn.error.server_said"),
    );
    return h("div", { class: "err-said" }, btn, code);
  }

  // tlsParts are a failed handshake's own: the certificates the server
  // sent, and a retry without verification when that is what failed.
  tlsParts(c, id) {
    const ev = c.ev;
    if (ev.code !== "tls") return [];
    const parts = [];
    const chain = ev.tls && ev.tls.chain;
    if (chain && chain.length) {
      parts.push(disclosure(t("tls.chain_failed_n", { n: chain.length }), certList(chain, ev.t, null, `err-${c.n}`), `${id}-chain`, "tls-chain err-chain"));
    }
    if (this.retryTLS && verifyFailed(ev) && ev.sock) {
      parts.push(h("p", { class: "err-retry" }, h("button", { type: "button", class: "btn small", title: t("tls.retry_title"), "aria-describedby": id, onclick: () => this.retryTLS(ev, c.epoch) }, t("tls.retry"))));
    }
    return parts;
  }

  eventLink(ev) {
    return h("button", { type: "button", class: "link", onclick: () => this.reveal(ev.seq) }, t("learn.error.see_event"));
  }

  tryText(c) {
    if (c.ev.code === "policy") {
      const g = `error.code.policy.try_${policyGroup(c.ev)}`;
      if (has(g)) return t(g);
    }
    return t(`${c.key}.try`);
  }
}
