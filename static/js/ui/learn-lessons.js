// Guided lessons: the list of lessons with the learner's progress, and one
// lesson at a time — its goal, its steps ticked off live as the session's
// "lesson" events report them (docs/protocol.md §4.15), a hint at a time, an
// answer box for a question step, the explanation once passed, Restart and
// Next. The server checks the lesson; the page only shows what it says, and
// keeps a record of it (learn-progress.js).

import { h, setText } from "../dom.js";
import { has, t, tn } from "../i18n.js";
import { fact, factText } from "./learn-evidence.js";

// The tracker (internal/learn/tracker.go) judges each answer at once: a
// progress event follows the answer event, with the step done or not. If
// none comes within this long, the answer is taken as not right anyway.
const VERDICT_MS = 3000;

// What the answer box says under it, by verdict.
const VERDICTS = {
  empty: () => t("learn.lesson.answer_empty"),
  checking: () => t("learn.lesson.answer_checking"),
  wrong: (value) => t("learn.lesson.answer_wrong", { answer: value }),
  right: () => "",
};

export class Lessons {
  /**
   * deps: data (the lessons, from #lessons-data), progress (Progress),
   * request(header) (a promise of the answer), eventAt(seq) (the entry of a
   * recent event of this session), reveal(seq), say(text) (a polite
   * announcement), concept(id) (show a concept in the guide), store,
   * changed() (asks for a render), readOnly (a replay or a watched session:
   * the lessons follow the events, and nothing can be started or answered).
   */
  constructor(deps) {
    this.d = deps;
    this.lessons = deps.data;
    this.progress = deps.progress;
    this.active = ""; // the lesson the server checks in this session
    this.session = "";
    this.stalled = ""; // a lesson the server gave up on (too many events)
    this.notice = null; // { id, key }: a note shown on a lesson
    this.problem = ""; // a request that failed, in words
    this.answers = new Map(); // step -> { value, seq, verdict: "checking" | "wrong" | "right", timer }
    this.shown = this.progress.current || ""; // the lesson on screen, or "" for the list
    this.listEl = h("ol", { class: "lesson-list" });
    this.lessonEl = h("div", { class: "lesson" });
    this.el = h("div", { class: "lessons" }, this.listEl, this.lessonEl);
    this.view = null; // the lesson view's elements (build), for update
    this.dirty = true;
    this.rebuild = true;
  }

  index(id) {
    return this.lessons.findIndex((l) => l.id === id);
  }

  title(id) {
    return has(`lesson.${id}.title`) ? t(`lesson.${id}.title`) : id;
  }

  numbered(id) {
    return t("learn.lesson.numbered", { n: this.index(id) + 1, title: this.title(id) });
  }

  // ---- Events ------------------------------------------------------------

  /** Takes a "lesson" or "answer" event of the current session. */
  onEvent(entry) {
    const ev = entry.ev;
    const l = ev.lesson;
    if (!l) return;
    if (ev.type === "answer") {
      if (l.id === this.active) this.answered(l.step, l.answer, ev.seq);
      return;
    }
    switch (l.action) {
      case "start":
        this.started(l.id);
        break;
      case "progress":
        this.progressed(l, ev.seq || 0, ev.t || 0);
        break;
      case "stop":
        if (l.answer === "too_many_events" && l.id) {
          this.stalled = l.id;
          this.d.say(t("learn.lesson.too_many", { title: this.title(l.id) }));
        }
        this.active = "";
        break;
    }
    this.touch();
  }

  started(id) {
    // A lesson left half done is forgotten: the server checks one at a time.
    const prev = this.progress.current;
    if (prev && prev !== id && !this.progress.lesson(prev).passed) this.progress.reset(prev);
    this.active = id;
    this.stalled = "";
    this.problem = "";
    if (this.notice && this.notice.id !== id) this.notice = null;
    this.clearAnswers();
    this.progress.reset(id);
    this.progress.current = id;
    // A replay shows the lesson as it is being done.
    if (this.d.readOnly) this.shown = id;
    this.rebuild = true;
  }

