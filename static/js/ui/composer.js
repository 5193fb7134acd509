// The composer: what to send, from which socket, to where (UDP), in which
// format, with a live preview of the exact bytes; Enter sends, Shift+Enter
// is a new line, ↑/↓ walk the history; repeat N times with an interval.
// When the language changes, the socket list, the preview and the progress
// are worded again.

import { ParseError, byteCount, hex, parsePayload } from "../bytes.js";
import { stateName } from "../describe.js";
import { $, setText } from "../dom.js";
import { msg, t } from "../i18n.js";
import { splitAddr } from "../protocol.js";

const HISTORY_KEY = "playground.history.v1";
const HISTORY_MAX = 100;
const PREVIEW_BYTES = 48;
const EOL = { lf: "\n", crlf: "\r\n" };

export class Composer {
  /** send(sock, bytes, dest) sends once and returns the answer's promise; dest is { host, port } for UDP. */
  constructor(store, send, announce) {
    this.store = store;
    this.sendOnce = send;
    this.announce = announce;
    this.form = $("composer");
    this.sel = $("send-sock");
    this.host = $("send-host");
    this.port = $("send-port");
    this.eol = $("send-eol");
    this.text = $("payload");
    this.preview = $("preview");
    this.count = $("send-count");
    this.every = $("send-every");
    this.progress = $("send-progress");
    this.stopBtn = $("send-stop");
    this.submit = $("send-submit");
    this.version = -1;
    this.bytes = null; // what the input spells now, or null if it is invalid
    this.run = null; // the repeat in progress: { stop: boolean }
    this.history = loadHistory();
    this.hpos = this.history.length; // == length: the draft
    this.draft = "";

    this.form.addEventListener("submit", (e) => {
      e.preventDefault();
      this.start();
    });
    this.form.addEventListener("input", () => this.refresh());
    this.form.addEventListener("change", () => this.refresh());
    this.sel.addEventListener("change", () => this.onSocketChange());
    this.stopBtn.addEventListener("click", () => this.stop());
    this.text.addEventListener("keydown", (e) => this.onKey(e));
    document.addEventListener("langchange", () => {
      this.sig = null;
      this.sync(true);
      setText(this.progress, msg(this.progressText));
    });
    this.refresh();
  }

  get format() {
    return this.form.elements.format.value;
  }

  set format(v) {
    this.form.elements.format.value = v;
  }

  selected() {
    return this.store.sockets.get(this.sel.value);
  }

  /**
   * Selects a socket and puts the cursor in the message box. A socket that
   * cannot send yet (its "bound" or "established" is still on its way) is
   * selected as soon as it can, with the destination given.
   */
  focusOn(sock, dest) {
    this.want = { key: sock.key, dest };
    this.sync(true);
    this.text.focus();
  }

  /** Keeps the socket list in step with the sockets that can send. */
  sync(force = false) {
    if (!force && this.version === this.store.version) return;
    this.version = this.store.version;
    const cur = this.sel.value;
    const items = [];
    for (const s of this.store.sockets.values()) {
      if (s.epoch !== this.store.epoch || !s.canSend) continue;
      const what = s.kind === "udp" ? `UDP ${s.local || t("composer.unbound")}` : `TCP ${s.local} → ${s.remote}`;
      items.push([s.key, t("composer.socket", { n: s.id, what })]);
    }
    // The socket in use stays selected when it can no longer send, so that
    // the next Enter does not go to another one unnoticed.
    const gone = cur && !items.some(([k]) => k === cur) ? this.store.sockets.get(cur) : null;
    if (gone) {
      const why = gone.epoch !== this.store.epoch ? t("card.earlier") : stateName(gone.state || "closed");
      items.push([cur, t("composer.cannot", { n: gone.id, why })]);
      if (!this.goneSaid) this.announce(t("composer.gone", { n: gone.id }));
      this.goneSaid = true;
    } else this.goneSaid = false;
    if (items.length === 0) items.push(["", t("composer.none")]);
    const sig = items.map((i) => i.join("=")).join("\n");
    if (sig !== this.sig) {
      // Rebuilt only when the list changed: a rebuild closes an open dropdown.
      this.sig = sig;
      this.sel.replaceChildren(
        ...items.map(([k, text]) => {
          const o = document.createElement("option");
          o.value = k;
          o.textContent = text;
          return o;
        }),
      );
      this.sel.disabled = items[0][0] === "";
      this.sel.value = cur;
    }
    let dest;
    if (this.want && items.some(([k]) => k === this.want.key)) {
      this.sel.value = this.want.key;
      dest = this.want.dest;
      this.want = null;
    } else if (!cur && items[0][0] !== "") {
      this.sel.value = items[items.length - 1][0]; // the newest is the likeliest choice
    } else if (![...this.sel.options].some((o) => o.value === this.sel.value)) {
      this.sel.value = items[items.length - 1][0];
    }
    if (this.sel.value !== cur || dest) this.onSocketChange(dest);
    else this.refresh();
  }

