// Replaying a session from its log (docs/protocol.md §13, §15.6): reading
// the JSON lines file in the browser, and a player that hands its events
// to the page exactly as live events are handed over (app.js applyEvent),
// with their original timing — play, pause, speed, scrub, step.
//
// The reader works through the file a slice at a time, giving the page
// back between slices, so a file of tens of megabytes loads without
// freezing the tab. It refuses what is not a log with a LogError that names
// the line (its key and values are a message of the catalog, replay.json).
//
// The player's clock: each event i plays at P[i], µs from the first event.
// Without skipping, P[i] is the event's own time (t − t of the first).
// Skipping silences, a gap of more than CAP_US between two events plays in
// CAP_US, and the recording's clock (what the page shows as the time) runs
// through the gap faster to make up. Seeking backwards empties every view
// and applies the events from the first again, with nothing drawn or said
// in between: the views end exactly as if played from the start.

/** The format and version this page reads (§13). */
export const LOG_FORMAT = "socket-playground-log";
export const LOG_VERSION = 1;

/** The longest line a log may have (§13), in characters. */
export const MAX_LINE = 4 << 20;

/** Silences longer than this play in this long when skipping them, µs. */
export const CAP_US = 2e6;

/** The speeds offered; Infinity plays everything at once ("instant"). */
export const SPEEDS = [0.25, 0.5, 1, 2, 4, 16, Infinity];

// How long the reader and the player work before giving the page back, ms.
const SLICE_MS = 12;

// How often the page is drawn while playing at Instant speed, ms.
const INSTANT_DRAW_MS = 200;

/** Why a file is not a log: key is a message (replay.error.*), vars its values. */
export class LogError extends Error {
  constructor(key, vars = {}) {
    super(`${key} ${JSON.stringify(vars)}`);
    this.key = key;
    this.vars = vars;
  }
}

/** Thrown by readLog when cancelled() says so. */
export class Cancelled extends Error {}

// yieldNow gives the page back (input, rendering) and resumes soon after.
function yieldNow() {
  if (globalThis.scheduler && typeof globalThis.scheduler.yield === "function") return globalThis.scheduler.yield();
  return new Promise((resolve) => setTimeout(resolve, 0));
}

// base64 decodes standard base64, or throws.
const base64 =
  typeof Uint8Array.fromBase64 === "function"
    ? (s) => Uint8Array.fromBase64(s)
    : (s) => {
        const bin = atob(s);
        const out = new Uint8Array(bin.length);
        for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
        return out;
      };

// Event types whose bytes are the event's payload: a missing "data" is an
// empty payload (an empty datagram), as a live binary event would bring.
const EMPTY = new Uint8Array(0);
function payloadless(ev) {
  if (ev.len) return null; // the bytes should be there: not shown
  if (ev.type === "data" || ev.type === "sent") return EMPTY;
  if (ev.type === "relay" && (ev.relay === "chunk" || ev.relay === "drop" || ev.relay === "hold")) return EMPTY;
  return null;
}

/**
 * readLog reads a log file (a Blob or File). It resolves to
 * { header, events, bytes, size }: the header line as an object, the
 * events in order (each as the protocol spells it, without "data"), and
 * each event's bytes (a Uint8Array, or null). It rejects with a LogError
 * that names the line where the file stops being a log, with Cancelled
 * when cancelled() becomes true, or with the browser's error if the file
 * cannot be read. progress(fraction) is called between slices.
 */
