// The Code tab: every call of the session in Python and in Go, side by
// side, with how it ended, newest at the bottom; and the whole session as
// a runnable script and program to download or copy. The server renders
// the code from the session's event log (GET /session/{id}/code.json,
// docs/protocol.md "Code"), where the bytes of every send are; this view
// only fetches it, while the tab is shown and after calls and answers, and
// draws it as text (payloads are untrusted: never as HTML).
//
// A replay (replay.js) has no session on the server: the recording itself
// is sent (POST /replay/code.json, the JSON lines file as the body) and
// rendered the same way, once; the tab then shows the calls up to where the
// replay is. A server without that route says so in the tab.

import { $, copyText, h, setText } from "../dom.js";
import { num, t, tn } from "../i18n.js";

/** How long events may keep coming before the code is fetched again. */
const REFETCH_MS = 400;

/** How each call ended, as the server says (export.Snippet.Status). */
const STATUS = {
  ok: "code.status.ok",
  failed: "code.status.failed",
  not_done: "code.status.not_done",
  cancelled: "code.status.cancelled",
  pending: "code.status.pending",
  blocked: "code.status.blocked",
  note: "code.status.note",
};

/** Events that change the calls the tab shows. */
const CHANGES = new Set(["call", "result", "error", "sent", "blocked"]);

export class CodeView {
  /** announce(text) tells screen readers. */
  constructor(announce) {
    this.announce = announce;
    this.panel = $("code-view");
    this.scroller = $("code-scroll");
    this.list = $("code-list");
    this.empty = $("code-empty");
    this.note = $("code-note");
    this.count = $("code-count");
    this.downloads = { python: $("code-dl-py"), go: $("code-dl-go") };
    this.session = ""; // the session's id, from the hello
    this.key = ""; // what reads its code: the owner key or a watch link's secret
    this.data = null; // the last code.json
    this.version = 0; // counts the events that changed the code
    this.fetched = -1; // the version this.data shows
    this.timer = 0;
    this.loading = null; // the fetch under way
    this.dirty = false; // this.data changed since it was drawn
    this.rows = new Map(); // seq -> { li, key }: the calls drawn
    // A replay: the recording (a Blob), the last seq applied, and whether
    // the server cannot render a recording.
    this.file = null;
    this.upTo = 0;
    this.unavailable = ""; // the message saying why a replay's code is not here, if it is not
    this.drawn = ""; // what the list shows in a replay: data and calls, so an unchanged list is not drawn again
    this.blobs = []; // object URLs of a replay's downloads

    $("code-copy-py").addEventListener("click", () => this.copy("python"));
    $("code-copy-go").addEventListener("click", () => this.copy("go"));
    // One listener for every call's copy buttons.
    this.list.addEventListener("click", (e) => {
      const btn = e.target.closest("button[data-copy]");
      if (btn) this.copyCall(Number(btn.closest("li").dataset.seq), btn.dataset.copy);
    });
    document.addEventListener("langchange", () => {
      this.rows.clear();
      this.drawn = "";
      if (this.unavailable) setText(this.note, t(this.unavailable));
      this.dirty = true;
      this.render();
    });
  }

  /**
   * A new session: its code is fetched afresh, under its own id, with key,
   * the owner key or a watch link's secret (docs/protocol.md §15.6).
   */
  newSession(hello, key = "") {
    this.session = hello.session || "";
    this.key = key;
    this.data = null;
    this.version++;
    this.fetched = -1;
    this.rows.clear();
    this.list.replaceChildren();
    const base = `/session/${encodeURIComponent(this.session)}`;
    const q = `?key=${encodeURIComponent(key)}`;
    this.downloads.python.href = `${base}/session.py${q}`;
    this.downloads.go.href = `${base}/session.go${q}`;
    for (const a of Object.values(this.downloads)) a.removeAttribute("aria-disabled");
    this.dirty = true;
    this.schedule();
  }

  /**
   * A replay of file (a Blob of the JSON lines log; null: none): its code
   * is asked for when the tab is shown, and its calls are shown up to the
   * events applied.
   */
  replay(file) {
    this.file = file;
    this.session = "";
    this.data = null;
    this.version++;
    this.fetched = -1;
    this.upTo = 0;
    this.unavailable = ""; // or the message saying why the code is not here
    this.drawn = "";
    this.rows.clear();
    this.list.replaceChildren();
    this.note.hidden = true;
    this.setDownloads(null);
    this.dirty = true;
    if (file && !this.panel.hidden) this.load();
    else this.render();
  }

