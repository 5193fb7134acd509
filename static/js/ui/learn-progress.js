// What the learner has done, kept in the browser (localStorage): for each
// lesson whether it passed, the hints shown, and for each step the event that
// did it — as a fact (learn-evidence.js) worded again in the page's language
// each time it is shown, so a finished lesson says what the person did after
// a reload, in a new session, and after a switch of language.
//
// The server checks only the lesson of the current session; this is the
// learner's record, not a second source of truth about a session.

const KEY = "playground.learn.v1";
const OPEN_KEY = "playground.learn.open";

/** One lesson's record. */
function blank() {
  return { passed: false, at: 0, steps: [], hints: [] };
}

export class Progress {
  /**
   * memory: keep the record in memory only, never read or write the
   * browser's: a replay or a watched session is someone's lessons, not the
   * learner's own.
   */
  constructor({ memory = false } = {}) {
    this.memory = memory;
    this.data = { current: "", lessons: {} };
    if (memory) return;
    try {
      const saved = JSON.parse(localStorage.getItem(KEY) || "null");
      if (saved && typeof saved === "object" && saved.lessons && typeof saved.lessons === "object") this.data = { current: String(saved.current || ""), lessons: saved.lessons };
    } catch {
      // Unreadable or blocked storage: start afresh, in memory only.
    }
  }

  /** The record of lesson id (made on first use). */
  lesson(id) {
    const l = (this.data.lessons[id] ||= blank());
    l.steps ||= [];
    l.hints ||= [];
    return l;
  }

  /** The lesson being done (started and not yet passed), or "". */
  get current() {
    return this.data.current;
  }

  set current(id) {
    this.data.current = id;
    this.save();
  }

  /** Forgets what was done in lesson id: a restart starts from nothing. Hints stay shown. */
  reset(id) {
    const l = this.lesson(id);
    l.passed = false;
    l.at = 0;
    l.steps = [];
    this.save();
  }

  /** Forgets every lesson (a replay starting again). */
  clear() {
    this.data = { current: "", lessons: {} };
    this.save();
  }

  save() {
    if (this.memory) return;
    try {
      localStorage.setItem(KEY, JSON.stringify(this.data));
    } catch {
      // Full or blocked: the record lasts as long as the page.
    }
  }
}

/** Whether the learning column was left open (null: never chosen). */
export function loadOpen() {
  try {
    const v = localStorage.getItem(OPEN_KEY);
    return v === null ? null : v === "1";
  } catch {
    return null;
  }
}

export function saveOpen(open) {
  try {
    localStorage.setItem(OPEN_KEY, open ? "1" : "0");
  } catch {
    // not remembered
  }
}
