// The toolkit's view of the log (docs/protocol.md §16.2, §16.3): each
// socket's responder rules, how many times each fired, and its repeats —
// folded from the events alone, like every other view, so that they come
// back after a reload (the log is read again from its start) and replay
// from a recording. The state is kept on the store's Sock objects:
//   s.rules   Map rule number -> Rule, the rules in force (in order)
//   s.repeats its last few repeats (Repeat), oldest first
//   s.repeat  the one to show: the one running, else the last; or undefined
// and a firing's rule is found again from its call event (firingOf).

/**
 * A responder rule: its number, match ("contains", "equals", "regex"),
 * pattern and reply as the request spelled them ({ text: "PING" }), how
 * many times it fired, and the seq of its last firing.
 * @typedef {{ rule: number, match: string, pattern: object, reply: object, fired: number, last: number, seq: number }} Rule
 */

/**
 * A repeat: the request's id, its call's seq, count asked for (0: until
 * stopped), interval_ms, template or len, for UDP where to; how many sends
 * were made and their bytes; state "running", "done", "stopped" or
 * "failed", with the error's message.
 * @typedef {{ id: string, seq: number, count: number, interval: number, template: string, len: number, to: string, sent: number, bytes: number, state: string, message: string }} Repeat
 */

// firings: a responder's firing (its call event) -> { rule, sock }: the
// rule it fired and the socket whose rule it is (a listener's, for a
// connection it accepted). The timeline words the firing from it.
const firings = new WeakMap();

/** The rule a firing's call event fired, and whose it is: { rule: Rule, sock: number }, or undefined. */
export function firingOf(ev) {
  return firings.get(ev);
}

/** A repeat's sends count as running while its socket is open and no answer came. */
export function repeatRunning(s) {
  return !!(s && s.repeat && s.repeat.state === "running" && !s.final);
}

export class Toolkit {
  constructor(store) {
    this.store = store;
    this.calls = new Map(); // "epoch:sock:id" -> a respond call, until its answer
  }

  /** Forgets what is not on the sockets (the store was reset). */
  reset() {
    this.calls.clear();
  }

  // rules of s, made when first needed.
  rules(s) {
    if (!s.rules) s.rules = new Map();
    return s.rules;
  }

  /** Applies one timeline entry ({ epoch, sock, ev }) after the store has. */
  apply(entry) {
    const ev = entry.ev;
    if (!ev.sock) return;
    const s = this.store.get(ev.sock, entry.epoch);
    if (!s) return;
    const key = `${entry.epoch}:${ev.sock}:${ev.id}`;
    switch (ev.type) {
      case "call":
        if (ev.op === "respond") this.calls.set(key, ev);
        else if (ev.op === "repeat") {
          this.addRepeat(s, {
            id: ev.id ?? "",
            seq: ev.seq || 0,
            count: ev.count || 0,
            interval: ev.interval_ms || 0,
            template: ev.template || "",
            len: ev.len || 0,
            to: ev.host !== undefined ? hostPort(ev.host, ev.port) : "",
            sent: 0,
            bytes: 0,
            state: "running",
            message: "",
          });
        } else if (ev.rule && (ev.op === "send" || ev.op === "sendto")) this.fired(s, ev);
        break;
      case "result":
        if (ev.op === "respond" && ev.rule) {
          const call = this.calls.get(key);
          this.calls.delete(key);
          this.rules(s).set(ev.rule, { rule: ev.rule, match: call?.match || ev.match || "", pattern: call?.pattern || ev.pattern || null, reply: call?.reply || ev.reply || null, fired: 0, last: 0, seq: ev.seq || 0 });
          this.store.touch(s);
        } else if (ev.op === "unrespond" && ev.rule) {
          this.rules(s).delete(ev.rule);
          this.store.touch(s);
        } else if (ev.op === "repeat") {
          const r = this.repeatOf(s, ev.id);
          if (!r) break;
          r.state = ev.reason ? "stopped" : "done";
          r.message = ev.reason || "";
          if (ev.count !== undefined) r.sent = ev.count;
          if (ev.len !== undefined) r.bytes = ev.len;
          this.pick(s);
        }
        break;
      case "error":
        if (ev.op === "respond") this.calls.delete(key);
        else if (ev.op === "repeat") {
          const r = this.repeatOf(s, ev.id);
          if (!r || r.state !== "running") break;
          r.state = "failed";
          r.message = ev.message || ev.code || "";
          if (ev.count !== undefined) r.sent = ev.count;
          this.pick(s);
        }
        break;
      case "sent":
        if (ev.repeat) {
          const r = this.repeatOf(s, ev.id);
          if (!r) break;
          r.sent = Math.max(r.sent, ev.repeat);
          r.bytes += ev.len || 0;
          this.store.touch(s);
        }
        break;
    }
  }

  // addRepeat adds a repeat to s's (the last few are kept).
  addRepeat(s, r) {
    s.repeats ||= [];
    s.repeats.push(r);
    if (s.repeats.length > 4) s.repeats.splice(0, s.repeats.length - 4);
    this.pick(s);
  }

  // repeatOf is s's repeat of request id; a repeat known only from a sync
  // (its id unknown) is taken to be it when no other is.
  repeatOf(s, id = "") {
    const list = s.repeats || [];
    for (let i = list.length - 1; i >= 0; i--) if (list[i].id === id) return list[i];
    const unnamed = list.find((r) => r.id === null && r.state === "running");
    if (unnamed) unnamed.id = id;
    return unnamed;
  }

  // pick makes s.repeat the repeat to show: the one running, else the last.
  pick(s) {
    const list = s.repeats || [];
    s.repeat = list.findLast((r) => r.state === "running") || list[list.length - 1];
    this.store.touch(s);
  }

  // fired counts a responder's firing (its call event ev on socket s): the
  // rule is the socket's own, or its listener's when the call names the
  // listener as its parent (§16.3).
  fired(s, ev) {
    const owner = ev.parent ? this.store.get(ev.parent, s.epoch) : s;
    const rule = owner?.rules?.get(ev.rule);
    if (!rule) return;
    rule.fired++;
    rule.last = ev.seq || 0;
    firings.set(ev, { rule, sock: owner.id });
    this.store.touch(owner);
  }

  /**
   * Applies what a sync (§15.3) says of the toolkit: each open socket's
   * rules (sockets[].rules: [{ rule, match, pattern, reply }]) and the
   * repeat running on it (sockets[].repeating: the seq of its call, which
   * the page no longer has: its id is taken from its next send).
   */
  sync(msg) {
    for (const x of Array.isArray(msg.sockets) ? msg.sockets : []) {
      const s = x && x.sock > 0 ? this.store.get(x.sock) : null;
      if (!s) continue;
      for (const r of Array.isArray(x.rules) ? x.rules : []) {
        if (!r || !(r.rule > 0)) continue;
        this.rules(s).set(r.rule, { rule: r.rule, match: r.match || "", pattern: r.pattern || null, reply: r.reply || null, fired: 0, last: 0, seq: 0 });
      }
      if (x.repeating) this.addRepeat(s, { id: null, seq: x.repeating, count: 0, interval: 0, template: "", len: 0, to: "", sent: 0, bytes: 0, state: "running", message: "" });
      this.store.touch(s);
    }
  }
}

function hostPort(host, port) {
  return host.includes(":") ? `[${host}]:${port || 0}` : `${host}:${port || 0}`;
}
