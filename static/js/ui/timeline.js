// The traffic timeline: one live list of every event across sockets.
//
// It must stay fast at 10,000 events a second, so:
//  - entries are appended to arrays; the DOM holds only the rows in view
//    (a windowed list: rows are absolutely placed in a tall spacer);
//  - the caller renders at most once per animation frame;
//  - the page keeps the latest KEEP entries and counts the ones it let go.
// Collapsed rows all have the same height; an expanded row is measured.
// When the language changes, the rows in view are drawn again: the others
// are worded when they come into view.

import { byteCount, hex, hexdump, utf8, utf8Loose } from "../bytes.js";
import { arrow, detail, group, label, length, line, spoken } from "../describe.js";
import { $, clock, copyText, dateTime, h, setText } from "../dom.js";
import { num, t, tn } from "../i18n.js";

const ROW = 28; // px, collapsed row height; matches .tl-row in app.css
const OVERSCAN = 8;
export const KEEP = 50000; // entries kept in memory
export const KEEP_BYTES = 64 << 20; // payload bytes kept in memory
const DROP = 5000; // let go of this many at a time, so dropping is rare
const COPY_MAX = 16 << 20; // characters one copy may produce

export class Timeline {
  /** schedule() asks for a frame in which the caller will call render(). */
  constructor(store, announce, schedule) {
    this.store = store;
    this.announce = announce;
    this.schedule = schedule;
    this.scroller = $("tl-scroll");
    this.list = $("tl-list");
    this.countEl = $("tl-count");
    this.droppedEl = $("tl-dropped");
    this.jumpBtn = $("tl-jump");
    this.followBtn = $("tl-follow");
    this.sockSel = $("tl-sock");
    this.emptyEl = $("tl-empty");

    this.all = []; // every kept entry, oldest first
    this.view = []; // the entries that pass the filter
    this.viewBase = 0; // entries dropped from the front of view since its last rebuild
    this.expanded = []; // expanded entries, in view order
    this.rows = new Map(); // entry -> its row element, for the rows in the DOM
    this.total = 0; // entries ever added
    this.dropped = 0; // entries let go to stay within KEEP and KEEP_BYTES
    this.bytes = 0; // payload bytes of the kept entries
    this.unseen = 0; // entries added while not following
    this.following = true;
    this.dirty = true;
    this.lastSetTop = NaN; // where render last scrolled the list itself (NaN: nowhere to expect)
    // The kinds shown are the checked boxes (Kernel starts unchecked: its
    // samples come often); the page's own notes always show.
    this.filter = { sock: "", groups: new Set(["notes", ...[...document.querySelectorAll('input[name="tl-kind"]:checked')].map((cb) => cb.value)]) };
    this.sockVersion = -1;

    this.scroller.addEventListener("scroll", () => this.onScroll(), { passive: true });
    // Layout is read only here and in onScroll, never while render writes
    // the DOM: a frame then costs one layout, not several.
    this.viewH = this.scroller.clientHeight;
    this.scrollY = 0; // where the list is scrolled to, as last set or seen
    new ResizeObserver((entries) => {
      this.viewH = entries[entries.length - 1].contentRect.height;
      this.invalidate();
    }).observe(this.scroller);
    this.followBtn.addEventListener("click", () => this.setFollowing(!this.following));
    this.jumpBtn.addEventListener("click", () => this.setFollowing(true));
    $("tl-clear").addEventListener("click", () => this.clear());
    $("tl-copy-text").addEventListener("click", () => this.copy("text"));
    $("tl-copy-hex").addEventListener("click", () => this.copy("hex"));
    this.sockSel.addEventListener("change", () => {
      this.filter.sock = this.sockSel.value;
      this.rebuild();
    });
    for (const cb of document.querySelectorAll('input[name="tl-kind"]')) {
      cb.addEventListener("change", () => {
        if (cb.checked) this.filter.groups.add(cb.value);
        else this.filter.groups.delete(cb.value);
        this.rebuild();
      });
    }
    document.addEventListener("langchange", () => this.relabel());
  }