  progressed(l, seq, when) {
    if (l.id !== this.active) {
      // The server checks one lesson at a time: progress of another while
      // none is known to run means its start came before the events this
      // page has (a resumed page, a log that begins after it).
      if (this.active || !l.id || this.index(l.id) < 0 || this.progress.lesson(l.id).passed) return;
      this.active = l.id;
      this.progress.current = l.id;
      if (this.d.readOnly) this.shown = l.id;
      this.rebuild = true;
    }
    const rec = this.progress.lesson(l.id);
    const steps = l.steps || [];
    steps.forEach((st, i) => {
      if (!st.done || (rec.steps[i] && rec.steps[i].done)) return;
      const entry = st.seq ? this.d.eventAt(st.seq) : null;
      rec.steps[i] = { done: true, seq: st.seq || 0, session: this.session, fact: entry ? fact(entry, this.d.store) : null };
      const a = this.answers.get(i + 1);
      if (a) {
        clearTimeout(a.timer);
        a.verdict = "right";
      }
      const what = rec.steps[i].fact ? factText(rec.steps[i].fact) : "";
      this.d.say(what ? t("learn.lesson.step_done_how", { n: i + 1, what }) : t("learn.lesson.step_done", { n: i + 1 }));
    });
    // An answer this progress judged and left undone was not right.
    for (const [step, a] of this.answers) {
      if (a.verdict !== "checking" || !a.seq || a.seq > seq || (rec.steps[step - 1] && rec.steps[step - 1].done)) continue;
      this.wrong(a);
    }
    if (l.passed && !rec.passed) {
      rec.passed = true;
      // When it passed: now, or in a replay when the recording says.
      rec.at = this.d.readOnly && when ? when / 1000 : Date.now();
      this.active = "";
      this.progress.current = "";
      this.d.say(t("learn.lesson.passed_say", { title: this.title(l.id) }));
    }
    this.progress.save();
  }

  answered(step, value, seq) {
    const rec = this.progress.lesson(this.active);
    if (rec.steps[step - 1] && rec.steps[step - 1].done) return;
    const prev = this.answers.get(step);
    if (prev) clearTimeout(prev.timer);
    const a = { value, seq, verdict: "checking", timer: 0 };
    // A replay has every verdict in its events: no waiting for one.
    if (!this.d.readOnly) {
      a.timer = setTimeout(() => {
        if (a.verdict === "checking") this.wrong(a);
      }, VERDICT_MS);
    }
    this.answers.set(step, a);
  }

  wrong(a) {
    clearTimeout(a.timer);
    a.verdict = "wrong";
    this.d.say(t("learn.lesson.answer_wrong", { answer: a.value }));
    this.touch();
  }

  clearAnswers() {
    for (const a of this.answers.values()) clearTimeout(a.timer);
    this.answers.clear();
  }

  /**
   * Forgets what the session's events said (app.js resetViews): the lesson
   * being checked and the answers; a read-only page's record too, which
   * came from the same events.
   */
  reset() {
    this.active = "";
    this.stalled = "";
    this.problem = "";
    this.clearAnswers();
    if (this.progress.memory) {
      this.progress.clear();
      this.notice = null;
    }
    this.touch(true);
  }

  /** A new session (a reload or a reconnect): the server checks nothing yet. */
  newSession(hello) {
    const again = this.session !== "";
    this.session = hello.session;
    this.active = "";
    this.stalled = "";
    this.clearAnswers();
    const id = this.progress.current;
    // A session resumed (docs/protocol.md §15.2) still has its lesson on the
    // server, and its events say how far it got; a watched one is not ours.
    if (hello.resumed || this.d.readOnly) {
      this.touch(true);
      return;
    }
    if (id && this.index(id) >= 0 && !this.progress.lesson(id).passed) {
      // The lesson the learner was doing starts again in this session: the
      // sockets of the old one are gone, so its steps are done again.
      this.notice = { id, key: again ? "learn.lesson.new_session" : "learn.lesson.welcome_back" };
      setTimeout(() => this.start(id), 0);
    }
    this.touch(true);
  }

  // ---- Requests ------------------------------------------------------------

  /** Starts (or restarts) lesson id in this session. */
  start(id) {
    this.problem = "";
    this.d
      .request({ op: "lesson", lesson: id })
      .then(() => this.touch())
      .catch((err) => {
        this.problem = t("learn.lesson.request_failed", { why: err.message || String(err) });
        this.touch();
      });
    this.touch();
  }

  restart(id) {
    this.progress.reset(id);
    this.notice = null;
    this.start(id);
    this.touch(true);
  }

  answer(id, step, value) {
    this.problem = "";
    // "Checking…" at once; the verdict comes with the answer's event.
    const prev = this.answers.get(step);
    if (prev) clearTimeout(prev.timer);
    this.answers.set(step, { verdict: "checking", value, timer: 0 });
    this.touch();
    this.d.request({ op: "answer", lesson: id, step, answer: value }).catch((err) => {
      this.problem = t("learn.lesson.request_failed", { why: err.message || String(err) });
      this.touch();
    });
  }

