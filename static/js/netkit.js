// The toolkit's part of the page model (docs/protocol.md §16.4, §16.5) and
// its words: what a socket's events say about its TLS connection, the
// multicast groups it joined and its multicast options, and how many bytes
// it moved when (the throughput chart, ui/throughput.js). Store.apply calls
// track() for every event of a socket; the views read what it kept on the
// Sock. Like everything else it is a view of the log: a replay builds the
// same from the same events.

import { num, t } from "./i18n.js";

// The throughput's buckets: 250 ms each, the last 60 s kept (and one more,
// the bucket filling now).
export const BUCKET_US = 250_000;
export const SPAN_US = 60_000_000;
export const BUCKETS = SPAN_US / BUCKET_US + 1;

// A send that waits this long with nothing going out is a stall: the peer,
// or the network, is holding the sender back (flow control).
export const STALL_US = 1_000_000;

// The server's clock against the page's: the most an event's time (µs, on
// the server) was ahead of the page's clock (ms) when it arrived, which is
// as close as the page comes to the server's "now" (every event arrives
// after it was logged). Used only when the store has no clock of its own
// (a live session; a replay keeps the recording's time).
let skew = -Infinity;
let counted = 0;

/**
 * nowUS is "now" on the server's clock, in µs: where the throughput chart's
 * right edge is. A replay's store clock already is the recording's time.
 */
export function nowUS(store) {
  if (store.clock) return store.now() * 1000;
  if (skew === -Infinity) return Date.now() * 1000;
  return (performance.now() + skew) * 1000;
}

/** Rates: what one socket received and sent, per bucket, and when its sends stalled. */
export class Rates {
  constructor() {
    this.in = new Float64Array(BUCKETS);
    this.out = new Float64Array(BUCKETS);
    this.stamp = new Float64Array(BUCKETS).fill(-1); // the bucket number each slot holds
    this.version = 0; // changes with every byte counted and every stall
    this.lastT = 0; // µs of the last byte or stall change
    // What waits to go out: request ids of sends without their answer, sends
    // without an id (a responder's), a repeat sending as fast as flow
    // control allows, and the kernel's send queue.
    this.pending = new Set();
    this.anon = 0;
    this.repeat = null; // the id of a repeat with no interval, running
    this.sendQ = 0;
    this.waitFrom = 0; // µs since when something waits, or 0
    this.progressT = 0; // µs of the last time something went out
    this.stalls = []; // [from, to] µs: the stalls that ended, oldest first
  }

  waiting() {
    return this.pending.size > 0 || this.anon > 0 || this.repeat !== null || this.sendQ > 0;
  }

  /** When the stall going on now began (µs), or 0 if nothing waits. */
  stallFrom() {
    return this.waitFrom ? Math.max(this.waitFrom, this.progressT) : 0;
  }

  add(arr, t, n) {
    const b = Math.floor(t / BUCKET_US);
    const i = b % BUCKETS;
    if (this.stamp[i] !== b) {
      // A slot holds one bucket at a time: the older one goes.
      if (this.stamp[i] > b) return; // older than anything kept
      this.stamp[i] = b;
      this.in[i] = 0;
      this.out[i] = 0;
    }
    arr[i] += n;
    this.version++;
    if (t > this.lastT) this.lastT = t;
  }

  /** Bytes of bucket b (its number: t / BUCKET_US) in arr, 0 if not kept. */
  at(arr, b) {
    const i = b % BUCKETS;
    return this.stamp[i] === b ? arr[i] : 0;
  }

  // progress: something went out at t, so any stall ended there.
  progress(t) {
    this.endStall(t);
    this.progressT = t;
  }

  endStall(t) {
    const from = this.stallFrom();
    if (from && t - from >= STALL_US) {
      this.stalls.push([from, t]);
      while (this.stalls.length > 64 || (this.stalls.length && this.stalls[0][1] < t - SPAN_US)) this.stalls.shift();
      this.version++;
      this.lastT = Math.max(this.lastT, t);
    }
  }

  // settle starts or ends the wait after the event at t changed what waits.
  settle(t) {
    if (this.waiting()) {
      if (!this.waitFrom) this.waitFrom = t;
    } else if (this.waitFrom) {
      this.endStall(t);
      this.waitFrom = 0;
    }
  }