export async function readLog(file, { progress = () => {}, cancelled = () => false } = {}) {
  if (!file || file.size === 0) throw new LogError("replay.error.empty");
  const size = file.size;
  const reader = file.stream().getReader();
  const decoder = new TextDecoder("utf-8");
  let header = null;
  const events = [];
  const bytes = [];
  let lineNo = 0;
  let prevSeq = 0;
  let prevT = 0;

  const line = (raw) => {
    lineNo++;
    let s = raw.charCodeAt(raw.length - 1) === 13 ? raw.slice(0, -1) : raw; // "\r\n"
    if (s.length > MAX_LINE) throw new LogError("replay.error.too_long", { line: lineNo });
    if (lineNo === 1) {
      if (s.charCodeAt(0) === 0xfeff) s = s.slice(1); // a byte order mark
      header = readHeader(s);
      return;
    }
    if (s.trim() === "") return; // a blank line: nothing
    let ev;
    try {
      ev = JSON.parse(s);
    } catch {
      throw new LogError("replay.error.json", { line: lineNo });
    }
    if (!ev || typeof ev !== "object" || Array.isArray(ev) || typeof ev.type !== "string" || !Number.isSafeInteger(ev.seq) || ev.seq < 1) {
      throw new LogError("replay.error.event", { line: lineNo });
    }
    if (ev.seq <= prevSeq) throw new LogError("replay.error.order", { line: lineNo, seq: ev.seq, prev: prevSeq });
    prevSeq = ev.seq;
    // A missing time is the time before: the event is shown, and takes none.
    if (typeof ev.t !== "number" || !Number.isFinite(ev.t)) ev.t = prevT;
    prevT = ev.t;
    let b = null;
    if ("data" in ev) {
      if (typeof ev.data !== "string") throw new LogError("replay.error.data", { line: lineNo });
      try {
        b = base64(ev.data);
      } catch {
        throw new LogError("replay.error.data", { line: lineNo });
      }
      delete ev.data; // a live event has its bytes beside it, not in it
    } else {
      b = payloadless(ev);
    }
    events.push(ev);
    bytes.push(b);
  };

  let rest = "";
  let read = 0;
  let slice = performance.now();
  const pause = async () => {
    if (performance.now() - slice < SLICE_MS) return;
    progress(read / size);
    await yieldNow();
    if (cancelled()) throw new Cancelled();
    slice = performance.now();
  };
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (cancelled()) throw new Cancelled();
      if (done) break;
      read += value.length;
      const text = rest + decoder.decode(value, { stream: true });
      let start = 0;
      for (let nl = text.indexOf("\n"); nl >= 0; nl = text.indexOf("\n", start)) {
        line(text.slice(start, nl));
        start = nl + 1;
        if ((lineNo & 63) === 0) await pause();
      }
      rest = start ? text.slice(start) : text;
      if (rest.length > MAX_LINE) throw new LogError("replay.error.too_long", { line: lineNo + 1 });
      await pause();
    }
    rest += decoder.decode();
    if (rest !== "") line(rest);
  } finally {
    reader.cancel().catch(() => {});
  }
  if (!header) throw new LogError("replay.error.empty");
  progress(1);
  return { header, events, bytes, size };
}

// readHeader checks a log's first line (§13, §15.6) and returns it.
function readHeader(s) {
  let h;
  try {
    h = JSON.parse(s);
  } catch {
    throw new LogError("replay.error.not_log");
  }
  if (!h || typeof h !== "object" || Array.isArray(h) || !("format" in h)) throw new LogError("replay.error.not_log");
  if (h.format !== LOG_FORMAT) throw new LogError("replay.error.format", { format: String(h.format) });
  if (h.version !== LOG_VERSION) throw new LogError("replay.error.version", { version: String(h.version) });
  if (h.sockets !== undefined && !Array.isArray(h.sockets)) throw new LogError("replay.error.sockets");
  return {
    format: h.format,
    version: h.version,
    session: typeof h.session === "string" ? h.session : "",
    first: Number.isSafeInteger(h.first) && h.first > 0 ? h.first : 0,
    sockets: h.sockets || null,
  };
}

/**
 * Player plays a log into the page. deps:
 *   apply(ev, bytes, quiet)  applies one event to the model and the views
 *                            (quiet: nothing said aloud, as in a rebuild)
 *   reset()                  empties every view and puts back the state
 *                            before the first event (the header's sockets)
 *   changed()                the position or the state changed: draw
 *
 * Its state: n events, k of them applied (the first k), pos (µs on the
 * playback clock, from 0 to duration), playing, speed, skip (silences
 * shortened), ended (played to the last event).
 */
export class Player {
  constructor(deps) {
    this.d = deps;
    this.log = null;
    this.n = 0;
    this.k = 0;
    this.pos = 0;
    this.playing = false;
    this.ended = false;
    this.speed = 1;
    this.skip = true;
    this.T = new Float64Array(0); // each event's own time, µs from the first event (never going back)
    this.P = new Float64Array(0); // when each event plays, µs on the playback clock
    this.t0 = 0; // µs since the epoch of the first event
    this.timer = 0;
    this.last = 0;
    this.gen = 0; // counts loads: a frame of the one before does nothing
    this.drawnAt = 0; // when a frame last had the page drawn (performance.now())
  }

