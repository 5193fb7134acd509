// The composer: what to send, from which socket, to where (UDP), in which
// format, with a live preview of the exact bytes; Enter sends, Shift+Enter
// is a new line, ↑/↓ walk the history. A template (docs/protocol.md §16.1)
// is expanded by the server: the preview shows what its first send would
// be. Repeat N times (0: until stopped) with an interval is the server's
// repeat (§16.2): the progress is counted from its events, so it carries on
// across a reload. When the language changes, the socket list, the preview
// and the progress are worded again.

import { ParseError, byteCount, hex, parsePayload, toBase64 } from "../bytes.js";
import { stateName } from "../describe.js";
import { $, h, setText } from "../dom.js";
import { msg, t } from "../i18n.js";
import { splitAddr } from "../protocol.js";
import { PLACEHOLDERS, expandTemplate, parseTemplate, templateEOL, varies } from "../template.js";
import { repeatRunning } from "../toolkit.js";

const HISTORY_KEY = "playground.history.v1";
const HISTORY_MAX = 100;
const PREVIEW_BYTES = 48;
const EOL = { lf: "\n", crlf: "\r\n" };

export class Composer {
  /**
   * io: { send(sock, payload, dest), request(sock, header), save(snapshot) }.
   * send sends once and returns the answer's promise: payload is { bytes }
   * or { template }, dest { host, port } for UDP. request(sock, header,
   * known) makes any other request about a socket (repeat, stop); known is
   * the bytes each send of a repeat carries. save(snapshot) offers to keep
   * what the composer holds (ui/payloads.js).
   */
  constructor(store, io, announce) {
    this.store = store;
    this.io = io;
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
    this.saveBtn = $("send-save");
    this.help = $("template-help");
    this.helpBtn = $("template-help-btn");
    this.version = -1;
    this.bytes = null; // what the input spells now (a template: its first send), or null if it is invalid
    this.template = null; // the template's text to send, when the format is "template"
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
    this.saveBtn.addEventListener("click", () => this.io.save(this.snapshot()));
    this.text.addEventListener("keydown", (e) => this.onKey(e));
    this.helpBtn.addEventListener("click", () => this.toggleHelp());
    this.help.addEventListener("keydown", (e) => {
      if (e.key === "Escape") {
        this.toggleHelp(false);
        this.helpBtn.focus();
      }
    });
    this.fillHelp();
    document.addEventListener("langchange", () => {
      this.sig = null;
      this.fillHelp();
      this.sync(true);
      setText(this.progress, msg(this.progressText));
    });
    this.refresh();
  }

  // fillHelp lists the placeholders, each a button that puts it where the
  // caret is.
  fillHelp() {
    const list = this.help.querySelector("ul");
    list.replaceChildren(
      ...PLACEHOLDERS.map((p) =>
        h(
          "li",
          {},
          h("button", { type: "button", class: "ph", "aria-label": t("template.insert", { ph: p.text }), onclick: () => this.insert(p.text) }, h("code", {}, p.text)),
          h("span", { class: "ph-text" }, t(p.key), h("span", { class: "ph-eg" }, t("template.example", { example: p.example }))),
        ),
      ),
    );
  }

  toggleHelp(open = this.help.hidden) {
    this.help.hidden = !open;
    this.helpBtn.setAttribute("aria-expanded", String(open));
  }