  /** Words everything again in the page's language: the rows in view, the counts, the buttons. */
  relabel() {
    for (const [e, el] of this.rows) {
      const fresh = this.row(e);
      fresh.style.transform = el.style.transform;
      for (const a of ["aria-posinset", "aria-setsize"]) fresh.setAttribute(a, el.getAttribute(a) || "");
      const focused = el.contains(document.activeElement);
      el.replaceWith(fresh);
      this.rows.set(e, fresh);
      if (focused) fresh.querySelector(".tl-row").focus({ preventScroll: true });
    }
    setText(this.followBtn, this.following ? t("timeline.pause") : t("timeline.resume"));
    this.sockSig = null; // the socket filter's options are worded again
    this.sockVersion = -1;
    this.syncSockets();
    this.invalidate();
  }

  passes(e) {
    if (this.filter.sock && (e.sock === 0 || `${e.epoch}:${e.sock}` !== this.filter.sock) && e.ev.type !== "note") return false;
    return this.filter.groups.has(group(e.ev));
  }

  /** Adds an entry ({ n, epoch, sock, ev, bytes }). Call render() once per frame after adding. */
  add(e) {
    this.all.push(e);
    this.total++;
    if (e.bytes) this.bytes += e.bytes.length;
    if (this.passes(e)) {
      e.vi = this.viewBase + this.view.length;
      this.view.push(e);
      if (!this.following) this.unseen++;
    }
    if (this.all.length > KEEP + DROP) this.dropOldest(this.all.length - KEEP);
    else if (this.bytes > KEEP_BYTES) {
      // Drop the oldest until a quarter of the byte budget is free.
      let k = 0, freed = 0;
      while (k < this.all.length - 1 && this.bytes - freed > KEEP_BYTES * 0.75) freed += this.all[k++].bytes?.length || 0;
      this.dropOldest(k);
    }
    this.dirty = true;
  }

  /**
   * Adds a note of the page's own (the connection dropped, a new session
   * began). text is a string, or a function that words it in the page's
   * language, called whenever the note is drawn.
   */
  note(text, kind = "info") {
    const ev = {
      type: "note",
      label: kind === "info" ? "note" : kind,
      get message() {
        return typeof text === "function" ? text() : text;
      },
      t: Date.now() * 1000,
    };
    this.add({ n: 0, epoch: this.store.epoch, sock: 0, ev, bytes: null });
  }

  dropOldest(k) {
    const gone = new Set(this.all.splice(0, k));
    this.dropped += k;
    for (const e of gone) if (e.bytes) this.bytes -= e.bytes.length;
    // view is in the order of all, so the dropped ones are at its front.
    let v = 0;
    while (v < this.view.length && gone.has(this.view[v])) v++;
    if (v > 0) {
      const removedHeight = this.top(v);
      const goneRows = this.view.splice(0, v);
      this.viewBase += v;
      this.expanded = this.expanded.filter((x) => !gone.has(x));
      for (const e of goneRows) this.detach(e);
      if (!this.following) this.setTop(Math.max(0, this.scrollY - removedHeight));
    }
  }

  // detach takes an entry's row out of the DOM; the entry keeps its state.
  detach(e) {
    const el = this.rows.get(e);
    if (el) el.remove();
    this.rows.delete(e);
  }

  /** Draws every row afresh: after a filter change, or when a new session makes rows "earlier". */
  rebuild() {
    for (const e of [...this.rows.keys()]) this.detach(e);
    this.view = this.all.filter((e) => this.passes(e));
    this.viewBase = 0;
    this.view.forEach((e, i) => (e.vi = i));
    this.expanded = this.view.filter((e) => e.open);
    this.unseen = 0;
    this.invalidate();
    if (this.following) this.lastSetTop = NaN;
  }

  /**
   * Empties the list as if no event had come (app.js resetViews): the
   * filters stay, the view follows the newest again, nothing is announced.
   */
  reset() {
    for (const e of [...this.rows.keys()]) this.detach(e);
    this.all = [];
    this.bytes = 0;
    this.view = [];
    this.expanded = [];
    this.viewBase = 0;
    this.total = 0;
    this.dropped = 0;
    this.unseen = 0;
    if (!this.following) this.setFollowing(true);
    this.lastSetTop = NaN;
    this.invalidate();
  }

  clear() {
    this.reset();
    this.announce(t("timeline.cleared"));
  }

  invalidate() {
    this.dirty = true;
    this.schedule();
  }

