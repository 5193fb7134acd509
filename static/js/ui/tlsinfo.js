// TLS (docs/protocol.md §16.4) on the page: the open form's TLS option (SNI,
// verify, ALPN), the TLS part of a connection's card — what the handshake
// negotiated and the server's certificate chain, each certificate with its
// names, validity, key and SHA-256 fingerprint — and, when a handshake
// failed on verification, "Retry without verification". The error cards
// (learn-errors.js) show the chain of a failed handshake with certList.

import { copyText, h, setText } from "../dom.js";
import { currentLang, t } from "../i18n.js";
import { tlsSummary, usText, verifyFailed } from "../netkit.js";

/**
 * TLSOption is the open form's "TLS" checkbox and the fields it reveals,
 * shown while the form's kind is "connect". read(host) gives what to add
 * to the connect request.
 */
export class TLSOption {
  constructor(form, host) {
    this.form = form;
    this.host = host;
    const field = (key, input) => h("label", { class: "field" }, h("span", { i18n: key }), input);
    this.on = h("input", { type: "checkbox", id: "open-tls", "aria-controls": "open-tls-fields" });
    this.sni = h("input", { type: "text", id: "open-sni", autocomplete: "off", spellcheck: "false", placeholder: host.value });
    this.alpn = h("input", { type: "text", id: "open-alpn", autocomplete: "off", spellcheck: "false", placeholder: "h2, http/1.1" });
    this.verify = h("input", { type: "checkbox", id: "open-verify", checked: true });
    this.fields = h(
      "div",
      { id: "open-tls-fields", class: "tls-fields", hidden: true },
      field("tls.sni", this.sni),
      field("tls.alpn", this.alpn),
      h("label", { class: "tls-verify", i18nAttr: { title: "tls.verify_title" } }, this.verify, " ", h("span", { i18n: "tls.verify" })),
      h("p", { class: "hint tls-hint", i18n: "tls.form_hint" }),
    );
    this.row = h(
      "div",
      { class: "tls-option" },
      h("label", { class: "tls-toggle", i18nAttr: { title: "tls.toggle_title" } }, this.on, " ", h("span", { i18n: "tls.toggle" })),
      this.fields,
    );
    form.querySelector("#open-hint").before(this.row);
    this.on.addEventListener("change", () => {
      this.fields.hidden = !this.on.checked;
      this.on.setAttribute("aria-expanded", String(this.on.checked));
    });
    this.on.setAttribute("aria-expanded", "false");
    host.addEventListener("input", () => (this.sni.placeholder = host.value.trim()));
    for (const r of form.elements.kind) r.addEventListener("change", () => this.sync());
    this.sync();
  }

  sync() {
    this.row.hidden = this.form.elements.kind.value !== "connect";
    this.sni.placeholder = this.host.value.trim();
  }

  /**
   * read returns { tls } for a TLS connect, {} for a plain one, or
   * { problem, field } when a field is wrong (problem words it).
   */
  read() {
    if (this.row.hidden || !this.on.checked) return {};
    const tls = {};
    const sni = this.sni.value.trim();
    if (sni) {
      if (sni.length > 253 || /\s/.test(sni)) return { problem: () => t("tls.bad_sni"), field: this.sni };
      tls.sni = sni;
    }
    if (!this.verify.checked) tls.verify = false;
    const alpn = this.alpn.value
      .split(",")
      .map((p) => p.trim())
      .filter(Boolean);
    if (alpn.length) {
      const enc = new TextEncoder();
      if (alpn.length > 8 || alpn.some((p) => enc.encode(p).length > 255)) return { problem: () => t("tls.bad_alpn"), field: this.alpn };
      tls.alpn = alpn;
    }
    return { tls };
  }
}

/**
 * retryRequest is the connect that retries socket s's TLS connect without
 * verification: { host, port, extra } for app.js's open, or null.
 */
export function retryRequest(s) {
  const a = s.connectAsk;
  if (!a || !s.tlsAsk) return null;
  const tls = { verify: false };
  if (s.tlsAsk.sni) tls.sni = s.tlsAsk.sni;
  const offer = s.tlsAsk.alpn_offer || s.tlsAsk.alpn;
  if (Array.isArray(offer) && offer.length) tls.alpn = offer;
  const extra = { tls };
  if (a.family) extra.family = a.family;
  if (a.timeout_ms) extra.timeout_ms = a.timeout_ms;
  return { host: a.host, port: a.port, extra };
}

/** Whether socket s's TLS connect failed on verification, so that a retry without it is offered. */
export function canRetry(s) {
  return !!(s.tlsFail && s.tlsAsk && s.tlsAsk.verify !== false && verifyFailed(s.tlsFail) && s.connectAsk);
}

/** Builds the TLS part of a card. cards.actions.retryTLS(s) retries without verification. */
export function createTLS(cards, s, uid) {
  const refs = { chain: null, lang: "" };
  refs.line = h("span", { class: "tls-text" });
  refs.sub = h("p", { class: "hint tls-sub", hidden: true });
  refs.count = h("span", {});
  refs.list = h("ol", { class: "certs", i18nAttr: { "aria-label": "tls.chain" } });
  refs.details = disclosure(refs.count, refs.list, `chain-${uid}`, "tls-chain");
  refs.details.hidden = true;
  refs.retry = h("button", { type: "button", class: "btn small", hidden: true, onclick: () => cards.actions.retryTLS(s), i18n: "tls.retry", i18nAttr: { title: "tls.retry_title" } });
  refs.box = h(
    "div",
    { class: "tls", hidden: true, dataset: { field: "tls" } },
    h("p", { class: "tls-line" }, h("span", { class: "tls-lock", "aria-hidden": "true" }), refs.line),
    refs.sub,
    refs.details,
    h("div", { class: "tls-actions" }, refs.retry),
  );
  refs.uid = uid;
  return refs;
}

