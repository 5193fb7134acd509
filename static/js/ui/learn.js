// The learning column: error cards (learn-errors.js), the guided lessons
// (learn-lessons.js) and the concept guide (learn-concepts.js), beside the
// sockets and the traffic. It sees every event (apply), draws at most once
// per frame (render), and can be folded away; whether it is open is
// remembered in the browser.
//
// Everything here is a view of the session's events, like the rest of the
// page: lesson checks come from the server as "lesson" events, and what a
// step's evidence or an error's cause names is an event of the log.

import { h, setText } from "../dom.js";
import { t } from "../i18n.js";
import { ErrorCards } from "./learn-errors.js";
import { Concepts } from "./learn-concepts.js";
import { Highlighter } from "./learn-highlight.js";
import { Lessons } from "./learn-lessons.js";
import { Progress, loadOpen, saveOpen } from "./learn-progress.js";
import { Tabs } from "./tabs.js";

// How many recent events are kept by seq (a lesson step's evidence names one
// just before its progress event), and how many calls by request id (an
// error's cause is the call with its id).
const RECENT = 4096;
const CALLS = 1024;

// Where the column is open by default, when the learner has not chosen: a
// screen wide enough for three columns.
const WIDE = "(min-width: 1200px)";

export class Learn {
  /**
   * deps: store, request(header) (a promise of the answer), announce(text),
   * timeline (reveal(seq) shows an event), actions() (the page's actions),
   * schedule() (asks for a frame), readOnly (a replay or a watched session:
   * the lessons are shown as the events say, nothing is asked of the
   * server, and the learner's own record is not touched).
   */
  constructor(root, deps) {
    this.root = root;
    this.d = deps;
    this.recent = new Map(); // seq -> entry, this session's latest events
    this.calls = new Map(); // request id -> the call's entry, this session
    this.epoch = 0;
    this.versionSeen = -1;
    this.unseen = 0; // error cards added while the column was folded

    const data = readData();
    this.progress = new Progress({ memory: !!deps.readOnly });
    this.quiet = false; // while set (a replay rebuilding its views), nothing is said aloud
    this.hl = new Highlighter(deps.store);
    this.status = h("div", { class: "sr-only", role: "status", "aria-live": "polite", "aria-atomic": "true" });
    this.errors = new ErrorCards({
      reveal: (seq) => this.reveal(seq),
      changed: (focusOut) => this.changed(focusOut),
      // A TLS connect that failed verification, again without it (ui/tlsinfo.js).
      retryTLS: deps.readOnly
        ? null
        : (ev, epoch) => {
            const s = deps.store.get(ev.sock, epoch);
            if (s) deps.actions().retryTLS(s);
          },
    });
    this.lessons = new Lessons({
      data: data.lessons,
      progress: this.progress,
      request: deps.request,
      eventAt: (seq) => this.recent.get(seq),
      reveal: (seq) => this.reveal(seq),
      say: (text) => this.say(text),
      concept: (id) => this.showConcept(id),
      store: deps.store,
      changed: () => this.changed(),
      readOnly: !!deps.readOnly,
    });
    const lessonsOf = (c) => data.lessons.filter((l) => (l.concepts || []).includes(c)).map((l) => l.id);
    this.concepts = new Concepts({
      ids: data.concepts,
      lessonsOf,
      openLesson: (id) => {
        this.tabs.select(this.tabLessons);
        this.lessons.show(id);
      },
      highlighter: this.hl,
      numbered: (id) => this.lessons.numbered(id),
    });
    this.build();
    // Until the learner chooses, the column is open where there is room
    // for it, and follows the window as it is resized.
    const wide = matchMedia(WIDE);
    const open = loadOpen();
    this.setOpen(open === null ? wide.matches : open, false);
    wide.addEventListener("change", (e) => {
      if (loadOpen() === null) this.setOpen(e.matches, false);
    });
    document.addEventListener("langchange", () => this.relang());
    // Drawn now, not in a frame: app.js cannot schedule one while it is
    // still making its views.
    this.render();
    this.ready = true;
  }

  build() {
    const r = this.root;
    r.setAttribute("role", "complementary");
    r.classList.add("learn");
    this.toggle = h("button", { type: "button", class: "btn small ghost learn-toggle", "aria-controls": "learn-body", onclick: () => this.setOpen(!this.open, true) });
    this.badge = h("span", { class: "learn-badge", hidden: true });
    this.tabLessons = h("button", { type: "button", role: "tab", id: "learn-tab-lessons", "aria-controls": "learn-lessons", "aria-selected": "true", i18n: "learn.tab.lessons" });
    this.tabConcepts = h("button", { type: "button", role: "tab", id: "learn-tab-concepts", "aria-controls": "learn-concepts", "aria-selected": "false", tabindex: "-1", i18n: "learn.tab.concepts" });
    const tablist = h("div", { class: "tabs learn-tabs", role: "tablist", i18nAttr: { "aria-label": "learn.tabs" } }, this.tabLessons, this.tabConcepts);
    this.body = h(
      "div",
      { id: "learn-body", class: "learn-body" },
      this.errors.el,
      tablist,
      h("div", { id: "learn-lessons", class: "learn-panel", role: "tabpanel", "aria-labelledby": "learn-tab-lessons" }, this.lessons.el),
      h("div", { id: "learn-concepts", class: "learn-panel", role: "tabpanel", "aria-labelledby": "learn-tab-concepts", hidden: true }, this.concepts.el),
    );
    r.replaceChildren(h("div", { class: "learn-head" }, h("h2", { id: "learn-h", i18n: "learn.title" }), this.badge, this.toggle), this.body, this.status);
    this.tabs = new Tabs(tablist, () => this.changed());
  }