  setFollowing(on) {
    this.following = on;
    this.followBtn.textContent = on ? t("timeline.pause") : t("timeline.resume");
    this.followBtn.setAttribute("aria-pressed", String(on));
    if (on) this.unseen = 0;
    this.invalidate();
  }

  /** Call when the list is shown again (its tab was chosen): it was not laid out while hidden. */
  shown() {
    this.lastSetTop = NaN;
    if (this.following) this.scrollY = NaN; // render scrolls to the newest
    else this.setTop(this.scrollY);
    this.invalidate();
  }

  onScroll() {
    const s = this.scroller;
    if (s.clientHeight === 0) return; // hidden behind another tab: not the person scrolling
    this.scrollY = s.scrollTop;
    if (Math.abs(s.scrollTop - this.lastSetTop) < 2) {
      // Our own scroll, said once: a person who later scrolls back to the
      // same place is drawn for (a replay that ended gets no new rows).
      this.lastSetTop = NaN;
      return;
    }
    const atBottom = s.scrollTop + s.clientHeight >= s.scrollHeight - ROW / 2;
    if (atBottom && !this.following) this.setFollowing(true);
    else if (!atBottom && this.following) this.setFollowing(false);
    this.invalidate();
  }

  setTop(y) {
    this.lastSetTop = y;
    this.scrollY = y;
    this.scroller.scrollTop = y;
  }

  // extraBefore is the height expanded rows add above view index i.
  extraBefore(i) {
    let x = 0;
    for (const e of this.expanded) {
      if (e.vi - this.viewBase >= i) break;
      x += e.extra || 0;
    }
    return x;
  }

  top(i) {
    return i * ROW + this.extraBefore(i);
  }