/** Brings the TLS part of a card up to date. */
export function updateTLS(cards, s, refs) {
  refs.box.hidden = !s.tlsAsk;
  if (!s.tlsAsk) return;
  let state = "wait";
  let text;
  if (s.tls) {
    state = s.tls.verified ? "ok" : "unverified";
    text = tlsSummary(s.tls);
  } else if (s.tlsFail) {
    state = "bad";
    text = t("tls.failed");
  } else if (s.state === "handshaking") text = t("tls.handshaking");
  else if (s.final) {
    state = "bad";
    text = t("tls.never");
  } else text = t("tls.before");
  setText(refs.line, text);
  refs.box.dataset.tls = state;
  const sub = [];
  const sni = (s.tls && s.tls.sni) || s.tlsAsk.sni;
  if (sni) sub.push(`SNI ${sni}`);
  if (s.tls && s.tls.handshake_us) sub.push(t("tls.handshake_took", { time: usText(s.tls.handshake_us) }));
  if (s.tlsAsk.verify === false) sub.push(t("tls.no_verify"));
  refs.sub.hidden = sub.length === 0;
  setText(refs.sub, sub.join(" · "));
  const chain = (s.tls && s.tls.chain) || (s.tlsFail && s.tlsFail.tls && s.tlsFail.tls.chain) || null;
  refs.details.hidden = !chain || chain.length === 0;
  if (chain && (chain !== refs.chain || refs.lang !== currentLang())) {
    refs.chain = chain;
    refs.lang = currentLang();
    setText(refs.count, t(s.tls ? "tls.chain_n" : "tls.chain_failed_n", { n: chain.length }));
    refs.list.replaceChildren(...certItems(chain, s.tlsAt, cards.actions.announce, refs.uid));
  }
  refs.retry.hidden = !canRetry(s) || s.epoch !== cards.store.epoch;
}

/**
 * disclosure is the page's fold (as step.js's "More calls"): a button
 * with aria-expanded that shows and hides body. label is a node or text.
 * Returns a wrapper holding both; wrapper.open(on) opens or closes it.
 */
export function disclosure(label, body, id, cls = "") {
  body.id = id;
  body.hidden = true;
  const btn = h("button", { type: "button", class: "link disclosure", "aria-expanded": "false", "aria-controls": id }, h("span", { class: "tri", "aria-hidden": "true" }), label);
  const box = h("div", { class: `fold ${cls}` }, btn, body);
  box.open = (on) => {
    body.hidden = !on;
    btn.setAttribute("aria-expanded", String(on));
  };
  btn.addEventListener("click", () => box.open(body.hidden));
  box.button = btn;
  return box;
}

/** The certificates of a chain as a list (an <ol>), for an error card: at is when the chain was seen (µs). */
export function certList(chain, at, announce, uid) {
  return h("ol", { class: "certs", i18nAttr: { "aria-label": "tls.chain" } }, ...certItems(chain, at, announce, uid));
}

// certItems are the list items of a chain, leaf first. A certificate's
// validity is judged at the time of the handshake (at, µs), so a replay
// says what was true then.
function certItems(chain, at, announce, uid) {
  const when = at ? at / 1000 : Date.now();
  return chain.map((c, i) => {
    const id = `cert-${uid}-${i}`;
    const from = Date.parse(c.not_before);
    const to = Date.parse(c.not_after);
    let mark = null;
    if (to < when) mark = h("span", { class: "cert-mark bad", text: t("tls.expired") });
    else if (from > when) mark = h("span", { class: "cert-mark bad", text: t("tls.not_yet") });
    const names = [...(c.dns || []), ...(c.ips || [])];
    const row = (key, ...value) => [h("dt", { text: t(key) }), h("dd", {}, ...value)];
    const fp = (c.sha256 || "").toUpperCase().match(/.{1,2}/g) || [];
    const copy = h("button", {
      type: "button",
      class: "btn small ghost cert-copy",
      text: t("tls.copy"),
      "aria-label": t("tls.copy_named", { n: i + 1 }),
      onclick: () =>
        copyText(c.sha256 || "")
          .then(() => announce && announce(t("tls.copied")))
          .catch((err) => announce && announce(err.message)),
    });
    const role = i === 0 ? t("tls.leaf") : c.ca ? t("tls.ca") : t("tls.intermediate");
    return h(
      "li",
      { class: "cert" },
      h("p", { class: "cert-head", id }, h("span", { class: "cert-role", text: `${i + 1} · ${role}` }), " ", h("strong", { class: "cert-subject", text: c.subject || "—" }), c.ca ? h("span", { class: "cert-mark", text: "CA" }) : null),
      h(
        "dl",
        { class: "cert-facts", "aria-labelledby": id },
        ...row("tls.issuer", c.issuer || "—"),
        ...row("tls.valid", `${day(c.not_before)} → ${day(c.not_after)}`, mark ? " " : "", mark),
        ...(names.length ? row("tls.names", names.join(", ")) : []),
        ...(c.key ? row("tls.key", c.key) : []),
        ...(c.serial ? row("tls.serial", c.serial) : []),
        ...row("tls.fingerprint", h("code", { class: "cert-fp" }, ...fp.flatMap((x, k) => (k < fp.length - 1 ? [`${x}:`, h("wbr")] : [x]))), " ", copy),
      ),
    );
  });
}

// day writes an RFC 3339 time as "2026-11-25 03:43 UTC".
function day(s) {
  const d = new Date(s);
  if (Number.isNaN(d.getTime())) return s || "?";
  const p = (n) => String(n).padStart(2, "0");
  return `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())} UTC`;
}
