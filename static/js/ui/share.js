// The session's own controls in the header (docs/protocol.md §15): Share
// (watch links, with their expiry and watchers, and the number watching),
// Export (the session's log, a Wireshark capture, the code) and End session.
// Each opens a panel (an HTML popover: Esc and a click outside close it).
// The watch links are what the server last said in a "shares" message; the
// page keeps nothing of its own about them.

import { $, copyText, h, setText } from "../dom.js";
import { t, tn } from "../i18n.js";
import { clockLeft } from "./status.js";

/** The expiries offered, in seconds, with their names. */
const EXPIRIES = { 900: "share.expiry.15m", 3600: "share.expiry.1h", 14400: "share.expiry.4h", 86400: "share.expiry.24h" };

/** "59:43", or "3:59:43" beyond an hour. */
function left(ms) {
  const s = Math.max(0, Math.ceil(ms / 1000));
  return s >= 3600 ? `${Math.floor(s / 3600)}:${clockLeft((s % 3600) * 1000).padStart(5, "0")}` : clockLeft(ms);
}

export class Share {
  /**
   * deps: watching (this page watches someone's session), request(header)
   * (a promise of the answer), end() (asks the server to end the session),
   * openCount() (the session's open sockets), announce(text).
   */
  constructor(deps) {
    this.d = deps;
    this.links = []; // the last shares message's links
    this.watchers = 0;
    this.online = false;
    this.ticker = 0;
    this.badge = $("watching");
    this.downloads = {
      log: { a: $("dl-log"), path: "log.jsonl", ext: "jsonl" },
      pcap: { a: $("dl-pcap"), path: "capture.pcapng", ext: "pcapng" },
      python: { a: $("dl-py"), path: "session.py", ext: "py" },
      go: { a: $("dl-go"), path: "session.go", ext: "go" },
    };
    for (const d of Object.values(this.downloads)) d.a.addEventListener("click", (e) => d.a.getAttribute("aria-disabled") === "true" && e.preventDefault());

    if (deps.watching) return; // a watcher shares nothing and ends nothing

    this.panel = $("share-panel");
    this.form = $("share-form");
    this.expiry = $("share-expiry");
    this.createBtn = $("share-create");
    this.list = $("share-links");
    this.none = $("share-none");
    this.problem = $("share-error");
    this.form.addEventListener("submit", (e) => {
      e.preventDefault();
      this.create(Number(this.expiry.value));
    });
    this.panel.addEventListener("toggle", (e) => {
      clearInterval(this.ticker);
      if (e.newState !== "open") return;
      this.draw();
      this.ticker = setInterval(() => this.tick(), 1000);
    });
    // One listener for every link's buttons.
    this.list.addEventListener("click", (e) => {
      const btn = e.target.closest("button[data-act]");
      if (!btn) return;
      const li = btn.closest("li");
      if (btn.dataset.act === "copy") this.copy(li);
      else this.revoke(li.dataset.link, Number(li.dataset.n));
    });
    this.list.addEventListener("focusin", (e) => {
      if (e.target.matches("input")) e.target.select();
    });

    this.endPanel = $("end-panel");
    this.endAbout = $("end-about");
    this.endPanel.addEventListener("toggle", (e) => {
      if (e.newState !== "open") return;
      this.wordEnd();
      $("end-cancel").focus();
    });
    $("end-cancel").addEventListener("click", () => this.endPanel.hidePopover());
    $("end-confirm").addEventListener("click", () => {
      this.endPanel.hidePopover();
      if (this.d.end()) this.d.announce(t("endsession.ending"));
    });
    document.addEventListener("langchange", () => {
      this.wordBadge();
      this.draw();
      this.wordEnd();
    });
    this.setOnline(false);
  }

  /** A connection began: the downloads are this session's, with key K (§15.6). */
  hello(hello, key) {
    const base = `/session/${encodeURIComponent(hello.session)}`;
    const short = hello.session.slice(0, 8).toLowerCase();
    for (const d of Object.values(this.downloads)) {
      d.a.href = `${base}/${d.path}?key=${encodeURIComponent(key)}`;
      d.a.setAttribute("download", `playground-${short}.${d.ext}`);
      d.a.removeAttribute("aria-disabled");
    }
    const ws = document.getElementById("watch-session");
    if (ws) ws.textContent = hello.session.slice(0, 8);
    this.setOnline(true);
  }

  /** The WebSocket went: nothing can be asked of the server meanwhile. */
  offline() {
    this.setOnline(false);
  }

  /** The session is over: its links and downloads went with it. */
  ended() {
    this.setOnline(false);
    this.update({ links: [], watchers: 0 });
    for (const d of Object.values(this.downloads)) d.a.setAttribute("aria-disabled", "true");
    for (const id of ["share-btn", "end-btn"]) document.getElementById(id)?.setAttribute("disabled", "");
    for (const p of [this.panel, this.endPanel]) if (p?.matches(":popover-open")) p.hidePopover();
  }

