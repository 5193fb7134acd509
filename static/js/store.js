// The page's model of the session, built only from the session's events
// (DESIGN.md: "everything is a view of the log"). Sockets are keyed by
// session epoch and id: socket ids start again at 1 in every session.

import { track } from "./netkit.js";

/** A socket as the cards show it. */
export class Sock {
  /** at is the page's clock now, in ms (Store.at): when the socket was first seen. */
  constructor(epoch, id, firstT, at = performance.now()) {
    this.key = `${epoch}:${id}`;
    this.epoch = epoch;
    this.id = id;
    this.kind = "";
    this.state = "";
    this.half = { read: false, write: false };
    this.reason = ""; // the server's words, or the page's own (a function: msg in i18n.js)
    this.local = "";
    this.remote = "";
    this.peer = ""; // UDP: the last sender
    this.target = ""; // what a connect asked for: "host:port"
    this.parent = 0;
    this.children = [];
    this.inBytes = 0;
    this.inMsgs = 0;
    this.outBytes = 0;
    this.outMsgs = 0;
    this.error = null; // the last error event
    this.firstT = firstT; // µs, server clock
    this.endT = 0;
    this.endAt = 0; // ms on the page's clock, when it closed or failed
    this.bornAt = at; // ms on the page's clock (Store.now)
    this.auto = false; // accepted by a listener by itself
    this.knobs = null; // a proxy's knobs, as the server last confirmed them
    this.relay = null; // a proxy's relay counts (newRelay)
    // Step mode (docs/protocol.md §4.14) and the kernel's view (§5.3).
    this.mode = ""; // "step" once a state event says so
    this.family = ""; // a step socket's family, from its socket call: "ip4" or "ip6"
    this.timeout = null; // the last settimeout result: { how, ms }
    this.options = {}; // option -> the value getsockopt read back, from setsockopt results
    this.backlog = 0; // a step listener's backlog, from its listen result
    this.blocked = null; // the call waiting in the kernel: { id, op, t (µs), at (ms, Store.now) }
    this.kernel = null; // the last kernel event's tcp object
    this.kernelAt = 0; // when it arrived, ms on the page's clock (Store.now; timer_ms counts from then)
    this.kpath = []; // the kernel states seen, in order, repeats left out
  }

  get step() {
    return this.mode === "step";
  }

  /** Whether the kernel still holds this connection after the session closed it. */
  get lingering() {
    return !!(this.kernel && this.kernel.closed && this.kernel.state !== "CLOSED");
  }

  get final() {
    return this.state === "closed" || this.state === "failed";
  }

  /** Whether send (TCP) or sendto (UDP) may work now. */
  get canSend() {
    // A step UDP socket may sendto before it is bound: the kernel binds it.
    if (this.kind === "udp") return this.state === "bound" || (this.step && this.state === "created");
    return this.kind === "tcp" && (this.state === "established" || (this.state === "half-closed" && !this.half.write));
  }
}

/**
 * Store turns events into sockets. apply() returns the timeline entry for
 * the event; changed sockets collect in dirty until the views take them.
 */
export class Store {
  constructor() {
    this.epoch = 0;
    this.session = "";
    this.sockets = new Map(); // key -> Sock, in creation order
    this.dirty = new Set();
    this.version = 0; // changes whenever the set of sockets or their ability to send does
    this.t0 = 0; // µs of the first event of this page
    this.n = 0;
    this.seq = 0; // the last event applied in this session
    // The page's clock, in ms: performance.now() for a live session. A
    // replay sets clock to a function that says where the replay is, on
    // the recording's clock (µs / 1000), so that ages and countdowns follow
    // the replay, not the wall.
    this.clock = null;
  }

  /** Now on the page's clock, in ms: what ages, waits and countdowns count from. */
  now() {
    return this.clock ? this.clock() : performance.now();
  }

  // at is when an event of time t (µs) happened on the page's clock: when
  // it arrived (live), or its own time (a replay).
  at(t) {
    return this.clock ? t / 1000 : performance.now();
  }

  /**
   * Forgets every socket and event: the model is as if no event had come.
   * The session (epoch, id) stays. Views are emptied with it (app.js
   * resetViews), then events are applied again from the start, or a sync
   * (below) and the events after it.
   */
  reset() {
    this.sockets.clear();
    this.dirty.clear(); // the views drop what they drew of these themselves (Cards.reset)
    this.version++;
    this.t0 = 0;
    this.n = 0;
    this.seq = 0;
  }