  onSocketChange(dest) {
    const s = this.selected();
    const udp = s && s.kind === "udp";
    for (const el of this.form.querySelectorAll(".udp-only")) el.hidden = !udp;
    if (udp) {
      const d = dest || (s.peer ? splitAddr(s.peer) : null);
      if (d) {
        this.host.value = d.host;
        this.port.value = String(d.port);
      }
    }
    this.refresh();
  }

  /** Re-reads the inputs: the bytes, the preview, whether Send may be pressed. */
  refresh() {
    let problem = "";
    this.bytes = null;
    try {
      this.bytes = parsePayload(this.format, this.text.value, EOL[this.eol.value] || "");
    } catch (err) {
      if (!(err instanceof ParseError)) throw err;
      problem = err.message;
    }
    const limit = this.store.limits ? this.store.limits.max_send : Infinity;
    if (this.bytes && this.bytes.length > limit) problem = t("composer.too_big", { bytes: byteCount(this.bytes.length), limit: byteCount(limit) });
    if (problem) {
      setText(this.preview, t("composer.cannot_send", { why: problem }));
      this.preview.classList.add("bad");
      this.text.setAttribute("aria-invalid", "true");
    } else {
      setText(this.preview, `${byteCount(this.bytes.length)}${this.bytes.length ? `: ${hex(this.bytes, PREVIEW_BYTES)}` : ""}`);
      this.preview.classList.remove("bad");
      this.text.removeAttribute("aria-invalid");
    }
    const s = this.selected();
    let why = problem;
    if (!s) why ||= t("composer.why.no_socket");
    else if (!s.canSend) why ||= t("composer.why.cannot", { n: s.id, state: s.epoch !== this.store.epoch ? t("timeline.earlier") : stateName(s.state) });
    else if (s.kind === "udp") {
      const port = Number(this.port.value);
      const badHost = !this.host.value.trim();
      const badPort = !badHost && (!Number.isInteger(port) || port < 1 || port > 65535);
      const bad = badHost ? t("composer.why.host") : badPort ? t("composer.why.port") : "";
      if (badPort && this.port.value !== "") this.port.setAttribute("aria-invalid", "true");
      else this.port.removeAttribute("aria-invalid");
      if (bad && !problem) setText(this.preview, `${this.preview.textContent} · ${t("composer.to_send", { what: bad })}`);
      why ||= bad;
    }
    this.submit.disabled = !!why || !!this.run;
    this.submit.title = why;
  }