  /** Opens or folds the column; remember says the learner chose it. */
  setOpen(open, remember) {
    this.open = open;
    this.root.classList.toggle("collapsed", !open);
    this.body.hidden = !open;
    this.toggle.setAttribute("aria-expanded", String(open));
    this.wordToggle();
    if (open) this.unseen = 0;
    this.updateBadge();
    if (remember) saveOpen(open);
    this.changed();
  }

  // wordToggle says what the button does. Folded, it says "Learn" on the
  // wide screen's rail, where it stands alone, and "Show" on the bar beside
  // the heading; CSS shows the one that fits, and a hidden one is not read.
  wordToggle() {
    if (this.open) this.toggle.replaceChildren(t("learn.hide"));
    else this.toggle.replaceChildren(h("span", { class: "on-rail", text: t("learn.show_rail") }), h("span", { class: "on-bar", text: t("learn.show") }));
    this.toggle.title = this.open ? t("learn.hide_title") : t("learn.show_title");
  }

  updateBadge() {
    const n = this.open ? 0 : this.unseen;
    this.badge.hidden = n === 0;
    setText(this.badge, n ? t("learn.badge", { n }) : "");
  }

  /** Takes every event, in order (app.js drain). */
  apply(entry) {
    const ev = entry.ev;
    if (entry.epoch !== this.d.store.epoch) return;
    if (ev.seq) {
      this.recent.set(ev.seq, entry);
      if (this.recent.size > RECENT) this.recent.delete(this.recent.keys().next().value);
    }
    switch (ev.type) {
      case "call":
        if (ev.id !== undefined) {
          this.calls.set(ev.id, entry);
          if (this.calls.size > CALLS) this.calls.delete(this.calls.keys().next().value);
        }
        break;
      case "lesson":
      case "answer":
        this.lessons.onEvent(entry);
        break;
      case "error":
        // An error of a lesson request is the lesson view's to say.
        if (ev.op === "lesson" || ev.op === "answer") break;
        this.errors.add(entry, ev.id !== undefined ? this.calls.get(ev.id) || null : null);
        if (!this.open) {
          this.unseen++;
          this.updateBadge();
        }
        break;
    }
  }

  /** Draws what changed; called once per frame. */
  render() {
    this.errors.render();
    this.lessons.render();
    // A lit concept follows the sockets as they come and go.
    if (this.hl.id && this.d.store.version !== this.versionSeen) this.concepts.refresh();
    this.versionSeen = this.d.store.version;
  }

  /** A new session began: its events and ids start again. */
  newSession(hello) {
    this.recent.clear();
    this.calls.clear();
    this.lessons.newSession(hello);
  }

  /**
   * Forgets the session's events (app.js resetViews): error cards, recent
   * events and calls, and the lesson being checked; the events are then
   * applied again. A read-only page forgets its lesson record too; a live
   * page's record is the learner's and stays.
   */
  reset() {
    this.recent.clear();
    this.calls.clear();
    this.errors.reset();
    this.unseen = 0;
    this.updateBadge();
    this.lessons.reset();
    this.changed();
  }

  /** changed asks for a frame; focusOut moves the focus off a control that went away. */
  changed(focusOut = false) {
    if (focusOut) this.toggle.focus();
    if (this.ready) this.d.schedule();
  }

  say(text) {
    if (this.quiet) return;
    // The same words twice in a row are still news: clear, then say.
    setText(this.status, "");
    requestAnimationFrame(() => setText(this.status, text));
  }

  /** Shows event seq of this session in the traffic view. */
  reveal(seq) {
    const tl = this.d.timeline;
    if (tl && typeof tl.reveal === "function" && tl.reveal(seq)) return;
    this.d.announce(t("learn.reveal_gone"));
  }

  showConcept(id) {
    this.tabs.select(this.tabConcepts);
    this.concepts.focus(id);
  }

  relang() {
    // i18n.js has re-worded the data-i18n texts; the rest is worded here.
    this.wordToggle();
    this.updateBadge();
    this.errors.redraw();
    this.lessons.relang();
    this.concepts.relang();
    this.changed();
  }
}

// readData reads the lessons and concepts the server embedded (#lessons-data).
function readData() {
  try {
    const d = JSON.parse(document.getElementById("lessons-data").textContent);
    return { lessons: Array.isArray(d.lessons) ? d.lessons : [], concepts: Array.isArray(d.concepts) ? d.concepts : [] };
  } catch {
    return { lessons: [], concepts: [] };
  }
}