  /**
   * Applies a sync (docs/protocol.md §15.3): the state every socket open
   * just before event first was in, as a list of { sock, kind, state, mode,
   * family, local, remote, parent, target, half: ["write", "read"], reason,
   * knobs, backlog, options, timeout: { how, timeout_ms }, in_bytes,
   * in_msgs, out_bytes, out_msgs, tcp }. Call it after reset(); the events
   * from first on are then applied as usual. A socket already known is
   * overwritten.
   */
  sync(sockets, first = 0) {
    const list = Array.isArray(sockets) ? sockets : [];
    for (const x of list) {
      if (!x || !(x.sock > 0)) continue;
      let s = this.get(x.sock);
      if (!s) {
        s = new Sock(this.epoch, x.sock, 0, this.now());
        this.sockets.set(s.key, s);
      }
      s.kind = x.kind || "";
      s.state = x.state || "";
      s.mode = x.mode || "";
      s.family = x.family || "";
      s.local = x.local || "";
      s.remote = x.remote || "";
      s.target = x.target || "";
      s.parent = x.parent || 0;
      const half = Array.isArray(x.half) ? x.half : [];
      s.half = { read: half.includes("read"), write: half.includes("write") };
      s.reason = x.reason || "";
      if (x.knobs) s.knobs = x.knobs;
      s.backlog = x.backlog || 0;
      s.options = x.options && typeof x.options === "object" ? { ...x.options } : {};
      s.timeout = x.timeout ? { how: x.timeout.how || "blocking", ms: x.timeout.timeout_ms || 0 } : null;
      s.inBytes = x.in_bytes || 0;
      s.inMsgs = x.in_msgs || 0;
      s.outBytes = x.out_bytes || 0;
      s.outMsgs = x.out_msgs || 0;
      if (x.tcp) {
        s.kernel = x.tcp;
        s.kernelAt = this.now();
        if (x.tcp.state && s.kpath[s.kpath.length - 1] !== x.tcp.state) s.kpath.push(x.tcp.state);
      }
      if (s.kind === "tcp-proxy" || s.kind === "udp-proxy") s.relay ||= newRelay();
      // What netkit.js keeps from events no longer sent (protocol.md §15.3).
      if (x.tls) s.tls = x.tls;
      if (Array.isArray(x.groups)) s.groups = new Map(x.groups.map((g) => [`${g.group} ${g.iface || ""}`, { group: g.group, iface: g.iface || "" }]));
      this.touch(s);
    }
    // A listener's accepted connections, in the order of their ids.
    for (const s of this.sockets.values()) {
      if (s.epoch !== this.epoch || !s.parent) continue;
      const p = this.get(s.parent);
      if (p && !p.children.includes(s.id)) {
        p.children.push(s.id);
        p.children.sort((a, b) => a - b);
        this.touch(p);
      }
    }
    if (first > 0) this.seq = first - 1;
    this.version++;
  }

  newSession(hello) {
    this.epoch++;
    this.session = hello.session;
    this.hello = hello; // its interfaces and mode are the multicast controls' (ui/multicast.js)
    this.seq = 0;
    for (const s of this.sockets.values()) this.touch(s, true); // now "earlier session"
  }

  /**
   * Marks every open socket of the current session closed: the session
   * ended with its WebSocket. reason is why: text, or a function that words
   * it in the page's language (msg in i18n.js).
   */
  endSession(reason) {
    for (const s of this.sockets.values()) {
      if (s.epoch !== this.epoch) continue;
      // A connection the kernel still held gets no more news of it.
      if (s.lingering) {
        s.kernelEnded = true;
        this.touch(s);
      }
      if (s.final) continue;
      s.state = "closed";
      s.reason = reason;
      s.ended = true;
      s.blocked = null;
      this.touch(s, true);
    }
  }

  /** The number of sockets of the current session that are still open. */
  openCount() {
    let n = 0;
    for (const s of this.sockets.values()) if (s.epoch === this.epoch && !s.final) n++;
    return n;
  }

  get(id, epoch = this.epoch) {
    return this.sockets.get(`${epoch}:${id}`);
  }

  ensure(id, t) {
    let s = this.get(id);
    if (!s) {
      s = new Sock(this.epoch, id, t, this.at(t));
      this.sockets.set(s.key, s);
      this.version++;
    }
    return s;
  }

  touch(s, membership = false) {
    this.dirty.add(s);
    if (membership) this.version++;
  }

  /** Removes closed and failed sockets; returns how many went. */
  removeFinal() {
    let n = 0;
    for (const [k, s] of this.sockets) {
      if (!s.final) continue;
      this.sockets.delete(k);
      n++;
    }
    if (n) this.version++;
    return n;
  }

