// The replay page's player bar (web/replay.templ): open a recording with
// the file chooser or by dropping it on the page, then play and pause,
// step one event, jump to either end, scrub, choose the speed and whether
// long silences are shortened. The events go into the page's own views
// exactly as live ones do (app.js applyEvent); replay.js reads the file
// and keeps the time.
//
// Keyboard: Space plays or pauses, ← and → step one event (anywhere but
// in a text field, a list of tabs or radio buttons); on the slider, ← ↓
// and → ↑ step, Home and End jump, Page Up and Page Down move a tenth.
// Where the replay is, is said politely when it stops moving: paused,
// stepped, sought or ended.

import { $, h, setText } from "../dom.js";
import { msg, num, t, tn } from "../i18n.js";
import { Cancelled, LogError, Player, clockText, digitsFor, readLog } from "../replay.js";

// Up to this many events, dragging the slider moves the views along with
// it; a longer log is sought when the slider is let go.
const LIVE_SCRUB = 20000;

/**
 * startReplay makes the player. deps: store, apply(ev, bytes, quiet) and
 * resetViews() (app.js), schedule() (a frame that draws the views),
 * announce(text), codeView (its replay(file) shows the recording's code).
 */
export function startReplay(deps) {
  return new ReplayBar(deps);
}

class ReplayBar {
  constructor(deps) {
    this.d = deps;
    this.bar = $("replay");
    this.openBtn = $("rp-open");
    this.input = $("rp-file");
    this.name = $("rp-name");
    this.startBtn = $("rp-start");
    this.backBtn = $("rp-back");
    this.playBtn = $("rp-play");
    this.playText = $("rp-play-text");
    this.fwdBtn = $("rp-fwd");
    this.endBtn = $("rp-end");
    this.slider = $("rp-slider");
    this.time = $("rp-time");
    this.eventText = $("rp-event");
    this.silence = $("rp-silence");
    this.speed = $("rp-speed");
    this.skip = $("rp-skip");
    this.errorEl = $("rp-error");
    this.live = $("rp-live");
    this.drop = $("rp-drop");
    this.captureBtn = $("rp-capture");

    this.log = null; // the recording open: readLog's result
    this.file = null; // its file
    this.fileName = "";
    this.capturing = false; // a capture is being made
    this.loadGen = 0; // counts files opened: a slower read of an earlier one is dropped
    this.reading = null; // () => the text saying how far the reading is
    this.problem = null; // () => the text of the last failure
    this.dragging = false;
    this.seekTo = -1; // µs: a seek the slider asked for, done at the next frame
    this.sayTimer = 0;

    this.player = new Player({
      apply: (ev, bytes, quiet) => deps.apply(ev, bytes, quiet),
      reset: () => this.reset(),
      changed: () => this.changed(),
    });
    // Ages, waits and countdowns on the cards follow the replay's clock.
    deps.store.clock = () => this.player.clock();
    this.player.setSpeed(this.speedValue());
    this.player.setSkip(this.skip.checked);

    this.pageTexts();
    this.wire();
    this.changed();
  }

  // pageTexts words the page's own texts for a replay: the empty sockets
  // and traffic, the skip link, the mode.
  pageTexts() {
    const word = (el, key) => {
      if (!el) return;
      el.dataset.i18n = key;
      el.textContent = t(key);
    };
    word($("cards-empty"), "replay.sockets_empty");
    word($("tl-empty"), "replay.traffic_empty");
    const skip = document.querySelector("a.skip");
    if (skip) {
      skip.href = "#replay";
      word(skip, "replay.skip");
    }
    word(document.querySelector(".brand .pill"), "replay.mode");
  }