  /** Loads a log (readLog's result) and stands at its start, paused. */
  load(log) {
    this.stop();
    this.gen++;
    this.log = log;
    this.n = log.events.length;
    this.T = new Float64Array(this.n);
    this.t0 = this.n ? log.events[0].t : 0;
    for (let i = 0; i < this.n; i++) this.T[i] = Math.max(i ? this.T[i - 1] : 0, log.events[i].t - this.t0);
    this.timeline();
    this.d.reset();
    this.k = 0;
    this.pos = 0;
    this.ended = this.n === 0;
    this.d.changed();
  }

  // timeline works out when each event plays.
  timeline() {
    const { T } = this;
    const P = new Float64Array(this.n);
    for (let i = 1; i < this.n; i++) {
      const gap = T[i] - T[i - 1];
      P[i] = P[i - 1] + (this.skip ? Math.min(gap, CAP_US) : gap);
    }
    this.P = P;
  }

  /** The length of the replay on the playback clock, µs. */
  get duration() {
    return this.n ? this.P[this.n - 1] : 0;
  }

  /** The length of the recording, µs. */
  get length() {
    return this.n ? this.T[this.n - 1] : 0;
  }

  /** Where the replay is on the recording's clock, µs from its first event. */
  get at() {
    return this.original(this.pos);
  }

  // original maps a time on the playback clock to the recording's.
  original(p) {
    const { P, T, n } = this;
    if (n === 0 || p <= 0) return 0;
    if (p >= P[n - 1]) return T[n - 1];
    const i = upper(P, p); // P[i-1] <= p < P[i]
    const span = P[i] - P[i - 1];
    return span > 0 ? T[i - 1] + ((p - P[i - 1]) / span) * (T[i] - T[i - 1]) : T[i - 1];
  }

  /** The page's clock during a replay (Store.clock): ms since the epoch, on the recording's clock. */
  clock() {
    return (this.t0 + this.at) / 1000;
  }

  /**
   * The silence being skipped now, in µs of the recording (0: none): the
   * gap before the next event, while it plays shortened.
   */
  get silence() {
    if (!this.skip || !this.playing || this.k === 0 || this.k >= this.n) return 0;
    const gap = this.T[this.k] - this.T[this.k - 1];
    return gap > CAP_US ? gap : 0;
  }

  /** The event at index i: { ev, bytes }. */
  event(i) {
    return { ev: this.log.events[i], bytes: this.log.bytes[i] };
  }

  // ---- Controls ----------------------------------------------------------

  play() {
    if (this.n === 0) return;
    if (this.k >= this.n) this.seekEvent(0); // at the end: from the start again
    this.playing = true;
    this.ended = false;
    this.last = performance.now();
    this.later();
    this.d.changed();
  }

  pause() {
    if (!this.playing) return;
    this.stop();
    this.d.changed();
  }

  toggle() {
    if (this.playing) this.pause();
    else this.play();
  }

  // stop stops the frames, saying nothing.
  stop() {
    this.playing = false;
    if (this.timer) {
      cancelAnimationFrame(this.timer);
      clearTimeout(this.timer);
    }
    this.timer = 0;
  }

  /** Sets the speed: a factor, or Infinity to play what is left at once. */
  setSpeed(x) {
    this.speed = x;
    this.last = performance.now();
    this.d.changed();
  }

  /** Shortens silences longer than CAP_US, or plays them as they were. */
  setSkip(on) {
    if (on === this.skip) return;
    // The position keeps its place on the recording's clock.
    const at = this.at;
    this.skip = on;
    this.timeline();
    this.pos = this.k ? Math.max(this.P[this.k - 1], Math.min(this.playbackOf(at), this.k < this.n ? this.P[this.k] : Infinity)) : 0;
    this.d.changed();
  }

  // playbackOf maps a time on the recording's clock to the playback clock.
  playbackOf(at) {
    const { P, T, n } = this;
    if (n === 0 || at <= 0) return 0;
    if (at >= T[n - 1]) return P[n - 1];
    const i = upper(T, at);
    const span = T[i] - T[i - 1];
    return span > 0 ? P[i - 1] + ((at - T[i - 1]) / span) * (P[i] - P[i - 1]) : P[i - 1];
  }