  apply(ev, bytes) {
    if (!this.t0) this.t0 = ev.t;
    if (ev.seq) this.seq = ev.seq;
    const entry = { n: ++this.n, epoch: this.epoch, ev, bytes, sock: ev.sock || 0 };
    if (!ev.sock) return entry;
    // Only a call and a state make a socket known: a late error or answer
    // about a socket already removed from view must not bring it back.
    const s = ev.type === "call" || ev.type === "state" ? this.ensure(ev.sock, ev.t) : this.get(ev.sock);
    if (!s) return entry;
    const wasSend = s.canSend;
    // An answer to the call blocked on this socket: it waits no more.
    if (s.blocked && ev.id !== undefined && ev.id === s.blocked.id && ev.type !== "call" && ev.type !== "blocked") s.blocked = null;
    // On a step socket the error shown is the last call's: a call that
    // then succeeds (a retried non-blocking recv, say) clears it.
    if (s.step && s.error && ev.id !== undefined && (ev.type === "result" || ev.type === "data" || ev.type === "sent")) s.error = null;
    switch (ev.type) {
      case "call":
        if (ev.op === "connect") {
          s.kind = "tcp";
          s.state ||= "connecting";
          s.target = joinHostPort(ev.host, ev.port);
        } else if (ev.op === "listen") {
          s.kind = "tcp-listener";
          s.state ||= "opening";
        } else if (ev.op === "bind") {
          s.kind = "udp";
          s.state ||= "opening";
        } else if (ev.op === "proxy") {
          s.kind = ev.proto === "udp" ? "udp-proxy" : "tcp-proxy";
          s.state ||= "opening";
          s.target = ev.target || "";
        } else if (ev.op === "socket") {
          s.mode = "step";
          s.family = ev.family || "ip4";
          s.state ||= "opening";
        }
        break;
      case "result":
        if (ev.local) s.local = ev.local;
        if (ev.remote && ev.op !== "accept") s.remote = ev.remote;
        if (ev.op === "proxy" || ev.op === "proxy_set") {
          s.knobs = ev.knobs || {};
          // A knob the server refused is no longer the news once it took new ones.
          if (s.error && s.error.op === "proxy_set") s.error = null;
        }
        if (ev.op === "settimeout") s.timeout = { how: ev.how || "blocking", ms: ev.timeout_ms || 0 };
        if (ev.op === "setsockopt" && ev.option) s.options[ev.option] = ev.actual ?? ev.value ?? 0;
        if (ev.op === "listen" && ev.backlog !== undefined) s.backlog = ev.backlog;
        if (ev.op === "accept" && ev.child) {
          const c = this.ensure(ev.child, ev.t);
          c.parent = s.id;
          c.auto = !!ev.auto;
          if (!s.children.includes(c.id)) s.children.push(c.id);
          this.touch(c, true);
        }
        break;
      case "state":
        s.kind = ev.kind || s.kind;
        s.state = ev.state;
        if (ev.mode) s.mode = ev.mode;
        if (ev.local) s.local = ev.local;
        if (ev.remote) s.remote = ev.remote;
        if (ev.parent && !s.parent) {
          s.parent = ev.parent;
          const p = this.get(ev.parent);
          if (p && !p.children.includes(s.id)) {
            p.children.push(s.id);
            this.touch(p);
          }
        }
        if (ev.half) s.half[ev.half] = true;
        s.reason = ev.reason || "";
        if (s.final) {
          s.endT = ev.t;
          s.endAt = this.at(ev.t);
          if (s.relay) s.relay.live.clear(); // a closed proxy has no connections
        }
        break;
      case "blocked":
        s.blocked = { id: ev.id, op: ev.op, t: ev.t, at: this.at(ev.t) };
        break;
      case "kernel": {
        const k = ev.tcp || {};
        s.kernel = k;
        s.kernelAt = this.at(ev.t);
        if (k.state && s.kpath[s.kpath.length - 1] !== k.state) s.kpath.push(k.state);
        break;
      }
      case "relay":
        countRelay(s.relay ||= newRelay(), ev, s.kind === "udp-proxy");
        break;
      case "error":
        s.error = ev;
        break;
      case "sent":
        s.outBytes += ev.len || 0;
        s.outMsgs++;
        break;
      case "data":
        s.inBytes += ev.len || 0;
        s.inMsgs++;
        if (ev.peer) s.peer = ev.peer;
        break;
    }
    track(this, s, ev); // TLS, multicast groups, throughput (netkit.js)
    this.touch(s, wasSend !== s.canSend || ev.type === "state" || ev.type === "error");
    return entry;
  }
}

/** A proxy's counts: what it forwarded each way, dropped and held, and its connections. */
export function newRelay() {
  return {
    toTarget: { chunks: 0, bytes: 0 },
    toClient: { chunks: 0, bytes: 0 },
    drops: 0,
    dropBytes: 0,
    holds: 0,
    conns: 0, // connections (TCP) or client addresses (UDP) ever seen
    live: new Set(), // the conn numbers open now
    resets: 0,
    errors: 0,
  };
}

function countRelay(r, ev, udp) {
  const way = ev.dir === "to-client" ? r.toClient : r.toTarget;
  switch (ev.relay) {
    case "chunk":
      way.chunks++;
      way.bytes += ev.len || 0;
      break;
    case "drop":
      r.drops++;
      r.dropBytes += ev.len || 0;
      break;
    case "hold":
      r.holds++;
      break;
    case "open":
      r.conns++;
      r.live.add(ev.conn);
      break;
    case "close":
      r.live.delete(ev.conn);
      break;
    case "reset":
      r.resets++;
      r.live.delete(ev.conn);
      break;
    case "error":
      r.errors++;
      // A TCP connection's error is its end (the proxy resets both sides);
      // a UDP mapping outlives the errors the target's host sends back.
      if (!udp && ev.conn) r.live.delete(ev.conn);
      break;
  }
}

export function joinHostPort(host, port) {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}