  wire() {
    this.openBtn.addEventListener("click", () => this.input.click());
    this.input.addEventListener("change", () => {
      const f = this.input.files && this.input.files[0];
      this.input.value = ""; // the same file can be chosen again
      if (f) this.open(f);
    });
    this.playBtn.addEventListener("click", () => {
      this.player.toggle();
      if (!this.player.playing) this.sayPosition();
    });
    this.startBtn.addEventListener("click", () => this.jump(0));
    this.endBtn.addEventListener("click", () => this.jump(this.player.n));
    this.backBtn.addEventListener("click", () => this.stepBy(-1));
    this.fwdBtn.addEventListener("click", () => this.stepBy(1));
    this.speed.addEventListener("change", () => this.player.setSpeed(this.speedValue()));
    this.skip.addEventListener("change", () => this.player.setSkip(this.skip.checked));
    this.captureBtn.addEventListener("click", () => this.capture());

    // The slider: dragging seeks (at most once a frame); keys step.
    const s = this.slider;
    s.addEventListener("pointerdown", () => (this.dragging = true));
    const letGo = () => {
      if (!this.dragging) return;
      this.dragging = false;
      this.changed();
    };
    s.addEventListener("pointerup", letGo);
    s.addEventListener("pointercancel", letGo);
    s.addEventListener("input", () => {
      this.seekTo = Number(s.value) * 1000;
      if (this.player.n <= LIVE_SCRUB) requestAnimationFrame(() => this.scrub());
      else this.preview(this.seekTo);
    });
    s.addEventListener("change", () => {
      this.dragging = false;
      this.scrub();
      this.sayPosition();
    });
    s.addEventListener("keydown", (e) => {
      const p = this.player;
      switch (e.key) {
        case "ArrowLeft":
        case "ArrowDown":
          this.stepBy(-1);
          break;
        case "ArrowRight":
        case "ArrowUp":
          this.stepBy(1);
          break;
        case "Home":
          this.jump(0);
          break;
        case "End":
          this.jump(p.n);
          break;
        case "PageUp":
        case "PageDown":
          p.seekTime(p.pos + (e.key === "PageUp" ? 1 : -1) * (p.duration / 10));
          this.sayPosition();
          break;
        default:
          return;
      }
      e.preventDefault();
    });

    document.addEventListener("keydown", (e) => this.onKey(e));
    this.dropZone();
    document.addEventListener("langchange", () => {
      this.pageTexts();
      this.changed();
    });
  }

  speedValue() {
    return this.speed.value === "instant" ? Infinity : Number(this.speed.value);
  }

  // onKey: Space plays or pauses, ← → step, where those keys are not the
  // focused control's own.
  onKey(e) {
    if (!this.log || e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey) return;
    const el = e.target instanceof Element ? e.target : document.body;
    const tag = el.tagName;
    const type = tag === "INPUT" ? el.type : "";
    if (el.isContentEditable || tag === "TEXTAREA" || tag === "SELECT" || (tag === "INPUT" && !["range", "checkbox", "button"].includes(type))) return;
    if (e.key === " ") {
      // A button, link or checkbox does its own thing with Space.
      if (tag === "BUTTON" || tag === "A" || tag === "SUMMARY" || type === "checkbox" || el.getAttribute("role") === "tab") return;
      e.preventDefault();
      this.player.toggle();
      if (!this.player.playing) this.sayPosition();
    } else if (e.key === "ArrowLeft" || e.key === "ArrowRight") {
      if (el === this.slider || el.closest('[role="tablist"], [role="radiogroup"]')) return;
      e.preventDefault();
      this.stepBy(e.key === "ArrowRight" ? 1 : -1);
    }
  }

  // dropZone lets a file be dropped anywhere on the page.
  dropZone() {
    let depth = 0;
    const files = (e) => !!e.dataTransfer && [...e.dataTransfer.types].includes("Files");
    document.addEventListener("dragenter", (e) => {
      if (!files(e)) return;
      e.preventDefault();
      depth++;
      this.drop.hidden = false;
    });
    document.addEventListener("dragover", (e) => {
      if (!files(e)) return;
      e.preventDefault();
      e.dataTransfer.dropEffect = "copy";
    });
    document.addEventListener("dragleave", (e) => {
      if (!files(e)) return;
      depth = Math.max(0, depth - 1);
      if (depth === 0) this.drop.hidden = true;
    });
    document.addEventListener("drop", (e) => {
      if (!files(e)) return;
      e.preventDefault();
      depth = 0;
      this.drop.hidden = true;
      const f = e.dataTransfer.files[0];
      if (f) this.open(f);
    });
  }

  // ---- Opening a recording -------------------------------------------------

