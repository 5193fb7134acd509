// The page's one WebSocket to the server: opens it, reconnects with backoff
// when it drops, numbers requests and matches each answer to its request
// (docs/protocol.md §6). A session outlives its WebSocket (§15): after a
// drop the connection comes back to the same session, asking for the events
// from the one after the last it received, so that none is missing or
// repeated. It knows nothing about the views; the errors it makes itself are
// worded in the page's language.

import { t } from "./i18n.js";
import { PROTOCOL, encodeBinary } from "./protocol.js";
import { workerSocket } from "./transport.js";

const BACKOFF_MS = [500, 1000, 2000, 4000, 8000, 15000];

/**
 * What a close code means for the page (docs/protocol.md §10, §15.2, §15.5):
 *   "ended"  the session is over (idle, too old, its grace ran out, no such
 *            session, or its owner ended it), or a watch link no longer
 *            works: the page does not come back by itself
 *   "taken"  another page took the session over (4003): not by itself either
 *   "server" the server shut down (1001), and its sessions with it: the
 *            owner's page starts a new session when it is back
 *   "lost"   anything else (a dropped network, 1006): the page comes back
 *            to the same session
 */
function closeKind(code, ending) {
  if (code === 4000 || code === 4001 || code === 4002 || code === 4004) return "ended";
  if (code === 4003) return "taken";
  if (code === 1000 && ending) return "ended";
  if (code === 1001) return "server";
  return "lost";
}

/** Why a request failed: the error event, or the connection ending first. */
export class RequestError extends Error {
  constructor(ev) {
    super(ev.message || ev.code || t("conn.failed"));
    this.event = ev;
    this.code = ev.code;
  }
}

/** The page's connection, once made: for the browser's console and the page tests. */
export let current = null;

/**
 * Connection calls its handlers:
 *   onStatus({ state, attempt, retryInMs, code, reason, session, role, graceUntil })
 *     state: "connecting" | "open" | "waiting" (to reconnect) | "ended"
 *     (the page does not come back by itself: the session is over, or
 *     another page has it). graceUntil: while an owner's page is away, when
 *     the server will stop keeping its session (ms, Date.now's clock).
 *   onRefused(text)           the server refused the WebSocket before it
 *                             opened (403, 429), and said why
 *   onHello(hello)            a connection began: a new session, the same
 *                             session again (hello.resumed), or a watch
 *   onEnd({ code, reason, kind, had })  the WebSocket ended; kind is what
 *                             that means (closeKind), had whether it had
 *                             got its hello
 *   onMessage(msg, bytes)     every event, in order, each once, and the
 *                             sync message (§15.3) where it comes; bytes of
 *                             an own send are attached to its "sent"
 *   onShares(shares)          the owner's watch links, now (§15.4)
 *   onNotice(msg)             a message to this connection alone that is not
 *                             an event (a watcher's refused request, §15.5)
 */
/** Stands in for the transport while the URL is being worked out. */
const PENDING = { send() {}, close() {} };

export class Connection {
  /**
   * url(fresh) returns the WebSocket URL without the session's query;
   * fresh asks for a new page token first. join says which session to join
   * (docs/protocol.md §15.1): { kind: "new" }, { kind: "owner", session,
   * key } or { kind: "watch", watch }.
   */
  constructor(url, subprotocol, handlers, join = { kind: "new" }) {
    this.url = url;
    this.subprotocol = subprotocol;
    this.h = handlers;
    this.join = join;
    this.ws = null; // the transport (transport.js) while a WebSocket is open or opening
    this.gen = 0; // numbers the WebSockets, so a late callback of an old one is ignored
    this.attempt = 0;
    this.timer = 0;
    this.nextId = 1;
    this.pending = new Map(); // request id -> { resolve, reject, bytes, onCall }
    this.hello = null;
    this.lastHello = null; // the last hello, kept while away
    // The seq of the last event received (not necessarily applied yet): a
    // connection that comes back asks for the one after it.
    this.lastSeq = 0;
    // Events before this seq are history (sent again after a resume), never
    // the answer to a request of this page.
    this.liveFrom = 0;
    this.awaySince = 0; // when the owner's page lost its WebSocket (Date.now), while away
    this.ending = false; // the owner asked to end the session
    current = this;
  }