  onKey(e) {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      this.start();
      return;
    }
    if (e.shiftKey || e.altKey || e.ctrlKey || e.metaKey) return; // selecting text, not history
    const box = this.text;
    if (e.key === "ArrowUp" && !box.value.slice(0, box.selectionStart).includes("\n")) {
      if (this.hpos === 0) return;
      if (this.hpos === this.history.length) this.draft = { text: box.value, format: this.format };
      this.hpos--;
      this.recall(this.history[this.hpos]);
      e.preventDefault();
    } else if (e.key === "ArrowDown" && !box.value.slice(box.selectionEnd).includes("\n")) {
      if (this.hpos >= this.history.length) return;
      this.hpos++;
      this.recall(this.hpos === this.history.length ? this.draft : this.history[this.hpos]);
      e.preventDefault();
    }
  }

  recall(item) {
    this.text.value = item.text;
    if (item.format) this.format = item.format;
    this.text.setSelectionRange(item.text.length, item.text.length);
    this.refresh();
  }

  remember() {
    const item = { text: this.text.value, format: this.format };
    const last = this.history[this.history.length - 1];
    if (!last || last.text !== item.text || last.format !== item.format) {
      this.history.push(item);
      if (this.history.length > HISTORY_MAX) this.history.splice(0, this.history.length - HISTORY_MAX);
      try {
        localStorage.setItem(HISTORY_KEY, JSON.stringify(this.history));
      } catch {
        // storage full or forbidden: the history lives for this page only
      }
    }
    this.hpos = this.history.length;
    this.draft = { text: "", format: this.format };
  }

  /** Sends the message, once or as a repeat. */
  async start() {
    this.refresh();
    if (this.submit.disabled) {
      if (this.submit.title) this.announce(t("composer.not_sent", { why: this.submit.title }));
      return;
    }
    this.goneSaid = false;
    const s = this.selected();
    const bytes = this.bytes;
    const dest = s.kind === "udp" ? { host: this.host.value.trim(), port: Number(this.port.value) } : null;
    const n = Math.max(1, Math.min(100000, Math.floor(Number(this.count.value) || 1)));
    const every = Math.max(0, Math.floor(Number(this.every.value) || 0));
    this.remember();
    this.text.value = "";
    this.refresh();
    if (n === 1) {
      await this.sendOnce(s, bytes, dest).catch(() => {});
      return;
    }
    const run = { stop: false, timer: 0, wake: null };
    this.run = run;
    this.stopBtn.hidden = false;
    this.refresh();
    let sent = 0;
    let shown = 0;
    let failed = "";
    for (let i = 0; i < n && !run.stop; i++) {
      if (i > 0 && every > 0) {
        await new Promise((r) => {
          run.wake = r;
          run.timer = setTimeout(r, every);
        });
        if (run.stop) break;
      }
      // Each send waits for its answer, so a repeat never outruns the send queue.
      try {
        await this.sendOnce(s, bytes, dest);
        sent++;
      } catch (err) {
        failed = err.message;
        break;
      }
      const now = performance.now();
      if (now - shown >= 250) {
        shown = now;
        const done = sent;
        // The counts as typed in Repeat: no grouping.
        this.showProgress(() => t("composer.progress", { sent: done, n }));
      }
    }
    this.run = null;
    this.stopBtn.hidden = true;
    const stopped = run.stop;
    this.showProgress(() =>
      failed
        ? t("composer.stopped_failed", { sent, n, why: failed })
        : stopped
          ? t("composer.stopped", { sent, n })
          : t("composer.all_sent", { n }),
    );
    this.announce(msg(this.progressText));
    this.refresh();
  }

  // showProgress shows how a repeat goes; text words it in the page's language.
  showProgress(text) {
    this.progressText = text;
    setText(this.progress, msg(text));
  }

  stop() {
    if (!this.run) return;
    this.run.stop = true;
    clearTimeout(this.run.timer);
    if (this.run.wake) this.run.wake();
  }
}

function loadHistory() {
  try {
    const h = JSON.parse(localStorage.getItem(HISTORY_KEY) || "[]");
    return Array.isArray(h) ? h.filter((x) => x && typeof x.text === "string").slice(-HISTORY_MAX) : [];
  } catch {
    return [];
  }
}