  // ---- View ----------------------------------------------------------------

  touch(rebuild = false) {
    this.dirty = true;
    if (rebuild) this.rebuild = true;
    this.d.changed();
  }

  /** Shows lesson id, or the list for "" (with the focus on what was shown before). */
  show(id, focus = true) {
    const from = this.shown;
    this.shown = id;
    this.rebuild = true;
    this.dirty = true;
    this.render();
    if (!focus) return;
    if (id) this.view.title.focus();
    else (this.listEl.querySelector(`[data-lesson="${CSS.escape(from)}"]`) || this.listEl.querySelector("button"))?.focus();
  }

  render() {
    if (!this.dirty) return;
    this.dirty = false;
    this.listEl.hidden = !!this.shown;
    this.lessonEl.hidden = !this.shown;
    this.renderList();
    if (!this.shown) return;
    if (this.rebuild || !this.view || this.view.id !== this.shown) {
      // A control that had the focus is made anew: the focus goes to the
      // lesson's title rather than to the page's start.
      const had = this.lessonEl.contains(document.activeElement);
      this.build(this.shown);
      if (had) this.view.title.focus();
    }
    this.rebuild = false;
    this.update();
  }

  status(id) {
    const rec = this.progress.data.lessons[id];
    const l = this.lessons[this.index(id)];
    const n = l.steps.length;
    if (rec && rec.passed) return { cls: "done", text: t("learn.lesson.status_done") };
    if (this.stalled === id) return { cls: "stalled", text: t("learn.lesson.status_stalled") };
    if (this.active === id || this.progress.current === id) {
      const done = rec ? rec.steps.filter((s) => s && s.done).length : 0;
      return { cls: "progress", text: t("learn.lesson.status_progress", { done, n }) };
    }
    return { cls: "", text: tn("learn.lesson.status_steps", n) };
  }

  renderList() {
    const items = this.lessons.map((l, i) => {
      const st = this.status(l.id);
      return h(
        "li",
        { class: `lesson-item ${st.cls}` },
        h(
          "button",
          { type: "button", class: "lesson-open", dataset: { lesson: l.id }, onclick: () => this.show(l.id) },
          h("span", { class: "li-num", "aria-hidden": "true", text: st.cls === "done" ? "✓" : String(i + 1) }),
          h("span", { class: "li-title" }, h("span", { class: "sr-only", text: `${i + 1}. ` }), this.title(l.id)),
          h("span", { class: `li-status ${st.cls}`, text: st.text }),
        ),
      );
    });
    // Redraw only when something changed: a person may be pointing at it.
    const sig = items.map((li) => li.textContent + li.className).join("|");
    if (sig === this.listSig) return;
    const had = document.activeElement && this.listEl.contains(document.activeElement) ? document.activeElement.dataset.lesson : "";
    this.listSig = sig;
    this.listEl.replaceChildren(...items);
    if (had) this.listEl.querySelector(`[data-lesson="${CSS.escape(had)}"]`)?.focus();
  }