  /** The events were forgotten (app.js resetViews): they are applied again. */
  reset() {
    if (this.file) {
      this.upTo = 0;
      this.dirty = true;
      return;
    }
    this.data = null;
    this.version++;
    this.fetched = -1;
    this.rows.clear();
    this.list.replaceChildren();
    this.dirty = true;
    this.schedule();
  }

  // setDownloads points the download links at a replay's programs (data),
  // or disables them (null).
  setDownloads(data) {
    for (const u of this.blobs) URL.revokeObjectURL(u);
    this.blobs = [];
    for (const [lang, a] of Object.entries(this.downloads)) {
      if (data && typeof data[lang] === "string") {
        const url = URL.createObjectURL(new Blob([data[lang]], { type: "text/plain;charset=utf-8" }));
        this.blobs.push(url);
        a.href = url;
        a.removeAttribute("aria-disabled");
      } else {
        a.href = "#";
        a.setAttribute("aria-disabled", "true");
      }
    }
  }

  /** Sees every timeline entry; calls and their answers change the code. */
  apply(entry) {
    const ev = entry.ev;
    if (this.file) {
      // A replay's code is the whole recording's: the list shows it up to here.
      if (ev.seq) this.upTo = ev.seq;
      this.dirty = true;
      return;
    }
    if (CHANGES.has(ev.type) || (ev.type === "data" && !ev.auto)) {
      this.version++;
      this.schedule();
    } else if (ev.type === "data" || ev.type === "state") {
      // Live mode's reads and closes change the programs, not the calls.
      this.version++;
    }
  }

  /** The tab was shown: fetch what changed while it was hidden. */
  shown() {
    this.dirty = true;
    if (this.fetched !== this.version && !this.unavailable) this.load();
    else this.render();
  }

  /** Draws the last fetched code, if it changed and the tab is shown. */
  render() {
    if (this.panel.hidden || !this.dirty) return;
    this.dirty = false;
    this.draw();
  }

  // schedule fetches the code soon: at most once per REFETCH_MS, and only
  // while the tab is shown (shown() catches up).
  schedule() {
    if (this.timer || this.panel.hidden || !this.session || this.file) return;
    this.timer = setTimeout(() => {
      this.timer = 0;
      this.load();
    }, REFETCH_MS);
  }

  // load fetches code.json, or joins the fetch under way.
  load() {
    if (!this.session && !this.file) return Promise.resolve();
    if (this.file && (this.unavailable || this.fetched === this.version)) return Promise.resolve();
    if (!this.loading) {
      this.loading = this.fetchOnce().finally(() => {
        this.loading = null;
      });
    }
    return this.loading;
  }

  async fetchOnce() {
    if (this.file) return this.fetchReplay();
    const version = this.version;
    const session = this.session;
    let ok = false;
    try {
      const res = await fetch(`/session/${encodeURIComponent(session)}/code.json?key=${encodeURIComponent(this.key || "")}`, { cache: "no-store" });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const data = await res.json();
      if (session !== this.session) return; // an earlier session's answer
      this.data = data;
      this.fetched = version;
      this.note.hidden = true;
      ok = true;
    } catch (err) {
      if (session !== this.session) return;
      setText(this.note, t("code.loadFailed", { error: err.message }));
      this.note.hidden = false;
    }
    this.dirty = true;
    this.render();
    // Calls made meanwhile are fetched next; a failure waits for the next call.
    if (ok && this.fetched !== this.version) this.schedule();
  }

  // fetchReplay asks the server to render the replay's recording.
  async fetchReplay() {
    const file = this.file;
    const version = this.version;
    try {
      const res = await fetch("/replay/code.json", { method: "POST", body: file, headers: { "Content-Type": "application/jsonl" }, cache: "no-store" });
      if (file !== this.file) return;
      if (res.status === 404 || res.status === 405 || res.status === 501 || res.status === 413) {
        // A server without the route, or one that will not take a log this big.
        this.unavailable = res.status === 413 ? "replay.code.too_big" : "replay.code.unavailable";
        setText(this.note, t(this.unavailable));
        this.note.hidden = false;
      } else if (!res.ok) {
        throw new Error(`HTTP ${res.status}`);
      } else {
        const data = await res.json();
        if (file !== this.file) return;
        this.data = data;
        this.fetched = version;
        this.note.hidden = true;
        this.setDownloads(data);
      }
    } catch (err) {
      if (file !== this.file) return;
      setText(this.note, t("code.loadFailed", { error: err.message }));
      this.note.hidden = false;
    }
    this.dirty = true;
    this.render();
  }