  /** Joins another session from the next start: { kind: "new" } for a new one. */
  rejoin(join) {
    this.join = join;
    this.lastSeq = 0;
    this.awaySince = 0;
    this.ending = false;
  }

  get role() {
    return this.join.kind === "watch" ? "watcher" : "owner";
  }

  // query is the session's part of the WebSocket URL (§15.1).
  query() {
    const j = this.join;
    const from = String(this.lastSeq + 1);
    if (j.kind === "owner") return new URLSearchParams({ session: j.session, key: j.key, from });
    if (j.kind === "watch") return new URLSearchParams({ watch: j.watch, from });
    return null;
  }

  async start() {
    clearTimeout(this.timer);
    this.timer = 0;
    this.status({ state: "connecting", attempt: this.attempt });
    const gen = ++this.gen;
    this.ws = PENDING; // reconnectNow waits for this attempt
    // After a failure the server may have restarted with a new key, so the
    // page's token is renewed first.
    let url = await this.url(this.attempt > 0);
    if (gen !== this.gen) return;
    const q = this.query();
    if (q) url += (url.includes("?") ? "&" : "?") + q.toString();
    this.lastURL = url;
    this.ws = workerSocket(url, this.subprotocol, {
      onbatch: (items) => {
        if (gen === this.gen) for (const it of items) this.receive(it);
      },
      onclose: (code, reason) => {
        if (gen !== this.gen) return;
        this.ws = null;
        this.ended(code, reason);
      },
    });
  }

  /** Skips the wait and reconnects at once. */
  reconnectNow() {
    if (this.ws) return;
    this.start();
  }

  get open() {
    return this.ws !== null && this.hello !== null;
  }