  // build makes the view of lesson id; update() brings it up to date.
  build(id) {
    const l = this.lessons[this.index(id)];
    const v = { id, steps: [] };
    v.title = h("h3", { class: "lesson-title", id: "lesson-title", tabIndex: -1, text: this.numbered(id) });
    v.status = h("p", { class: "lesson-status" });
    v.start = h("button", { type: "button", class: "btn primary small", onclick: () => this.start(id) });
    v.restart = h("button", { type: "button", class: "btn small", onclick: () => this.restart(id), text: t("learn.lesson.restart") });
    v.notice = h("p", { class: "lesson-notice", hidden: true });
    v.problem = h("p", { class: "error-text", role: "alert", hidden: true });
    const list = h("ol", { class: "lesson-steps", "aria-labelledby": "lesson-steps-h" });
    l.steps.forEach((step, i) => {
      const n = i + 1;
      const key = `lesson.${id}.step${n}`;
      const s = { n, ask: step.ask || "", hints: step.hints || 0 };
      s.mark = h("span", { class: "lstep-mark", "aria-hidden": "true" });
      s.sr = h("span", { class: "sr-only" });
      s.text = h("p", { class: "lstep-text", id: `lesson-step-${n}` }, s.sr, has(key) ? t(key) : key);
      s.hintList = h("ul", { class: "lstep-hints" });
      s.hintBtn = h("button", { type: "button", class: "link hint-btn", onclick: () => this.hint(id, i) });
      s.did = h("p", { class: "lstep-did", hidden: true });
      const body = [s.text];
      if (s.ask) {
        const inputId = `lesson-${id}-answer-${n}`;
        s.input = h("input", { id: inputId, type: s.ask === "number" ? "number" : "text", class: "lstep-input", autocomplete: "off", spellcheck: "false", inputmode: s.ask === "number" ? "numeric" : undefined, min: s.ask === "number" ? "0" : undefined });
        s.input.addEventListener("input", () => {
          const a = this.answers.get(n);
          if (a && (a.verdict === "wrong" || a.verdict === "empty")) {
            this.answers.delete(n);
            this.touch();
          }
        });
        s.check = h("button", { type: "submit", class: "btn small", text: t("learn.lesson.check") });
        s.verdict = h("p", { class: "lstep-verdict", role: "status" });
        s.form = h(
          "form",
          { class: "lstep-ask", novalidate: true },
          h("label", { for: inputId, class: "lstep-ask-label", text: has(`${key}.ask`) ? t(`${key}.ask`) : t("learn.lesson.your_answer") }),
          h("div", { class: "lstep-ask-row" }, s.input, s.check),
          s.verdict,
        );
        s.form.addEventListener("submit", (e) => {
          e.preventDefault();
          const value = s.input.value.trim();
          if (!value) {
            this.answers.set(n, { verdict: "empty", value: "" });
            this.touch();
            s.input.focus();
            return;
          }
          this.answer(id, n, value);
        });
        body.push(s.form);
      }
      body.push(s.hintList, s.hintBtn, s.did);
      s.li = h("li", { class: "lstep", "aria-labelledby": `lesson-step-${n}` }, s.mark, h("div", { class: "lstep-body" }, ...body));
      list.append(s.li);
      v.steps.push(s);
    });
    v.explain = h("section", { class: "lesson-explain", "aria-labelledby": "lesson-explain-h", hidden: true }, h("h4", { id: "lesson-explain-h", text: t("learn.lesson.explain") }), h("p", { text: has(`lesson.${id}.explain`) ? t(`lesson.${id}.explain`) : "" }));
    v.finished = h("p", { class: "lesson-finished", hidden: true });
    const next = this.lessons[this.index(id) + 1];
    v.next = next ? h("button", { type: "button", class: "btn primary small lesson-next", hidden: true, onclick: () => this.next(next.id), text: t("learn.lesson.next", { title: this.numbered(next.id) }) }) : null;
    const concepts = (l.concepts || []).filter((c) => has(`concept.${c}.term`));
    const conceptLinks = concepts.length
      ? h("p", { class: "lesson-concepts" }, h("span", { text: t("learn.lesson.concepts") }), " ", ...concepts.flatMap((c, i) => [i ? ", " : "", h("button", { type: "button", class: "link", onclick: () => this.d.concept(c), text: t(`concept.${c}.term`) })]))
      : null;
    this.view = v;
    // (The last lesson has no Next, a lesson with no concepts no links:
    // replaceChildren would write null as text.)
    const parts = [
      h("button", { type: "button", class: "link back", onclick: () => this.show("") }, h("span", { "aria-hidden": "true", text: "← " }), t("learn.lesson.back")),
      v.title,
      v.status,
      h("p", { class: "lesson-goal" }, h("strong", { text: t("learn.lesson.goal") }), " ", has(`lesson.${id}.goal`) ? t(`lesson.${id}.goal`) : ""),
      conceptLinks,
      h("div", { class: "lesson-actions" }, v.start, v.restart),
      v.notice,
      v.problem,
      h("h4", { class: "lesson-steps-h", id: "lesson-steps-h", text: t("learn.lesson.steps") }),
      list,
      v.finished,
      v.explain,
      v.next,
    ];
    this.lessonEl.replaceChildren(...parts.filter(Boolean));
  }

