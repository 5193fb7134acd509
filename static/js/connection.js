// The page's one WebSocket to the server: opens it, reconnects with backoff
// when it drops, numbers requests and matches each answer to its request
// (docs/protocol.md §6). It knows nothing about the views; the errors it
// makes itself are worded in the page's language.

import { t } from "./i18n.js";
import { PROTOCOL, encodeBinary } from "./protocol.js";
import { workerSocket } from "./transport.js";

const BACKOFF_MS = [500, 1000, 2000, 4000, 8000, 15000];

/** Close codes after which the page waits for the person (docs/protocol.md §10). */
const FINAL_CODES = new Set([4000, 4001]);

/** Why a request failed: the error event, or the connection ending first. */
export class RequestError extends Error {
  constructor(ev) {
    super(ev.message || ev.code || t("conn.failed"));
    this.event = ev;
    this.code = ev.code;
  }
}

/**
 * Connection calls its handlers:
 *   onStatus({ state, attempt, retryInMs, code, reason, session })
 *     state: "connecting" | "open" | "waiting" (to reconnect) | "ended"
 *     (the server ended the session on purpose; the person reconnects)
 *   onRefused(text)           the server refused the WebSocket before it
 *                             opened (403, 429), and said why
 *   onHello(hello)            a new session began
 *   onEnd({ code, reason })    the session ended with the WebSocket
 *   onMessage(msg, bytes)      every event, in order; bytes of an own send are attached to its "sent"
 */
/** Stands in for the transport while the URL is being worked out. */
const PENDING = { send() {}, close() {} };

export class Connection {
  /** url(fresh) returns the WebSocket URL; fresh asks for a new page token first. */
  constructor(url, subprotocol, handlers) {
    this.url = url;
    this.subprotocol = subprotocol;
    this.h = handlers;
    this.ws = null; // the transport (transport.js) while a WebSocket is open or opening
    this.gen = 0; // numbers the WebSockets, so a late callback of an old one is ignored
    this.attempt = 0;
    this.timer = 0;
    this.nextId = 1;
    this.pending = new Map(); // request id -> { resolve, reject, bytes, onCall }
    this.hello = null;
  }

  async start() {
    clearTimeout(this.timer);
    this.timer = 0;
    this.status({ state: "connecting", attempt: this.attempt });
    const gen = ++this.gen;
    this.ws = PENDING; // reconnectNow waits for this attempt
    // After a failure the server may have restarted with a new key, so the
    // page's token is renewed first.
    const url = await this.url(this.attempt > 0);
    if (gen !== this.gen) return;
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
   * of the answer event (result, sent, or data for a step socket's recv); an
   * error event rejects it with a RequestError. onCall(callEvent) runs when
   * the request's call is logged. opts.once: the first sent event is the
   * answer even if the kernel took fewer bytes than asked (a step socket's
   * send is one system call, docs/protocol.md §4.14).
   */
  request(header, bytes, onCall, opts = {}) {
    if (!this.open) return Promise.reject(new RequestError({ code: "offline", message: t("conn.offline") }));
    const id = `r${this.nextId++}`;
    const req = { id, ...header };
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, bytes, onCall, once: !!opts.once });
      this.ws.send(bytes ? encodeBinary(req, bytes) : JSON.stringify(req));
    });
  }

  receive(item) {
    if (item.error) {
      console.warn("undecodable message from the server:", item.error);
      return;
    }
    const msg = item.msg;
    let bytes = item.bytes;
    if (msg.type === "hello") {
      if (msg.protocol !== PROTOCOL) console.warn(`server speaks ${msg.protocol}, page expects ${PROTOCOL}`);
      this.hello = msg;
      this.attempt = 0;
      this.h.onHello(msg);
      this.status({ state: "open", session: msg.session });
      return;
    }
    const p = msg.id !== undefined ? this.pending.get(msg.id) : undefined;
    if (p) {
      switch (msg.type) {
        case "call":
          if (p.onCall) p.onCall(msg);
          break;
        case "sent":
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
    if (!had) this.explain(this.lastURL);
    this.hello = null;
    for (const p of this.pending.values()) p.reject(new RequestError({ code: "offline", message: t("conn.ended") }));
    this.pending.clear();
    if (had) this.h.onEnd({ code, reason });
    if (FINAL_CODES.has(code)) {
      // The server ended the session on purpose (idle, too old): coming
      // back at once would only start a session nobody uses. The person
      // reconnects with the button.
      this.attempt = 0;
      this.status({ state: "ended", code, reason });
      return;
    }
    this.retry(code, reason);
  }

  /**
   * A WebSocket refused before it opened shows the page only code 1006;
   * the same URL fetched plainly answers with the server's reason.
   */
  async explain(url) {
    try {
      const res = await fetch(url.replace(/^ws/, "http"), { cache: "no-store" });
      if (res.status === 403 || res.status === 429) this.h.onRefused?.((await res.text()).trim());
    } catch {
      // The server is unreachable: the status already says so.
    }
  }

  retry(code, reason) {
    const base = BACKOFF_MS[Math.min(this.attempt, BACKOFF_MS.length - 1)];
    const wait = Math.round(base * (0.8 + Math.random() * 0.4));
    this.attempt++;
    this.status({ state: "waiting", attempt: this.attempt, retryInMs: wait, code, reason });
    this.timer = setTimeout(() => this.start(), wait);
  }

  status(s) {
    this.h.onStatus(s);
  }
}