  setOnline(on) {
    this.online = on;
    if (this.d.watching) return;
    this.createBtn.disabled = !on;
    for (const b of this.list.querySelectorAll('button[data-act="revoke"]')) b.disabled = !on;
    $("end-confirm").disabled = !on;
  }

  /** The links now, from a "shares" message (§15.4). */
  update(shares) {
    const before = this.watchers;
    this.links = shares.links || [];
    this.watchers = shares.watchers || 0;
    this.wordBadge();
    if (this.watchers !== before) this.d.announce(tn("share.watching", this.watchers));
    this.draw();
  }

  wordBadge() {
    this.badge.hidden = this.watchers === 0;
    this.badge.dataset.n = String(this.watchers);
    setText(this.badge, tn("share.watching", this.watchers));
  }

  async create(seconds) {
    this.setProblem("");
    const had = new Set(this.links.map((l) => l.link));
    this.createBtn.disabled = true;
    try {
      const res = await this.d.request({ op: "share", expires_s: seconds });
      const made = (res.links || []).find((l) => !had.has(l.link));
      this.d.announce(t("share.created", { time: t(EXPIRIES[seconds] || "share.expiry.1h") }));
      // The new link's copy button takes the focus: copying is the next step.
      if (made) this.list.querySelector(`li[data-link="${CSS.escape(made.link)}"] button[data-act="copy"]`)?.focus();
    } catch (err) {
      this.setProblem(t("share.failed", { why: err.message }));
    } finally {
      this.createBtn.disabled = !this.online;
    }
  }

  async revoke(link, n) {
    this.setProblem("");
    try {
      await this.d.request({ op: "unshare", link });
      this.d.announce(t("share.revoked", { n }));
      this.createBtn.focus();
    } catch (err) {
      this.setProblem(t("share.failed", { why: err.message }));
    }
  }

  // copy copies a link; where the browser refuses, the link is selected for
  // the person to copy.
  async copy(li) {
    const input = li.querySelector("input");
    try {
      await copyText(input.value);
      this.d.announce(t("share.copied"));
      li.dataset.copied = "true";
      setTimeout(() => delete li.dataset.copied, 1500);
    } catch {
      input.focus();
      input.select();
      this.setProblem(t("share.copy_select"));
    }
  }

  setProblem(text) {
    setText(this.problem, text);
    this.problem.hidden = !text;
  }

  /** The watch link's address for a person to open. */
  static url(watch) {
    return `${location.origin}/w/${encodeURIComponent(watch)}`;
  }

  // draw shows the links; rows that are still there keep their elements,
  // so that a focused button keeps the focus.
  draw() {
    if (this.d.watching) return;
    this.none.hidden = this.links.length > 0;
    const rows = new Map([...this.list.children].map((li) => [li.dataset.link, li]));
    const nodes = this.links.map((l, i) => {
      let li = rows.get(l.link);
      if (!li || li.dataset.lang !== document.documentElement.lang) li = this.row(l);
      li.dataset.n = String(i + 1);
      this.wordRow(li, l, i + 1);
      return li;
    });
    const focused = this.list.contains(document.activeElement) ? document.activeElement : null;
    this.list.replaceChildren(...nodes);
    if (focused && !this.list.contains(focused)) this.createBtn.focus();
    this.setOnline(this.online);
  }

  row(l) {
    const input = h("input", { type: "text", readonly: true, class: "share-url", value: Share.url(l.watch), spellcheck: "false" });
    return h(
      "li",
      { class: "share-link", dataset: { link: l.link, lang: document.documentElement.lang } },
      h("label", { class: "share-url-label" }, h("span", { class: "share-name" }), input),
      h(
        "div",
        { class: "share-row" },
        h("span", { class: "share-meta hint" }),
        h("button", { type: "button", class: "btn small primary", "data-act": "copy", text: t("share.copy") }),
        h("button", { type: "button", class: "btn small ghost danger", "data-act": "revoke", text: t("share.revoke") }),
      ),
    );
  }

  wordRow(li, l, n) {
    setText(li.querySelector(".share-name"), t("share.link_label", { n }));
    li.querySelector('[data-act="copy"]').setAttribute("aria-label", t("share.copy_label", { n }));
    li.querySelector('[data-act="revoke"]').setAttribute("aria-label", t("share.revoke_label", { n }));
    li.dataset.expires = String(l.expires || 0);
    li.dataset.watchers = String(l.watchers || 0);
    this.wordMeta(li);
  }

  wordMeta(li) {
    const ms = Number(li.dataset.expires) / 1000 - Date.now();
    const parts = [ms > 0 ? t("share.expires_in", { left: left(ms) }) : t("share.expired")];
    parts.push(tn("share.link_watchers", Number(li.dataset.watchers)));
    setText(li.querySelector(".share-meta"), parts.join(" · "));
    li.classList.toggle("expired", ms <= 0);
  }

  tick() {
    for (const li of this.list.children) this.wordMeta(li);
  }

  wordEnd() {
    if (!this.endAbout) return;
    const n = this.d.openCount();
    setText(this.endAbout, n ? tn("endsession.about", n) : t("endsession.about_none"));
  }
}