  update() {
    const v = this.view;
    const id = v.id;
    const rec = this.progress.data.lessons[id] || { steps: [], hints: [] };
    const passed = !!rec.passed;
    const running = this.active === id;
    const st = this.status(id);
    setText(v.status, st.text);
    v.status.className = `lesson-status ${st.cls}`;
    const ro = !!this.d.readOnly;
    v.start.hidden = running || passed || ro;
    setText(v.start, this.progress.current === id || this.stalled === id ? t("learn.lesson.start_again") : t("learn.lesson.start"));
    v.restart.hidden = !(running || passed) || ro;
    setText(v.restart, passed ? t("learn.lesson.again") : t("learn.lesson.restart"));
    const notice =
      this.stalled === id
        ? t("learn.lesson.too_many", { title: this.title(id) })
        : this.notice && this.notice.id === id
          ? t(this.notice.key)
          : !running && !passed
            ? t(ro ? "replay.lesson.not_started" : "learn.lesson.not_started")
            : "";
    v.notice.hidden = !notice;
    setText(v.notice, notice);
    v.problem.hidden = !this.problem;
    setText(v.problem, this.problem);
    let firstOpen = true;
    v.steps.forEach((s, i) => {
      const done = !!(rec.steps[i] && rec.steps[i].done);
      s.li.className = `lstep${done ? " done" : ""}${!done && firstOpen && running ? " now" : ""}`;
      if (!done && running) firstOpen = false;
      setText(s.mark, done ? "✓" : String(s.n));
      setText(s.sr, done ? t("learn.lesson.sr_done") : t("learn.lesson.sr_todo"));
      // Hints: the ones shown so far, and a button for the next.
      const shown = Math.min(rec.hints[i] || 0, s.hints);
      if (s.hintList.children.length !== shown) {
        s.hintList.replaceChildren(...Array.from({ length: shown }, (_, k) => h("li", { text: t(`lesson.${id}.step${s.n}.hint${k + 1}`) })));
      }
      s.hintBtn.hidden = done || shown >= s.hints;
      setText(s.hintBtn, shown ? t("learn.lesson.hint_more", { k: shown + 1, n: s.hints }) : t("learn.lesson.hint_first", { n: s.hints }));
      // What did the step, with a link to it while it is in this session's traffic.
      s.did.hidden = !done;
      if (done) this.did(s, rec.steps[i]);
      if (s.form) {
        s.form.hidden = done;
        const a = this.answers.get(s.n);
        s.input.disabled = s.check.disabled = !running || ro;
        s.check.hidden = ro;
        // A replay shows the answer given, as it was typed.
        if (ro) s.input.value = a ? a.value : "";
        const verdict = !running && !ro ? t("learn.lesson.answer_start_first") : a ? VERDICTS[a.verdict](a.value) : "";
        setText(s.verdict, verdict);
        const bad = !!a && (a.verdict === "wrong" || a.verdict === "empty");
        s.verdict.className = `lstep-verdict${bad ? " wrong" : ""}`;
        if (bad) s.input.setAttribute("aria-invalid", "true");
        else s.input.removeAttribute("aria-invalid");
      }
    });
    v.explain.hidden = !passed;
    v.finished.hidden = !passed;
    if (passed && rec.at) setText(v.finished, t("learn.lesson.finished_at", { when: new Date(rec.at).toLocaleString(document.documentElement.lang || undefined) }));
    if (v.next) v.next.hidden = !passed || ro;
  }

  // did shows the evidence of a done step.
  did(s, step) {
    const what = step.fact ? factText(step.fact) : t("learn.lesson.did_unknown");
    const live = step.session === this.session && step.seq && this.d.eventAt(step.seq);
    const sig = `${what}|${live ? 1 : 0}`;
    if (s.didSig === sig) return;
    s.didSig = sig;
    const label = h("span", { class: "lstep-did-label", text: t("learn.lesson.did") });
    const body = live ? h("button", { type: "button", class: "link", onclick: () => this.d.reveal(step.seq), title: t("learn.lesson.did_show"), text: what }) : h("span", { class: "lstep-did-text", text: what });
    s.did.replaceChildren(label, " ", body);
  }

  hint(id, i) {
    const rec = this.progress.lesson(id);
    rec.hints[i] = (rec.hints[i] || 0) + 1;
    this.progress.save();
    this.dirty = true;
    this.render();
    const s = this.view.steps[i];
    const last = s.hintList.lastElementChild;
    if (last) this.d.say(last.textContent);
    // The button moved or went: keep the focus near.
    if (!s.hintBtn.hidden) s.hintBtn.focus();
    else if (last) {
      last.tabIndex = -1;
      last.focus();
    }
  }

  next(id) {
    this.show(id);
    if (!this.progress.lesson(id).passed) this.start(id);
  }

  /** The language changed: every text is made again. */
  relang() {
    this.listSig = "";
    this.touch(true);
  }
}