  draw() {
    const data = this.data;
    let calls = data ? data.calls : [];
    let total = data ? data.total : 0;
    if (this.file) {
      // A replay: the calls made up to where it is. calls are in seq order.
      let n = calls.length;
      while (n > 0 && calls[n - 1].seq > this.upTo) n--;
      const key = `${this.version} ${n} ${this.unavailable}`;
      if (key === this.drawn) return;
      this.drawn = key;
      calls = calls.slice(0, n);
      total = total - (data ? data.calls.length : 0) + n;
      this.empty.hidden = calls.length > 0 || !!this.unavailable;
    }
    setText(this.count, total ? tn("code.count", total) : "");
    if (!this.file) this.empty.hidden = calls.length > 0;
    if (data && total > calls.length) {
      setText(this.note, t("code.capped", { shown: num(calls.length), n: num(total) }));
      this.note.hidden = false;
    } else if (data) {
      this.note.hidden = true;
    }
    const box = this.scroller;
    const follow = box.scrollTop + box.clientHeight >= box.scrollHeight - 8;
    const rows = new Map();
    const nodes = calls.map((c) => {
      const key = `${c.status}\u0000${c.error || ""}\u0000${c.python}\u0000${c.go}`;
      let row = this.rows.get(c.seq);
      if (!row || row.key !== key) row = { li: this.row(c), key };
      rows.set(c.seq, row);
      return row.li;
    });
    this.rows = rows;
    this.list.replaceChildren(...nodes);
    if (follow) box.scrollTop = box.scrollHeight;
  }

  // row is one call: its title and outcome, then its Python and its Go.
  row(c) {
    const who = c.sock ? `s${c.sock}.${c.op}` : c.op;
    const status = t(STATUS[c.status] || STATUS.ok, { error: c.error || "" });
    const pane = (lang, label, text) =>
      h(
        "div",
        { class: "code-pane", "data-lang": lang },
        h(
          "div",
          { class: "code-pane-head" },
          h("span", { class: "code-lang", text: label }),
          h("button", {
            type: "button",
            class: "btn small ghost",
            "data-copy": lang,
            text: t("code.copyCall"),
            "aria-label": t(lang === "python" ? "code.copyCallPython" : "code.copyCallGo", { seq: c.seq }),
          }),
        ),
        h("pre", { class: "code-src" }, h("code", { text })),
      );
    return h(
      "li",
      { class: "code-call", dataset: { seq: String(c.seq), status: c.status } },
      h(
        "div",
        { class: "code-call-head" },
        h("span", { class: "code-call-title", text: `${t("code.call", { seq: c.seq })} · ${who}` }),
        c.auto ? h("span", { class: "code-auto", text: t("code.auto") }) : null,
        h("span", { class: "code-status", text: status }),
      ),
      h("div", { class: "code-pair" }, pane("python", t("code.python"), c.python), pane("go", t("code.go"), c.go)),
    );
  }

  // copy copies the whole script or program, fetched afresh if calls came
  // since.
  async copy(lang) {
    try {
      // The programs change with every event: fetch them as they are now.
      await this.load();
      if (this.fetched !== this.version) await this.load();
      if (!this.data) throw new Error(t("code.noSession"));
      await copyText(this.data[lang]);
      this.announce(t(lang === "python" ? "code.copiedPython" : "code.copiedGo"));
    } catch (err) {
      this.announce(t("code.copyFailed", { error: err.message }));
    }
  }

  async copyCall(seq, lang) {
    const c = this.data && this.data.calls.find((x) => x.seq === seq);
    if (!c) return;
    try {
      await copyText(c[lang]);
      this.announce(t("code.copiedCall"));
    } catch (err) {
      this.announce(t("code.copyFailed", { error: err.message }));
    }
  }
}