  // insert puts text at the message's caret, as if typed.
  insert(text) {
    const box = this.text;
    const a = box.selectionStart ?? box.value.length;
    const b = box.selectionEnd ?? a;
    box.setRangeText(text, a, b, "end");
    box.focus();
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

  /** Shows how the selected socket's repeat goes; called every frame. */
  tick() {
    const s = this.selected();
    const r = s && s.repeat;
    const running = repeatRunning(s);
    if (this.stopBtn.hidden === running) this.stopBtn.hidden = !running;
    if (!r) {
      if (this.progressFor) this.showProgress("");
      this.progressFor = null;
      return;
    }
    this.progressFor = s;
    const text = running ? () => repeatProgress(r) : () => repeatEnd(r, s);
    if (text() !== this.progress.textContent) this.showProgress(text);
    if (this.wasRunning !== running) {
      this.wasRunning = running;
      this.refresh();
    }
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
    this.template = null;
    let first = false; // the preview is a template's first send
    try {
      if (this.format === "template") {
        const src = this.text.value + templateEOL(this.eol.value);
        const parts = parseTemplate(src);
        this.bytes = expandTemplate(parts, 1);
        this.template = src;
        first = varies(parts);
      } else this.bytes = parsePayload(this.format, this.text.value, EOL[this.eol.value] || "");
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
      const what = `${byteCount(this.bytes.length)}${this.bytes.length ? `: ${hex(this.bytes, PREVIEW_BYTES)}` : ""}`;
      setText(this.preview, first ? t("composer.first_send", { what }) : what);
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
    // One repeat at a time on a socket (§16.2); single sends go on meanwhile.
    if (s && !why && this.repeatCount() !== 1 && repeatRunning(s)) why = t("composer.why.repeating", { n: s.id });
    this.submit.disabled = !!why;
    this.submit.title = why;
    this.helpBtn.hidden = this.format !== "template";
    if (this.format !== "template" && !this.help.hidden) this.toggleHelp(false);
  }

  // repeatCount is how many sends Send makes: 1 is once, 0 until stopped.
  repeatCount() {
    const n = Math.floor(Number(this.count.value));
    return Number.isFinite(n) && this.count.value.trim() !== "" ? Math.max(0, Math.min(1000000, n)) : 1;
  }

  /**
   * What the composer holds, to be saved (ui/payloads.js): the message as
   * typed, its format and line ending, and the target of the socket it
   * would go from (TCP: the address connected to; UDP: the destination).
   */
  snapshot() {
    const s = this.selected();
    let target = null;
    if (s && s.kind === "udp") {
      const port = Number(this.port.value);
      if (this.host.value.trim() && Number.isInteger(port) && port >= 1 && port <= 65535) target = { proto: "udp", host: this.host.value.trim(), port };
    } else if (s && s.kind === "tcp" && (s.target || s.remote)) {
      const a = splitAddr(s.parent ? s.remote : s.target || s.remote);
      if (a.host && a.port) target = { proto: "tcp", host: a.host, port: a.port };
    }
    return { payload: this.text.value, format: this.format, eol: this.eol.value, target };
  }

  /** Puts a saved payload in the composer (its socket, if one is open, chosen), to edit or send. */
  load(item, sock) {
    this.text.value = item.payload;
    this.format = item.format;
    this.eol.value = item.eol || "";
    if (sock) this.want = { key: sock.key, dest: item.target && item.target.proto === "udp" ? { host: item.target.host, port: item.target.port } : undefined };
    this.sync(true);
    if (!sock && item.target && item.target.proto === "udp" && this.selected()?.kind === "udp") {
      this.host.value = item.target.host;
      this.port.value = String(item.target.port);
    }
    this.refresh();
    this.text.focus();
    this.text.setSelectionRange(this.text.value.length, this.text.value.length);
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

  /** Sends the message, once or as the server's repeat (§16.2). */
  async start() {
    this.refresh();
    if (this.submit.disabled) {
      if (this.submit.title) this.announce(t("composer.not_sent", { why: this.submit.title }));
      return;
    }
    this.goneSaid = false;
    const s = this.selected();
    const bytes = this.bytes;
    const template = this.template;
    const dest = s.kind === "udp" ? { host: this.host.value.trim(), port: Number(this.port.value) } : null;
    const n = this.repeatCount();
    const every = Math.max(0, Math.min(3600000, Math.floor(Number(this.every.value) || 0)));
    this.remember();
    this.text.value = "";
    this.refresh();
    if (n === 1) {
      await this.io.send(s, template !== null ? { template } : { bytes }, dest).catch(() => {});
      return;
    }
    const header = { op: "repeat", data: template !== null ? { template } : { base64: toBase64(bytes) } };
    if (n) header.count = n;
    if (every) header.interval_ms = every;
    if (dest) Object.assign(header, dest);
    // The progress comes from the repeat's events (tick); its end is said.
    try {
      const res = await this.io.request(s, header, template !== null ? undefined : bytes);
      const total = ` · ${byteCount(res.len || 0)}`;
      const sent = res.count || 0;
      if (!res.reason) this.announce(t("composer.all_sent", { n: sent }) + total);
      else this.announce((n ? t("composer.stopped", { sent, n }) : t("composer.stopped_endless", { sent })) + total);
    } catch (err) {
      this.announce(t("composer.repeat_failed", { why: err.message }));
    }
  }

  // showProgress shows how a repeat goes; text words it in the page's language.
  showProgress(text) {
    this.progressText = text;
    setText(this.progress, msg(text));
  }

  /** Stops the selected socket's repeat (the server's stop, §16.2). */
  stop() {
    const s = this.selected();
    if (!repeatRunning(s)) return;
    this.io.request(s, { op: "stop" }).catch(() => {});
  }
}

// repeatProgress: "37 of 100 sent · 296 bytes", or "37 sent · 296 bytes
// (until you stop it)". The counts as typed in Repeat: no grouping.
function repeatProgress(r) {
  const done = r.count ? t("composer.progress", { sent: r.sent, n: r.count }) : t("composer.progress_endless", { sent: r.sent });
  return `${done} · ${byteCount(r.bytes)}`;
}

// repeatEnd: how the repeat ended: "All 100 sent · 800 bytes", "Stopped
// after 37 of 100", or why it stopped (its error, its socket's end).
function repeatEnd(r, s) {
  const bytes = ` · ${byteCount(r.bytes)}`;
  if (r.state === "done") return t("composer.all_sent", { n: r.sent }) + bytes;
  const why = r.state === "failed" ? r.message : r.state === "running" ? msg(s.reason) || stateName(s.state) : "";
  if (why) return r.count ? t("composer.stopped_failed", { sent: r.sent, n: r.count, why }) : t("composer.stopped_endless_failed", { sent: r.sent, why });
  return (r.count ? t("composer.stopped", { sent: r.sent, n: r.count }) : t("composer.stopped_endless", { sent: r.sent })) + bytes;
}

function loadHistory() {
  try {
    const h = JSON.parse(localStorage.getItem(HISTORY_KEY) || "[]");
    return Array.isArray(h) ? h.filter((x) => x && typeof x.text === "string").slice(-HISTORY_MAX) : [];
  } catch {
    return [];
  }
}