  /** Reads file and, if it is a log, replays it from the start. */
  async open(file) {
    const gen = ++this.loadGen;
    const name = file.name || "log.jsonl";
    this.fail(null);
    const began = performance.now();
    this.reading = () => t("replay.reading", { name, pct: 0 });
    this.bar.dataset.loading = "";
    this.changed();
    let log;
    try {
      log = await readLog(file, {
        progress: (f) => {
          if (gen !== this.loadGen) return;
          const pct = Math.floor(f * 100);
          this.reading = () => t("replay.reading", { name, pct });
          this.changed();
        },
        cancelled: () => gen !== this.loadGen,
      });
    } catch (err) {
      if (err instanceof Cancelled || gen !== this.loadGen) return;
      this.reading = null;
      delete this.bar.dataset.loading;
      const why = err instanceof LogError ? () => t(err.key, err.vars) : () => t("replay.error.read", { why: err.message || String(err) });
      const kept = !!this.log;
      this.fail(() => `${t("replay.failed", { name, why: why() })}${kept ? ` ${t("replay.kept")}` : ""}`);
      this.changed();
      return;
    }
    if (gen !== this.loadGen) return;
    const readMs = performance.now() - began;
    this.reading = null;
    delete this.bar.dataset.loading;
    this.log = log;
    this.file = file;
    this.fileName = name;
    this.d.codeView.replay(file);
    const loaded = performance.now();
    this.player.load(log);
    // How long reading and the first drawing took, for whoever measures.
    Object.assign(this.bar.dataset, { events: String(log.events.length), readMs: readMs.toFixed(0), readAt: loaded.toFixed(0), loadMs: (performance.now() - loaded).toFixed(0) });
    const p = this.player;
    const said = [t("replay.opened", { name, events: tn("replay.events", p.n), time: clockText(p.length, this.digits) })];
    if (log.header.first > 1 && log.header.sockets) said.push(t("replay.began_at", { first: log.header.first }));
    if (p.n === 0) said.push(t("replay.empty_log"));
    this.say(said.join(" "));
    if (p.n > 0) p.play();
  }