  /**
   * Sends a request. header: { op, ... } without id; bytes: a Uint8Array for
   * send/sendto (sent as a binary message), else undefined. Returns a promise
   * of the answer (result, sent, or data for a step socket's recv; shares
   * for the requests about the session, §15.4); an error rejects it with a
   * RequestError. onCall(callEvent) runs when the request's call is
   * logged. opts.once: the first sent event is the answer even if the
   * kernel took fewer bytes than asked (a step socket's send is one system
   * call, docs/protocol.md §4.14). opts.known: the bytes each send of a
   * repeat carries, when they are always the same (§16.2), for its sent
   * events, which do not bring them.
   */
  request(header, bytes, onCall, opts = {}) {
    if (!this.open) return Promise.reject(new RequestError({ code: "offline", message: t("conn.offline") }));
    const id = `r${this.nextId++}`;
    const req = { id, ...header };
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, bytes, onCall, once: !!opts.once, op: header.op, known: opts.known });
      this.ws.send(bytes ? encodeBinary(req, bytes) : JSON.stringify(req));
    });
  }

  /**
   * Ends the session (§15.4): it has no answer; the server closes the
   * WebSocket with 1000, and the page does not come back.
   */
  end() {
    if (!this.open) return false;
    this.ending = true;
    this.ws.send(JSON.stringify({ id: `r${this.nextId++}`, op: "end" }));
    return true;
  }

  receive(item) {
    if (item.error) {
      console.warn("undecodable message from the server:", item.error);
      return;
    }
    const msg = item.msg;
    let bytes = item.bytes;
    switch (msg.type) {
      case "hello":
        if (msg.protocol !== PROTOCOL) console.warn(`server speaks ${msg.protocol}, page expects ${PROTOCOL}`);
        this.hello = msg;
        this.lastHello = msg;
        this.attempt = 0;
        this.awaySince = 0;
        if (msg.role !== "watcher" && !msg.resumed) {
          // A new session: its events start at 1. An owner comes back to it
          // with its key, which only this first hello has.
          this.lastSeq = 0;
          if (msg.key) this.join = { kind: "owner", session: msg.session, key: msg.key };
        }
        this.liveFrom = msg.next || 0;
        this.h.onHello(msg);
        this.status({ state: "open", session: msg.session, role: msg.role || "owner" });
        return;
      case "sync":
        // The state before the first event still kept (§15.3): the events
        // from msg.first on follow.
        this.lastSeq = Math.max(0, (msg.first || 1) - 1);
        this.h.onMessage(msg, null);
        return;
      case "shares": {
        const p = msg.id !== undefined ? this.pending.get(msg.id) : undefined;
        if (p) {
          this.pending.delete(msg.id);
          p.resolve(msg);
        }
        this.h.onShares?.(msg);
        return;
      }
    }
    if (msg.seq === undefined) {
      // Not an event of the session: an answer to this connection alone,
      // such as a watcher's refused request (§15.5).
      const p = msg.id !== undefined ? this.pending.get(msg.id) : undefined;
      if (p) {
        this.pending.delete(msg.id);
        if (msg.type === "error") p.reject(new RequestError(msg));
        else p.resolve(msg);
      }
      this.h.onNotice?.(msg);
      return;
    }
    if (msg.seq <= this.lastSeq) return; // already received: never twice
    this.lastSeq = msg.seq;
    const p = msg.id !== undefined && msg.seq >= this.liveFrom ? this.pending.get(msg.id) : undefined;
    if (p) {
      switch (msg.type) {
        case "call":
          if (p.onCall) p.onCall(msg);
          break;
        case "sent":
          // A repeat's sends carry its id; its answer is the result at its end
          // (§16.2). Each sends the bytes it was given (opts.known), if known.
          if (p.op === "repeat") {
            if (!bytes && p.known) bytes = p.known.subarray(0, msg.len || 0);
            break;
          }
          // The server does not echo our own bytes (§3.3): we still have them.
          if (!bytes && p.bytes) bytes = p.bytes.subarray(p.done || 0, (p.done || 0) + (msg.len || 0));
          p.done = (p.done || 0) + (msg.len || 0);
          // A send that stopped part way has its error still to come (§6),
          // unless it was a step socket's one system call.
          if (p.bytes && p.done < p.bytes.length && !p.once) break;
          this.pending.delete(msg.id);
          p.resolve(msg);
          break;
        case "result":
        case "data": // the answer of a step socket's recv or recvfrom
        case "lesson": // the answers of lesson and answer requests (§4.15)
        case "answer":
          this.pending.delete(msg.id);
          p.resolve(msg);
          break;
        case "error":
          this.pending.delete(msg.id);
          p.reject(new RequestError(msg));
          break;
      }
    }
    this.h.onMessage(msg, bytes);
  }

  ended(code, reason) {
    const had = this.hello !== null;
    const kind = closeKind(code, this.ending);
    // A WebSocket refused before it opened shows only 1006: ask why.
    if (!had && kind === "lost") this.explain(this.lastURL);
    this.hello = null;
    for (const p of this.pending.values()) p.reject(new RequestError({ code: "offline", message: t("conn.ended") }));
    this.pending.clear();
    if (kind === "server" && this.join.kind !== "watch") {
      // The server shut down and closed its sessions (§10): when it is
      // back, this page starts a new one.
      this.rejoin({ kind: "new" });
    }
    if (kind === "lost" && this.join.kind === "owner" && !this.awaySince) this.awaySince = Date.now();
    this.h.onEnd({ code, reason, kind, had });
    if (kind === "ended" || kind === "taken") {
      // The session is over, or another page has it: coming back by itself
      // would only be refused, or take it back. The person decides.
      this.attempt = 0;
      this.awaySince = 0;
      this.status({ state: "ended", code, reason, kind });
      return;
    }
    this.retry(code, reason);
  }

  /**
   * A WebSocket refused before it opened shows the page only code 1006;
   * the same URL fetched plainly answers with the server's reason.
   */
  async explain(url) {
    if (!url) return;
    try {
      const res = await fetch(url.replace(/^ws/, "http"), { cache: "no-store" });
      if (res.status === 403 || res.status === 429) this.h.onRefused?.((await res.text()).trim());
    } catch {
      // The server is unreachable: the status already says so.
    }
  }

  /** When the server stops keeping this page's session while it is away (ms), or 0. */
  get graceUntil() {
    const grace = this.lastHello?.grace_ms;
    return this.awaySince && grace ? this.awaySince + grace : 0;
  }

  retry(code, reason) {
    const base = BACKOFF_MS[Math.min(this.attempt, BACKOFF_MS.length - 1)];
    const wait = Math.round(base * (0.8 + Math.random() * 0.4));
    this.attempt++;
    this.status({ state: "waiting", attempt: this.attempt, retryInMs: wait, code, reason });
    this.timer = setTimeout(() => this.start(), wait);
  }

  status(s) {
    this.h.onStatus({ role: this.role, graceUntil: this.graceUntil, ...s });
  }
}