  // indexAt is the view index of the row at height y.
  indexAt(y) {
    let lo = 0, hi = this.view.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.top(mid) <= y) lo = mid;
      else hi = mid - 1;
    }
    return Math.max(0, lo);
  }

  /** Brings the DOM up to date; cheap when nothing changed. */
  render() {
    if (!this.dirty) return;
    this.dirty = false;
    const n = this.view.length;
    const height = this.top(n);
    this.list.style.height = `${height}px`;
    const viewH = this.viewH || 400;
    const y = this.following ? Math.max(0, height - viewH) : Math.min(this.scrollY, Math.max(0, height - viewH));
    const first = Math.max(0, this.indexAt(y) - OVERSCAN);
    const last = Math.min(n - 1, this.indexAt(y + viewH) + OVERSCAN);
    const keep = new Set();
    const setsize = String(n);
    let prev = null; // rows go into the DOM in list order, for Tab and screen readers
    for (let i = first; i <= last; i++) {
      const e = this.view[i];
      keep.add(e);
      let el = this.rows.get(e);
      if (!el) {
        el = this.row(e);
        this.rows.set(e, el);
        if (prev) prev.after(el);
        else this.list.prepend(el);
      }
      prev = el;
      const move = `translateY(${this.top(i)}px)`;
      if (el.style.transform !== move) el.style.transform = move;
      const pos = String(i + 1);
      if (el.getAttribute("aria-posinset") !== pos) el.setAttribute("aria-posinset", pos);
      if (el.getAttribute("aria-setsize") !== setsize) el.setAttribute("aria-setsize", setsize);
    }
    for (const [e, el] of this.rows) {
      if (keep.has(e) || el.contains(document.activeElement)) continue;
      el.remove();
      this.rows.delete(e);
    }
    this.status();
    if (this.following && y !== this.scrollY) this.setTop(y); // after every write: one layout
    // Expanded rows: measure, and lay out again if a height changed.
    for (const e of this.expanded) {
      const el = this.rows.get(e);
      if (!el) continue;
      const extra = Math.max(0, el.offsetHeight - ROW);
      if (extra !== e.extra) {
        e.extra = extra;
        this.invalidate();
      }
    }
  }

  status() {
    let text = tn("timeline.events", this.total);
    if (this.view.length !== this.all.length) text += ` · ${t("timeline.shown", { n: num(this.view.length) })}`;
    setText(this.countEl, text);
    if (this.emptyEl.hidden !== this.total > 0) this.emptyEl.hidden = this.total > 0;
    setText(this.droppedEl, this.dropped ? tn("timeline.dropped", this.dropped, { keep: num(KEEP) }) : "");
    const jump = !this.following;
    if (this.jumpBtn.hidden === jump) this.jumpBtn.hidden = !jump;
    if (jump) setText(this.jumpBtn, this.unseen ? t("timeline.jump_new", { n: num(this.unseen) }) : t("timeline.jump"));
  }

  row(e) {
    const ev = e.ev;
    const at = ev.t || 0;
    const rel = this.store.t0 && ev.type !== "note" ? ((at - this.store.t0) / 1e6).toFixed(6) : clock(at);
    const len = length(ev);
    const btn = h(
      "button",
      { type: "button", class: "tl-row", "aria-expanded": String(!!e.open), "aria-label": t("timeline.row", { event: spoken(e), time: rel }), onclick: () => this.toggle(e) },
      h("span", { class: "tl-time", title: dateTime(at), text: rel }),
      h("span", { class: "tl-sock", text: e.sock ? `#${e.sock}` : "" }),
      h("span", { class: "tl-dir", text: arrow(ev) }),
      h("span", { class: "tl-label", text: label(ev) }),
      h("span", { class: "tl-len num", text: len }),
      h("span", { class: "tl-detail", text: detail(ev, e.bytes) }),
    );
    // data-seq, -type, -op and -sock name the event for tests and tools.
    const data = { type: ev.type };
    if (ev.seq) data.seq = String(ev.seq);
    if (ev.op) data.op = ev.op;
    if (e.sock) data.sock = String(e.sock);
    const el = h("div", { role: "listitem", class: `tl-item t-${ev.type} g-${group(ev)}${ev.type === "relay" ? ` r-${ev.relay}` : ""}${e.epoch !== this.store.epoch ? " old" : ""}`, dataset: data }, btn);
    if (e.open) el.append(this.expansion(e));
    return el;
  }

  toggle(e) {
    e.open = !e.open;
    if (e.open && !this.expanded.includes(e)) {
      this.expanded.push(e);
      this.expanded.sort((a, b) => a.vi - b.vi);
    } else if (!e.open) {
      this.expanded = this.expanded.filter((x) => x !== e);
      e.extra = 0;
    }
    const el = this.rows.get(e);
    if (el) {
      const fresh = this.row(e);
      el.replaceWith(fresh);
      this.rows.set(e, fresh);
      fresh.style.transform = el.style.transform;
      fresh.querySelector(".tl-row").focus();
    }
    if (e.open && this.following) this.setFollowing(false);
    this.invalidate();
    this.render();
  }

  /**
   * Shows the event numbered seq (of this session), for a link from the
   * learning column: the Traffic tab is chosen, the filters let the event
   * through if they hid it, the view stops following and scrolls to it, and
   * its row opens with the focus on it. Returns false when the page no
   * longer has the event (cleared, or scrolled out of the latest KEEP).
   */
  reveal(seq) {
    let e = null;
    for (let i = this.all.length - 1; i >= 0 && !e; i--) if (this.all[i].ev.seq === seq && this.all[i].epoch === this.store.epoch) e = this.all[i];
    if (!e) return false;
    const tab = document.getElementById("tab-traffic");
    if (tab && tab.getAttribute("aria-selected") !== "true") tab.click();
    if (!this.passes(e)) {
      // The person asked for this event: show its kind, and every socket.
      const g = group(e.ev);
      this.filter.groups.add(g);
      const box = document.querySelector(`input[name="tl-kind"][value="${g}"]`);
      if (box) box.checked = true;
      this.filter.sock = "";
      this.sockSel.value = "";
      this.rebuild();
    }
    if (this.following) this.setFollowing(false);
    this.setTop(Math.max(0, this.top(e.vi - this.viewBase) - 2 * ROW));
    if (!e.open) this.toggle(e);
    this.invalidate();
    this.render();
    const el = this.rows.get(e);
    if (el) {
      el.querySelector(".tl-row").focus({ preventScroll: true });
      el.classList.add("learn-hl");
      setTimeout(() => el.classList.remove("learn-hl"), 1500);
    }
    return true;
  }

  expansion(e) {
    const ev = e.ev;
    const box = h("div", { class: "tl-more", role: "group", "aria-label": t("timeline.details", { event: spoken(e) }) });
    box.append(h("p", { class: "tl-meta", text: `${ev.seq ? `seq ${ev.seq} · ` : ""}${dateTime(ev.t || 0)}${e.epoch !== this.store.epoch ? ` · ${t("timeline.earlier")}` : ""}` }));
    // A responder's firing names the data event it answered (docs/protocol.md §16.3).
    if (ev.cause && e.epoch === this.store.epoch) box.append(h("p", {}, h("button", { type: "button", class: "link", onclick: () => this.reveal(ev.cause) }, t("timeline.cause", { seq: ev.cause }))));
    if (e.bytes) {
      const b = e.bytes;
      const text = utf8(b);
      box.append(
        h("h4", { text: t("timeline.hexdump", { bytes: byteCount(b.length) }) }),
        h("pre", { class: "hexdump", text: b.length ? hexdump(b) : t("timeline.no_bytes") }),
        h("h4", { text: text === null ? t("timeline.not_utf8") : tn("timeline.utf8", Array.from(text).length, { bytes: byteCount(b.length) }) }),
        h("pre", { class: "utf8", lang: "", text: text === null ? utf8Loose(b) : text }),
        h(
          "div",
          { class: "tl-more-actions" },
          h("button", { type: "button", class: "btn small", onclick: () => this.copyOne(text === null ? utf8Loose(b) : text, "text") }, t("timeline.copy_text")),
          h("button", { type: "button", class: "btn small", onclick: () => this.copyOne(hex(b), "hex") }, t("timeline.copy_hex")),
        ),
      );
    } else if (ev.type === "sent") {
      box.append(h("p", { class: "hint", text: t("timeline.not_shown") }));
    }
    const fields = Object.entries(ev).filter(([k]) => !["t", "seq"].includes(k)).map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(", ") : v && typeof v === "object" ? JSON.stringify(v) : v}`);
    box.append(h("pre", { class: "fields", text: fields.join("\n") }));
    return box;
  }

  async copyOne(text, what) {
    try {
      await copyText(text);
      this.announce(what === "hex" ? t("timeline.copied_hex") : t("timeline.copied_text"));
    } catch (err) {
      this.announce(t("timeline.copy_failed", { why: err.message }));
    }
  }

  async copy(mode) {
    const lines = [];
    let size = 0;
    let cut = false;
    for (const e of this.view) {
      if (size > COPY_MAX) {
        cut = true;
        break;
      }
      if (mode === "text") {
        const at = e.ev.type === "note" ? clock(e.ev.t) : ((e.ev.t - this.store.t0) / 1e6).toFixed(6);
        lines.push(line(e, at));
      } else if (e.bytes) {
        lines.push(`#${e.sock} ${arrow(e.ev)} ${e.ev.op || label(e.ev)} ${byteCount(e.bytes.length)}: ${hex(e.bytes)}`);
      } else continue;
      size += lines[lines.length - 1].length;
    }
    try {
      await copyText(lines.join("\n") + (lines.length ? "\n" : ""));
      const copied = tn(mode === "text" ? "timeline.copied_events" : "timeline.copied_payloads", lines.length);
      this.announce(cut ? t("timeline.copied_cut", { copied }) : copied);
    } catch (err) {
      this.announce(t("timeline.copy_failed", { why: err.message }));
    }
  }

  /** Keeps the socket filter's options in step with the sockets. */
  syncSockets() {
    if (this.sockVersion === this.store.version) return;
    this.sockVersion = this.store.version;
    const keys = [];
    for (const s of this.store.sockets.values()) if (s.epoch === this.store.epoch) keys.push(s.key);
    const sig = keys.join(" ");
    if (sig === this.sockSig) return; // rebuilding would disturb an open dropdown
    this.sockSig = sig;
    const cur = this.sockSel.value;
    const opts = [h("option", { value: "" }, t("timeline.all_sockets"))];
    for (const k of keys) opts.push(h("option", { value: k }, t("timeline.socket", { n: this.store.sockets.get(k).id })));
    this.sockSel.replaceChildren(...opts);
    this.sockSel.value = [...this.sockSel.options].some((o) => o.value === cur) ? cur : "";
    if (this.sockSel.value !== cur) {
      this.filter.sock = "";
      this.rebuild();
    }
  }
}