  /**
   * capture saves the recording's traffic as a pcapng file, which the
   * server makes from the log (POST /replay/capture.pcapng, docs/protocol.md
   * §15.7), to open in Wireshark.
   */
  async capture() {
    if (!this.file || this.capturing) return;
    const file = this.file;
    const name = `${this.fileName.replace(/\.(jsonl|ndjson|json|log|txt)$/i, "")}.pcapng`;
    this.capturing = true;
    this.captureBtn.setAttribute("aria-busy", "true");
    this.fail(null);
    this.say(t("replay.capture.making", { name }));
    this.changed();
    try {
      const res = await fetch("/replay/capture.pcapng", { method: "POST", body: file, headers: { "Content-Type": "application/jsonl" }, cache: "no-store" });
      if (res.status === 404 || res.status === 405 || res.status === 501) throw new LogError("replay.capture.unavailable");
      if (res.status === 413) throw new LogError("replay.capture.too_big");
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const url = URL.createObjectURL(await res.blob());
      const a = h("a", { href: url, download: name, hidden: true });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60000);
      if (file === this.file) this.say(t("replay.capture.saved", { name }));
    } catch (err) {
      if (file === this.file) {
        const why = err instanceof LogError ? () => t(err.key, err.vars) : () => err.message || String(err);
        this.fail(() => t("replay.capture.failed", { why: why() }));
      }
    } finally {
      this.capturing = false;
      this.captureBtn.removeAttribute("aria-busy");
      this.changed();
    }
  }

  // reset empties the views and puts back the state before the first
  // event: a log that begins after the session's start has the sockets
  // open then in its header (docs/protocol.md §15.6).
  reset() {
    this.d.resetViews();
    const h = this.log && this.log.header;
    if (h && h.sockets) this.d.store.sync(h.sockets, h.first);
  }

  // fail shows why a file could not be opened (a function that words it),
  // or hides the message (null).
  fail(text) {
    this.problem = text;
    this.errorEl.hidden = !text;
    setText(this.errorEl, text ? msg(text) : "");
  }

  // ---- Moving --------------------------------------------------------------

  stepBy(d) {
    this.player.step(d);
    this.sayPosition();
  }

  jump(k) {
    this.player.seekEvent(k);
    this.sayPosition();
  }

  // scrub does the seek the slider asked for.
  scrub() {
    if (this.seekTo < 0) return;
    const p = this.seekTo;
    this.seekTo = -1;
    this.player.seekTime(p);
  }

  // ---- Drawing -------------------------------------------------------------

  /** How many decimals of the second the times have: more for a short recording. */
  get digits() {
    return digitsFor(this.player.length);
  }

  // changed brings the bar up to date, and asks for the views to be drawn.
  changed() {
    const p = this.player;
    const has = !!this.log;
    this.bar.dataset.state = has ? "ready" : "empty";
    if (p.playing) this.bar.dataset.playing = "";
    else delete this.bar.dataset.playing;
    this.nameLine();
    setText(this.errorEl, this.problem ? msg(this.problem) : "");
    const none = !has || p.n === 0;
    this.disable(this.startBtn, none || p.k === 0);
    this.disable(this.backBtn, none || p.k === 0);
    this.disable(this.fwdBtn, none || p.k >= p.n);
    this.disable(this.endBtn, none || p.k >= p.n);
    this.disable(this.playBtn, none);
    this.slider.disabled = none;
    this.captureBtn.disabled = !has; // (while a capture is being made, a press does nothing: it keeps the focus)
    // The button says Play, Pause or Play again; its name says what it plays
    // (the traffic view has a Pause of its own).
    const [word, label] = p.playing ? ["replay.pause", "replay.pause_label"] : p.ended && p.n > 0 ? ["replay.again", "replay.again_label"] : ["replay.play", "replay.play_label"];
    setText(this.playText, t(word));
    if (this.playBtn.getAttribute("aria-label") !== t(label)) this.playBtn.setAttribute("aria-label", t(label));
    const max = String(p.duration / 1000);
    if (this.slider.max !== max) this.slider.max = max;
    if (!this.dragging) this.slider.value = String(p.pos / 1000);
    const pos = this.positionText();
    setText(this.time, pos.time);
    setText(this.eventText, pos.event);
    this.slider.setAttribute("aria-valuetext", pos.value);
    const gap = p.silence;
    this.silence.hidden = !gap;
    if (gap) setText(this.silence, t("replay.silence", { s: num(Math.round(gap / 1e5) / 10) }));
    if (p.ended && this.wasPlaying) this.sayPosition(t("replay.ended"));
    this.wasPlaying = p.playing;
    this.d.schedule();
  }

  // disable disables a button; the focus it had goes to Play, not to the page.
  disable(btn, off) {
    if (btn.disabled === off) return;
    const had = off && document.activeElement === btn;
    btn.disabled = off;
    if (had) (this.playBtn.disabled ? this.slider : this.playBtn).focus();
  }

  // positionText words where the replay is.
  positionText() {
    const p = this.player;
    const digits = this.digits;
    const at = clockText(p.at, digits);
    const total = clockText(p.length, digits);
    const k = num(p.k);
    const n = num(p.n);
    return { time: t("replay.time", { at, total }), event: t("replay.event", { k, n }), value: t("replay.valuetext", { at, total, k, n }) };
  }

  // preview shows where the slider is while a long log waits for it to be let go.
  preview(us) {
    const p = this.player;
    const digits = this.digits;
    setText(this.time, t("replay.time", { at: clockText(p.original(us), digits), total: clockText(p.length, digits) }));
  }

  nameLine() {
    if (this.reading || !this.log) {
      this.nameSig = "";
      setText(this.name, this.reading ? this.reading() : "");
      return;
    }
    const p = this.player;
    const session = this.log.header.session;
    const events = tn("replay.events", p.n);
    const sig = `${this.fileName} ${session} ${events}`;
    if (this.nameSig === sig) return;
    this.nameSig = sig;
    // "session {session}": the id (data, not words) in its own element.
    const meta = h("span", { class: "rp-meta" });
    if (session) {
      const [before, after] = t("replay.session").split("{session}");
      meta.append(before, h("code", { text: session }), after ?? "", " · ");
    }
    meta.append(events);
    this.name.replaceChildren(h("strong", { text: this.fileName, title: this.fileName }), meta);
  }

  // sayPosition says where the replay is, once it stops moving (after a
  // burst of steps, only the last), with news before it.
  sayPosition(news = "") {
    clearTimeout(this.sayTimer);
    this.sayTimer = setTimeout(() => {
      const pos = this.positionText();
      this.say(news ? `${news} ${pos.value}` : pos.value);
    }, 250);
  }

  say(text) {
    setText(this.live, "");
    requestAnimationFrame(() => setText(this.live, text));
  }
}