  /** Bytes per second over the last second of complete buckets before now (µs): { down, up }. */
  rate(now) {
    const last = Math.floor(now / BUCKET_US) - 1;
    const per = 1_000_000 / BUCKET_US;
    let down = 0;
    let up = 0;
    for (let b = last - per + 1; b <= last; b++) {
      down += this.at(this.in, b);
      up += this.at(this.out, b);
    }
    return { down, up };
  }
}

/**
 * track updates socket s with event ev (Store.apply, after its own work).
 * Kept on the Sock: tlsAsk (the connect's tls as asked) and connectAsk
 * (its host, port, family, timeout_ms), tls (the negotiated), tlsFail (the
 * error of a failed handshake), tlsAt (µs: when either came), groups (Map "group iface" -> { group,
 * iface }), and rates (Rates).
 */
export function track(store, s, ev) {
  // The clock is read for one event in 64: reading it costs more than the
  // rest of the counting, and the skew hardly moves.
  if (!store.clock && ev.t && ((++counted & 63) === 0 || skew === -Infinity)) {
    const ahead = ev.t / 1000 - performance.now();
    if (ahead > skew) skew = ahead;
  }
  switch (ev.type) {
    case "call":
      if (ev.op === "connect" && ev.tls) {
        s.tlsAsk = ev.tls;
        s.connectAsk = { host: ev.host, port: ev.port, family: ev.family || "", timeout_ms: ev.timeout_ms || 0 };
      }
      break;
    case "result":
      if (ev.op === "connect" && ev.tls) {
        s.tls = ev.tls;
        s.tlsAt = ev.t;
      }
      else if (ev.op === "join" && ev.group) {
        s.groups ||= new Map();
        s.groups.set(groupKey(ev), { group: ev.group, iface: ev.iface || "" });
      } else if (ev.op === "leave" && ev.group && s.groups) {
        // A leave without an interface leaves the group wherever it was joined.
        if (!s.groups.delete(groupKey(ev))) for (const [k, g] of s.groups) if (g.group === ev.group) s.groups.delete(k);
      } else if (ev.op === "setsockopt" && ev.option === "IP_MULTICAST_IF") s.options.IP_MULTICAST_IF = ev.iface || "";
      break;
    case "error":
      if (ev.op === "connect" && ev.code === "tls") {
        s.tlsFail = ev;
        s.tlsAt = ev.t;
      }
      break;
    case "state":
      // A closed socket's groups are gone with it.
      if ((ev.state === "closed" || ev.state === "failed") && s.groups) s.groups.clear();
      break;
  }
  if (s.kind === "tcp" || s.kind === "udp" || ev.type === "sent" || ev.type === "data") trackRate(s, ev);
}

function groupKey(ev) {
  return `${ev.group} ${ev.iface || ""}`;
}

// trackRate counts bytes in and out, and what waits to go out.
function trackRate(s, ev) {
  const r = (s.rates ||= new Rates());
  const t = ev.t || 0;
  switch (ev.type) {
    case "data":
      if (ev.len) r.add(r.in, t, ev.len);
      return;
    case "sent":
      if (ev.len) r.add(r.out, t, ev.len);
      if (ev.repeat) {
        // One send of a repeat: its own call was the repeat's.
      } else if (ev.id !== undefined && r.pending.has(ev.id)) r.pending.delete(ev.id);
      else if (ev.id === undefined && r.anon > 0) r.anon--;
      r.progress(t);
      r.settle(t);
      return;
    case "call":
      if (ev.op === "send" || ev.op === "sendto") {
        if (ev.id !== undefined) r.pending.add(ev.id);
        else r.anon++;
      } else if (ev.op === "repeat" && !ev.interval_ms && ev.id !== undefined) r.repeat = ev.id;
      else return;
      r.settle(t);
      return;
    case "result":
    case "error":
      if (ev.id !== undefined) {
        if (ev.id === r.repeat) r.repeat = null;
        r.pending.delete(ev.id);
      } else if (ev.type === "error" && (ev.op === "send" || ev.op === "sendto") && r.anon > 0) r.anon--;
      r.settle(t);
      return;
    case "kernel": {
      const k = ev.tcp || {};
      // A connection the session closed sends nothing more of the page's.
      const q = k.closed ? 0 : k.send_q || 0;
      if (q < r.sendQ) r.progress(t);
      r.sendQ = q;
      r.settle(t);
      return;
    }
    case "state":
      if (ev.state === "closed" || ev.state === "failed") {
        r.pending.clear();
        r.anon = 0;
        r.repeat = null;
        r.sendQ = 0;
        r.settle(t);
      }
      return;
  }
}