  /** Goes to time p on the playback clock (µs): the events up to it are applied. */
  seekTime(p) {
    const d = this.duration;
    p = Math.max(0, Math.min(d, p));
    const k = p <= 0 ? 0 : p >= d ? this.n : upper(this.P, p);
    this.seek(k, p);
  }

  /** Goes to just after the first k events (0: before any). */
  seekEvent(k) {
    k = Math.max(0, Math.min(this.n, k));
    this.seek(k, k ? this.P[k - 1] : 0);
  }

  /** One event forward (d = 1) or back (d = -1); playing stops. */
  step(d) {
    this.stop();
    if (d > 0) {
      if (this.k >= this.n) return;
      this.applyAt(this.k, false);
      this.k++;
      this.pos = this.P[this.k - 1];
      this.ended = this.k >= this.n;
      this.d.changed();
    } else {
      this.seekEvent(this.k - 1);
    }
  }

  // seek stands at k events applied and time p: forwards it applies the
  // events between; backwards it empties the views and applies the first
  // k again. Nothing is said aloud on the way.
  seek(k, p) {
    if (k < this.k) {
      this.d.reset();
      this.k = 0;
    }
    for (let i = this.k; i < k; i++) this.applyAt(i, true);
    this.k = k;
    this.pos = p;
    this.ended = this.n > 0 && k >= this.n;
    if (this.ended) this.stop();
    this.last = performance.now();
    this.d.changed();
  }

  applyAt(i, quiet) {
    this.d.apply(this.log.events[i], this.log.bytes[i], quiet);
  }

  // ---- Frames --------------------------------------------------------------

  // later asks for the next frame: an animation frame, or a timer while
  // the tab is hidden (hidden tabs get no frames).
  later() {
    if (this.timer || !this.playing) return;
    const gen = this.gen;
    const go = () => {
      this.timer = 0;
      if (gen === this.gen) this.frame();
    };
    this.timer = document.hidden ? setTimeout(go, 100) : requestAnimationFrame(go);
  }

  // frame applies the events whose time has come, within a time budget;
  // if they do not all fit, the clock waits for them.
  frame() {
    if (!this.playing) return;
    const now = performance.now();
    const dt = Math.max(0, now - this.last);
    this.last = now;
    const instant = this.speed === Infinity;
    const target = instant ? Infinity : this.pos + dt * 1000 * this.speed;
    const deadline = now + SLICE_MS;
    const { P, n } = this;
    let i = this.k;
    let behind = false;
    while (i < n && P[i] <= target) {
      this.applyAt(i, instant);
      i++;
      if ((i & 31) === 0 && performance.now() > deadline) {
        behind = i < n && P[i] <= target;
        break;
      }
    }
    this.k = i;
    this.pos = behind || instant ? (i ? P[i - 1] : 0) : Math.min(target, this.duration);
    if (this.k >= n) {
      this.pos = this.duration;
      this.ended = true;
      this.stop();
    }
    // Playing at once, the page is drawn a few times a second: drawing
    // every frame would cost more than applying the events does.
    const drawn = performance.now();
    if (!instant || !this.playing || drawn - this.drawnAt >= INSTANT_DRAW_MS) {
      this.drawnAt = drawn;
      this.d.changed();
    }
    this.later();
  }
}

// upper is the number of values in the sorted array a that are <= x.
function upper(a, x) {
  let lo = 0, hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * clockText(us, digits) writes a time as mm:ss.s (h:mm:ss.s past an hour),
 * with digits decimals of the second: 1, or 3 or 6 for a recording of a
 * few seconds or less (digitsFor).
 */
export function clockText(us, digits = 1) {
  const unit = 10 ** (6 - digits); // µs per last digit
  const q = Math.floor(Math.max(0, us) / unit);
  const frac = q % 10 ** digits;
  const s = Math.floor(q / 10 ** digits);
  const p = (x, w = 2) => String(x).padStart(w, "0");
  const hh = Math.floor(s / 3600);
  const body = `${p(Math.floor(s / 60) % 60)}:${p(s % 60)}.${p(frac, digits)}`;
  return hh ? `${hh}:${body}` : body;
}

/** How many decimals of the second show a recording of length µs: enough to tell its events apart. */
export function digitsFor(length) {
  return length < 1e5 ? 6 : length < 10e6 ? 3 : 1;
}