// --- Words: the timeline's and the cards' (describe.js asks here) ---

/**
 * Whether a TLS failure is about verification, so that a retry without it
 * may get through: the server's message then says to connect with
 * "verify": false (internal/session/tls.go).
 */
export function verifyFailed(ev) {
  const m = (ev && ev.message) || "";
  return /"verify": ?false|unknown authority|self-signed|has expired|not valid yet|not valid for the/i.test(m);
}

/** The kind of a TLS failure, for its explanation: authority, expired, name, not_tls, or handshake. */
export function tlsFailKind(ev) {
  const m = (ev && ev.message) || "";
  if (/unknown authority|self-signed|trusted roots/i.test(m)) return "authority";
  if (/has expired|not valid yet|expired or is not valid/i.test(m)) return "expired";
  if (/not valid for the (name|IP address)/i.test(m)) return "name";
  if (/not answer with TLS|not speak TLS|is it a TLS port/i.test(m)) return "not_tls";
  return "handshake";
}

/** "TLS 1.3 · TLS_AES_128_GCM_SHA256 · h2 · verified": what a TLS connect negotiated. */
export function tlsSummary(tls) {
  const parts = [tls.version || "TLS", tls.cipher || ""];
  if (tls.alpn) parts.push(tls.alpn);
  parts.push(tls.verified ? t("tls.verified") : t("tls.not_verified"));
  return parts.filter(Boolean).join(" · ");
}

/** "with TLS (SNI example.com, ALPN h2, http/1.1, no verification)": a connect call's TLS, as asked. */
export function tlsAskText(ask) {
  const parts = [];
  if (ask.sni) parts.push(`SNI ${ask.sni}`);
  const offer = ask.alpn_offer || ask.alpn;
  if (Array.isArray(offer) && offer.length) parts.push(`ALPN ${offer.join(", ")}`);
  if (ask.verify === false) parts.push(t("tls.no_verify"));
  return parts.length ? t("ev.tls.with_opts", { opts: parts.join(", ") }) : t("ev.tls.with");
}

/** A µs duration, short: "850 µs", "3.2 ms", "1.40 s". */
export function usText(us) {
  us = us || 0;
  if (us >= 1e6) return `${(us / 1e6).toFixed(2)} s`;
  if (us >= 1000) return `${(us / 1000).toFixed(1)} ms`;
  return `${us} µs`;
}

/**
 * callWords and resultWords are the timeline's words for the toolkit's
 * calls and results (join, leave, setsockopt IP_MULTICAST_IF), or
 * undefined for any other.
 */
export function callWords(ev) {
  switch (ev.op) {
    case "join":
      return ev.iface ? t("ev.call.join_on", { group: ev.group || "?", iface: ev.iface }) : t("ev.call.join", { group: ev.group || "?" });
    case "leave":
      return ev.iface ? t("ev.call.leave_on", { group: ev.group || "?", iface: ev.iface }) : t("ev.call.leave", { group: ev.group || "?" });
    case "setsockopt":
      if (ev.option === "IP_MULTICAST_IF") return `setsockopt IP_MULTICAST_IF = ${ev.iface || t("mcast.kernel_choice")}`;
      return undefined;
    default:
      return undefined;
  }
}

export function resultWords(ev) {
  switch (ev.op) {
    case "join":
      return ev.iface ? t("ev.result.join_on", { group: ev.group || "?", iface: ev.iface }) : t("ev.result.join", { group: ev.group || "?" });
    case "leave":
      return t("ev.result.leave", { group: ev.group || "?" });
    case "setsockopt":
      if (ev.option === "IP_MULTICAST_IF") return `IP_MULTICAST_IF = ${ev.iface || t("mcast.kernel_choice")}`;
      return undefined;
    case "connect":
      if (ev.tls) return `${tlsSummary(ev.tls)}${ev.tls.handshake_us ? ` · ${t("tls.handshake_took", { time: usText(ev.tls.handshake_us) })}` : ""}`;
      return undefined;
    default:
      return undefined;
  }
}

/** "12.3 MB/s", "512 B/s": a rate, in the page's language's digits. */
export function rateText(bps) {
  if (bps < 1000) return `${num(Math.round(bps))} B/s`;
  const units = ["kB/s", "MB/s", "GB/s"];
  let v = bps / 1000;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${num(Number(v.toFixed(v < 10 ? 1 : 0)))} ${units[u]}`;
}
