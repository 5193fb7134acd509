// docclient.js — a Socket Playground client written from docs/protocol.md
// alone, in plain browser JavaScript (no libraries). It is loaded into a page
// served by the same origin as the bridge, then `runDocClient(params)` runs a
// whole scenario and returns a JSON-able report:
//
//   { ok, steps: [{name, ok, checks: [{ok, what}], error?, notes?}], observations, events }
//
// params (all addresses are loopback; the names resolve through the test's
// loopback DNS server):
//   echoName      "echo.playground.test" (A 127.0.0.1, AAAA ::1)
//   nxName        a name the DNS server answers NXDOMAIN for
//   refusedPort   a 127.0.0.1 port nobody listens on
//   timeoutPort   a 127.0.0.1 listener whose accept queue is full
//   resetPort     accepts, reads one byte, then resets (SO_LINGER 0)
//   pipePort      accepts and closes at once (normal FIN)
//   goPeerPort    a Go TCP peer: reads exactly 0..255, writes 0..255, waits for EOF
//   goUDPPort     a Go UDP peer on 127.0.0.1: answers each datagram with its bytes reversed
//   ipv6          whether ::1 is usable
//   waitMs        how long one wait may take (default 5000)

async function runDocClient(params) {
  "use strict";
  const WAIT = params.waitMs || 5000;
  const SUBPROTOCOL = "socket-playground.v1";
  const report = { ok: false, steps: [], observations: [], mismatches: [], events: 0 };
  const observe = (s) => report.observations.push(s);

  // ---------------------------------------------------------------- bytes
  const ALL = new Uint8Array(256).map((_, i) => i);
  const te = new TextEncoder();
  const td = new TextDecoder("utf-8", { fatal: true });
  const concat = (chunks) => {
    let n = 0;
    for (const c of chunks) n += c.length;
    const out = new Uint8Array(n);
    let o = 0;
    for (const c of chunks) { out.set(c, o); o += c.length; }
    return out;
  };
  const equal = (a, b) => {
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  };
  const firstDiff = (a, b) => {
    const n = Math.min(a.length, b.length);
    for (let i = 0; i < n; i++) if (a[i] !== b[i]) return `at ${i}: got ${a[i]}, want ${b[i]}`;
    return `length ${a.length}, want ${b.length}`;
  };
  const chunk = (bytes, sizes) => { // split by sizes (the last size repeats)
    const out = [];
    let o = 0, i = 0;
    while (o < bytes.length) {
      const n = sizes[Math.min(i++, sizes.length - 1)];
      out.push(bytes.subarray(o, o + n));
      o += n;
    }
    return out;
  };
  const pattern = (n, seed) => {
    const b = new Uint8Array(n);
    let x = seed >>> 0;
    for (let i = 0; i < n; i++) { x = (Math.imul(x, 1103515245) + 12345) >>> 0; b[i] = x >>> 24; }
    return b;
  };
  // §4.3 hex: two digits per byte, either case, space/tab/CR/LF ignored anywhere.
  const hexOf = (bytes, style) => {
    const parts = [];
    bytes.forEach((b, i) => {
      let h = b.toString(16).padStart(2, "0");
      if (style % 2 === 1 || (style === 2 && i % 2)) h = h.toUpperCase();
      parts.push(h);
    });
    switch (style) {
      case 0: return parts.join("");
      case 1: return parts.join(" ");
      case 2: return parts.map((h, i) => (i % 8 === 7 ? h + "\n" : h + "\t")).join("");
      default: return " " + parts.map((h) => h[0] + " " + h[1]).join("\r\n") + " "; // even inside a byte
    }
  };
  // §4.3 escaped: \r \n \t \0 \\ \xNN; every other character is its UTF-8 bytes.
  // mode "escape": every non-printable byte escaped; "raw": bytes < 0x80 as
  // the characters themselves (control characters included), the rest \xNN.
  const escOf = (bytes, mode, upper) => {
    let s = "";
    for (const b of bytes) {
      if (b === 0x5c) s += "\\\\";
      else if (b >= 0x80) s += "\\x" + (upper ? b.toString(16).toUpperCase() : b.toString(16));
      else if (mode === "raw") s += String.fromCharCode(b);
      else if (b === 0x0d) s += "\\r";
      else if (b === 0x0a) s += "\\n";
      else if (b === 0x09) s += "\\t";
      else if (b === 0x00) s += "\\0";
      else if (b >= 0x20 && b < 0x7f) s += String.fromCharCode(b);
      else s += "\\x" + b.toString(16).padStart(2, "0");
    }
    return s;
  };
  const b64Of = (bytes) => { let s = ""; for (const b of bytes) s += String.fromCharCode(b); return btoa(s); };
  const textOf = (bytes) => { let s = ""; for (const b of bytes) s += String.fromCharCode(b); return s; }; // bytes < 0x80 only
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const splitAddr = (a) => { // "127.0.0.1:80", "[::1]:80"
    const i = a.lastIndexOf(":");
    let host = a.slice(0, i);
    if (host.startsWith("[")) host = host.slice(1, -1);
    return { host, port: Number(a.slice(i + 1)) };
  };

  // ---------------------------------------------------------------- client
  class Client {
    constructor() {
      this.events = [];       // {ev, binary, bytes, raw}
      this.hello = null;
      this.nextSeq = 1;
      this.violations = [];   // protocol rules broken by the server
      this.waiters = new Set();
      this.byId = new Map();  // id -> {call, answers: []}
      this.sent = new Map();  // id -> {valid, op}
      this.recv = new Map();  // sock -> {chunks, total, taken}
      this.dgrams = new Map(); // sock -> [{peer, bytes, ev}]
      this.states = new Map(); // sock -> [state events]
      this.final = new Map();  // sock -> index of its closed/failed state
      this.outstanding = new Map(); // sock -> payload bytes requested, not answered (§9.2)
      this.n = 0;
      this.closeInfo = null;
    }
    open(url) {
      return new Promise((resolve, reject) => {
        const ws = new WebSocket(url, SUBPROTOCOL);
        this.ws = ws;
        ws.binaryType = "arraybuffer";
        ws.onmessage = (m) => { try { this.onMessage(m.data); } catch (e) { this.violations.push("decode: " + e); } };
        ws.onclose = (c) => {
          this.closeInfo = { code: c.code, reason: c.reason, clean: c.wasClean };
          for (const w of this.waiters) { clearTimeout(w.timer); w.rej(new Error(`WebSocket closed (${c.code} ${c.reason}) while waiting for ${w.what}`)); }
          this.waiters.clear();
        };
        ws.onopen = () => resolve(ws);
        ws.onerror = () => reject(new Error("WebSocket error before open"));
      });
    }
    uid(p) { return `${p}-${++this.n}`; }

    // §3.1–3.3: decode by message type, never by event type.
    onMessage(data) {
      let ev, bytes = null, binary = false, raw = null;
      if (typeof data === "string") {
        raw = data;
        ev = JSON.parse(data);
      } else {
        binary = true;
        const dv = new DataView(data);
        const n = dv.getUint32(0); // big-endian
        const u8 = new Uint8Array(data);
        ev = JSON.parse(td.decode(u8.subarray(4, 4 + n)));
        bytes = u8.slice(4 + n);
        if ((ev.len || 0) !== bytes.length) this.violations.push(`seq ${ev.seq}: header len ${ev.len} but payload ${bytes.length} bytes`);
      }
      if (ev === null || typeof ev !== "object" || Array.isArray(ev)) { this.violations.push("message is not a JSON object"); return; }
      if (this.hello === null) {
        if (ev.type !== "hello" || binary || "seq" in ev) this.violations.push("first message is not a text hello without seq: " + JSON.stringify(ev).slice(0, 200));
        this.hello = ev;
        this.helloRaw = raw;
        this.wake();
        return;
      }
      this.onEvent(ev, binary, bytes, raw);
    }
    onEvent(ev, binary, bytes, raw) {
      const idx = this.events.length;
      if (ev.seq !== this.nextSeq) this.violations.push(`seq ${ev.seq}, expected ${this.nextSeq}`);
      this.nextSeq = ev.seq + 1;
      if (!Number.isSafeInteger(ev.t)) this.violations.push(`seq ${ev.seq}: t is not an integer`);
      if (!["call", "result", "error", "state", "sent", "data", "blocked", "kernel", "lesson", "answer"].includes(ev.type)) this.violations.push(`seq ${ev.seq}: unknown type ${ev.type}`);
      if (ev.type === "data" && !binary) this.violations.push(`seq ${ev.seq}: data event as text`);
      if (binary && ev.type !== "data" && ev.type !== "sent") this.violations.push(`seq ${ev.seq}: ${ev.type} event as binary`);
      if (ev.auto && ev.id !== undefined) this.violations.push(`seq ${ev.seq}: auto event with id`);
      if (ev.sock !== undefined && this.final.has(ev.sock) && (ev.type === "state" || ev.type === "data"))
        this.violations.push(`seq ${ev.seq}: ${ev.type} event for socket ${ev.sock} after its final state`);
      this.events.push({ ev, binary, bytes, raw });
      if (ev.id !== undefined) {
        let r = this.byId.get(ev.id);
        if (!r) this.byId.set(ev.id, (r = { call: null, answers: [], calls: 0 }));
        if (ev.type === "call") { r.call = ev; r.calls++; } else r.answers.push(ev);
        if (ev.type !== "call" && ev.sock !== undefined && this.sent.has(ev.id)) {
          const s = this.sent.get(ev.id);
          if (s.len && !s.settled && this.isFinal(ev, r)) {
            s.settled = true;
            this.outstanding.set(s.sock, (this.outstanding.get(s.sock) || 0) - s.len);
          }
        }
      }
      if (ev.type === "data") {
        if (ev.op === "recv") {
          let r = this.recv.get(ev.sock);
          if (!r) this.recv.set(ev.sock, (r = { chunks: [], total: 0, taken: 0 }));
          r.chunks.push(bytes);
          r.total += bytes.length;
        } else if (ev.op === "recvfrom") {
          if (!this.dgrams.has(ev.sock)) this.dgrams.set(ev.sock, []);
          this.dgrams.get(ev.sock).push({ peer: ev.peer, bytes, ev });
        }
      }
      if (ev.type === "state") {
        if (!this.states.has(ev.sock)) {
          this.states.set(ev.sock, []);
          if (!ev.kind) this.violations.push(`seq ${ev.seq}: first state of socket ${ev.sock} has no kind`);
        }
        this.states.get(ev.sock).push(ev);
        if (ev.state === "closed" || ev.state === "failed") this.final.set(ev.sock, idx);
      }
      this.wake();
    }
    isFinal(ev, r) {
      if (ev.type === "error" || ev.type === "result") return true;
      if (ev.type === "sent") return (ev.len || 0) === ((r.call && r.call.len) || 0);
      return false;
    }
    wake() {
      for (const w of [...this.waiters]) {
        let v;
        try { v = w.fn(); } catch (e) { this.waiters.delete(w); clearTimeout(w.timer); w.rej(e); continue; }
        if (v !== undefined) { this.waiters.delete(w); clearTimeout(w.timer); w.res(v); }
      }
    }
    until(fn, what, ms = WAIT) {
      const v = fn();
      if (v !== undefined) return Promise.resolve(v);
      if (this.closeInfo) return Promise.reject(new Error(`WebSocket closed while waiting for ${what}`));
      return new Promise((res, rej) => {
        const w = { fn, res, rej, what };
        w.timer = setTimeout(() => { this.waiters.delete(w); rej(new Error(`timed out after ${ms} ms waiting for ${what}`)); }, ms);
        this.waiters.add(w);
      });
    }
    // waitEvent resolves with the first event at or after index `from` that matches.
    waitEvent(pred, what, from = 0, ms = WAIT) {
      let i = from;
      return this.until(() => {
        for (; i < this.events.length; i++) if (pred(this.events[i].ev)) return this.events[i].ev;
      }, what, ms);
    }
    entry(ev) { return this.events.find((e) => e.ev === ev); }
    mark() { return this.events.length; }

    sendBinaryRaw(header, bytes) { // header: object or a string (JSON text)
      const h = te.encode(typeof header === "string" ? header : JSON.stringify(header));
      const m = new Uint8Array(4 + h.length + bytes.length);
      new DataView(m.buffer).setUint32(0, h.length);
      m.set(h, 4);
      m.set(bytes, 4 + h.length);
      this.ws.send(m);
    }
    // request sends one request and returns {id, call, answer} promises.
    // call resolves with the call event, or null when an error came without one.
    // answer resolves with the final answer (§6: result, sent for all bytes, or error).
    request(obj, bin) {
      const id = obj.id;
      const len = bin ? bin.length : 0;
      this.sent.set(id, { op: obj.op, sock: obj.sock, len, settled: false });
      if (len && obj.sock !== undefined) this.outstanding.set(obj.sock, (this.outstanding.get(obj.sock) || 0) + len);
      if (bin) this.sendBinaryRaw(obj, bin);
      else this.ws.send(JSON.stringify(obj));
      const call = this.until(() => {
        const r = this.byId.get(id);
        if (!r) return;
        if (r.call) return r.call;
        if (r.answers.some((e) => e.type === "error")) return null;
      }, `call of ${id}`);
      const answer = this.until(() => {
        const r = this.byId.get(id);
        if (!r) return;
        return r.answers.find((e) => this.isFinal(e, r));
      }, `answer to ${id}`);
      call.catch(() => {}); answer.catch(() => {});
      return { id, call, answer };
    }
    async rpc(obj, bin) {
      if (obj.id === undefined) obj = { id: this.uid(obj.op), ...obj };
      const r = this.request(obj, bin);
      const call = await r.call;
      const answer = await r.answer;
      const partial = this.byId.get(r.id).answers.filter((e) => e !== answer && e.type === "sent");
      return { id: r.id, call, answer, partial };
    }
    bytesAvail(sock) { const r = this.recv.get(sock); return r ? r.total - r.taken : 0; }
    // take waits until n more bytes arrived on a TCP socket and returns them.
    async take(sock, n, what, ms = WAIT) {
      await this.until(() => (this.bytesAvail(sock) >= n ? true : undefined), `${n} bytes on socket ${sock} (${what}); have ${this.bytesAvail(sock)}`, ms);
      const r = this.recv.get(sock);
      const all = concat(r.chunks);
      r.chunks = [all];
      const out = all.slice(r.taken, r.taken + n);
      r.taken += n;
      return out;
    }
    dgram(sock, pred, what, ms = WAIT) {
      let i = 0;
      return this.until(() => {
        const l = this.dgrams.get(sock) || [];
        for (; i < l.length; i++) if (pred(l[i])) return l[i];
      }, what, ms);
    }
    stateOf(sock) { const l = this.states.get(sock); return l ? l[l.length - 1] : undefined; }
    waitState(sock, state, from = 0, extra = () => true) {
      return this.waitEvent((e) => e.type === "state" && e.sock === sock && e.state === state && extra(e), `state ${state} of socket ${sock}`, from);
    }
    // streamSend sends bytes on a TCP socket as binary sends of at most
    // `size` bytes, keeping at most limits.send_queue bytes requested but
    // not answered on the socket (§9.2), and checks every answer.
    async streamSend(sock, bytes, size, tag) {
      const q = this.hello.limits.send_queue;
      const pending = [];
      let inflight = 0;
      const problems = [];
      let maxOut = 0;
      for (let o = 0; o < bytes.length; o += size) {
        const part = bytes.subarray(o, o + size);
        while (pending.length && inflight + part.length > q) {
          const p = pending.shift();
          const a = await p.r.answer;
          inflight -= p.n;
          if (a.type !== "sent" || a.len !== p.n) problems.push(`${p.r.id}: ${JSON.stringify(a)}`);
        }
        const r = this.request({ id: this.uid(tag), op: "send", sock }, part);
        pending.push({ r, n: part.length });
        inflight += part.length;
        maxOut = Math.max(maxOut, inflight);
      }
      for (const p of pending) {
        const a = await p.r.answer;
        if (a.type !== "sent" || a.len !== p.n) problems.push(`${p.r.id}: ${JSON.stringify(a)}`);
      }
      return { problems, maxOut };
    }
  }

  // ---------------------------------------------------------------- steps
  let allOk = true;
  async function step(name, fn) {
    const st = { name, ok: false, checks: [], notes: [] };
    report.steps.push(st);
    const t0 = performance.now();
    try {
      await fn(st);
      st.ok = st.checks.every((c) => c.ok);
    } catch (e) {
      st.error = String((e && e.stack) || e);
    }
    st.ms = Math.round(performance.now() - t0);
    if (!st.ok) allOk = false;
    return st.ok;
  }
  const check = (st, ok, what, detail) => {
    const c = { ok: !!ok, what };
    if (!ok && detail !== undefined) c.detail = typeof detail === "string" ? detail : JSON.stringify(detail);
    st.checks.push(c);
    return !!ok;
  };
  const note = (st, s) => st.notes.push(s);
  const j = (x) => JSON.stringify(x);
  const isOK = (st, a, type, what) => check(st, a && a.type === type, `${what}: ${type}`, a);
  const isErr = (st, a, code, errno, what) => {
    const ok = a && a.type === "error" && a.code === code && (errno === undefined ? true : errno === null ? a.errno === undefined : a.errno === errno);
    return check(st, ok, `${what}: error ${code}${errno ? " " + errno : errno === null ? " (no errno)" : ""}`, a);
  };

  const c = new Client();
  const base = `ws://${location.host}/ws`;
  let K = null, Kaddr = null, aliveN = 0; // the canary UDP socket
  const S = {}; // sockets and addresses shared between steps

  // Proof that the session carries on (§7): a datagram from the canary
  // socket to itself, and a fresh bind that is closed again.
  async function alive(st, after) {
    const text = `alive-${++aliveN}`;
    const a = await c.rpc({ op: "sendto", sock: K, host: Kaddr.host, port: Kaddr.port, data: { text } });
    const d = await c.dgram(K, (g) => td.decode(g.bytes) === text, `canary datagram ${text}`);
    const b = await c.rpc({ op: "bind", host: "127.0.0.1", port: 0 });
    const x = b.call && b.call.sock !== undefined ? await c.rpc({ op: "close", sock: b.call.sock }) : null;
    check(st, a.answer.type === "sent" && d.peer === `${Kaddr.host}:${Kaddr.port}` && b.answer.type === "result" && x && x.answer.type === "result",
      `session carries on after ${after}`, { sent: a.answer, peer: d.peer, bind: b.answer, close: x && x.answer });
  }

  // ---- 1. connect and hello (§2.1, §2.3). The first request goes out before the hello arrives.
  let earlyBind = null;
  await step("connect + hello", async (st) => {
    const ws = await c.open(base);
    earlyBind = c.request({ id: "early-bind", op: "bind", host: "127.0.0.1", port: 0 });
    check(st, c.hello === null, "request sent before the hello arrived (§2.3 allows it)");
    check(st, ws.protocol === SUBPROTOCOL, `server selected subprotocol ${SUBPROTOCOL}`, ws.protocol);
    check(st, ws.extensions === "", "no extension negotiated", ws.extensions);
    const h = await c.until(() => c.hello || undefined, "hello");
    check(st, h.type === "hello" && h.protocol === "socket-playground/1", "hello.protocol is socket-playground/1", h);
    check(st, typeof h.session === "string" && /^[A-Z2-7]{26}$/.test(h.session), "session id: 26 base32 characters", h.session);
    check(st, h.mode === "local", "mode local", h.mode);
    const L = h.limits || {};
    check(st, ["max_sockets", "max_send", "send_queue", "max_message"].every((k) => Number.isSafeInteger(L[k]) && L[k] > 0), "limits are positive integers", L);
    check(st, Array.isArray(h.services), "services is an array", h.services);
    const find = (proto, fam) => (h.services || []).find((s) => s.name === "echo" && s.proto === proto && (fam === 6 ? s.addr.startsWith("[") : !s.addr.startsWith("[")));
    S.tcpEcho = find("tcp", 4); S.udpEcho = find("udp", 4); S.tcpEcho6 = find("tcp", 6); S.udpEcho6 = find("udp", 6);
    check(st, S.tcpEcho && S.udpEcho, "services name a TCP and a UDP echo on IPv4", h.services);
    for (const s of h.services || []) check(st, typeof s.about === "string" && s.about.length > 0, `service ${s.proto} ${s.addr} has an about line`);
    note(st, `session ${h.session}, limits ${j(L)}, services ${(h.services || []).map((s) => s.proto + " " + s.addr).join(", ")}`);
    const hr = c.helloRaw;
    check(st, hr === JSON.stringify(JSON.parse(hr)), "hello is compact JSON with no trailing newline (§3.1)", hr);
  });
  if (!c.hello) { report.steps.push({ name: "abort", ok: false, error: "no hello" }); return report; }
  const LIM = c.hello.limits;

  // ---- 2. the canary UDP socket (the early bind).
  await step("early bind (canary UDP socket)", async (st) => {
    const call = await earlyBind.call, ans = await earlyBind.answer;
    check(st, call && call.op === "bind" && Number.isInteger(call.sock) && call.sock > 0, "call names the new socket", call);
    check(st, call && call.host === "127.0.0.1" && call.port === undefined, "call shows host, port 0 absent (§4.5)", call);
    check(st, ans.type === "result" && ans.addr === "127.0.0.1:0" && /^127\.0\.0\.1:\d+$/.test(ans.local), "result addr asked for and local bound", ans);
    K = call.sock; Kaddr = splitAddr(ans.local);
    const s = await c.waitState(K, "bound");
    check(st, s.kind === "udp" && s.local === ans.local, "state bound, kind udp", s);
    await alive(st, "the first bind");
  });

  // ---- 3. a client without the subprotocol is refused with 1008 (§2.1).
  await step("no subprotocol: refused with close 1008", async (st) => {
    const got = await new Promise((resolve) => {
      const ws = new WebSocket(base);
      let msgs = 0;
      ws.onmessage = () => msgs++;
      ws.onclose = (e) => resolve({ code: e.code, reason: e.reason, msgs, opened: ws.__opened === true });
      ws.onopen = () => { ws.__opened = true; };
      setTimeout(() => resolve({ timeout: true }), WAIT);
    });
    check(st, got.code === 1008, "close code 1008", got);
    check(st, got.reason === "offer the WebSocket subprotocol socket-playground.v1", "close reason as documented", got);
    check(st, got.opened === true, "the upgrade completed first (opened, then closed)", got);
    if (got.msgs) note(st, `the refused connection received ${got.msgs} message(s) before closing`);
  });

  // ---- 4. listen, connect, automatic accept (§4.4, §4.5, §5.5).
  await step("listen 127.0.0.1:0, connect, automatic accept", async (st) => {
    const l = await c.rpc({ op: "listen", host: "127.0.0.1", port: 0 });
    check(st, l.call.op === "listen" && l.call.host === "127.0.0.1" && !("port" in l.call), "listen call (port 0 absent)", l.call);
    check(st, l.answer.type === "result" && l.answer.addr === "127.0.0.1:0", "listen result addr 127.0.0.1:0", l.answer);
    S.L = l.call.sock; S.Laddr = l.answer.local;
    const P = splitAddr(S.Laddr).port;
    check(st, P > 0, "listen result local has the real port", l.answer);
    const ls = await c.waitState(S.L, "listening");
    check(st, ls.kind === "tcp-listener" && ls.local === S.Laddr, "state listening, kind tcp-listener", ls);

    const from = c.mark();
    const r = c.request({ id: c.uid("connect"), op: "connect", host: "127.0.0.1", port: P });
    const call = await r.call;
    check(st, call.sock > S.L && call.timeout_ms === 10000 && call.port === P, "connect call: new socket, default timeout_ms 10000 shown", call);
    S.C = call.sock;
    const acc = await c.waitEvent((e) => e.type === "result" && e.op === "accept" && e.sock === S.L, "accept result", from);
    check(st, acc.auto === true && acc.id === undefined && Number.isInteger(acc.child), "accept result: auto, no id, child", acc);
    S.S = acc.child;
    const est = await c.waitState(S.S, "established", from);
    check(st, est.kind === "tcp" && est.parent === S.L, "accepted socket: state established, kind tcp, parent = listener", est);
    const ans = await r.answer;
    check(st, ans.type === "result" && ans.addr === `127.0.0.1:${P}` && ans.remote === `127.0.0.1:${P}`, "connect result addr/remote", ans);
    check(st, acc.remote === ans.local && acc.local === ans.remote && est.local === acc.local && est.remote === acc.remote, "accept and connect name the same two ends", { acc, ans });
    const cs = await c.waitState(S.C, "established", from);
    const conn = c.states.get(S.C);
    check(st, conn[0].state === "connecting" && conn[0].addr === `127.0.0.1:${P}` && conn[0].kind === "tcp" && conn[0].addrs === undefined,
      "state connecting with addr (no addrs for an IP)", conn[0]);
    check(st, cs.local === ans.local && cs.remote === ans.remote, "state established of the client", cs);
    const iAcc = c.events.findIndex((e) => e.ev === acc), iEst = c.events.findIndex((e) => e.ev === est);
    check(st, iAcc < iEst, "accept result comes before the child's state established (§8)");
  });

  // Sends a list of JSON/binary requests on one socket, all pipelined, and checks every answer.
  async function sendAll(st, sock, parts, label) {
    const rs = parts.map((p) => c.request({ id: c.uid(label), op: "send", sock, ...(p.data ? { data: p.data } : {}) }, p.bin));
    let ok = true;
    for (let i = 0; i < rs.length; i++) {
      const call = await rs[i].call, a = await rs[i].answer;
      const want = parts[i].len;
      if (!(call && (call.len || 0) === want && a.type === "sent" && (a.len || 0) === want && !c.entry(a).binary)) {
        ok = false;
        check(st, false, `${label} part ${i}: call len and text sent len ${want}`, { call, a });
      }
    }
    check(st, ok, `${label}: ${parts.length} sends, every call and sent has the right len, sent is text`);
  }
  async function expectBytes(st, sock, want, label) {
    const got = await c.take(sock, want.length, label);
    check(st, equal(got, want), `${label}: socket ${sock} received exactly the ${want.length} bytes`, equal(got, want) ? undefined : firstDiff(got, want));
  }

  // ---- 5. client → server: all 256 byte values, every spelling.
  await step("client→server: 256 values as one binary frame", async (st) => {
    await sendAll(st, S.C, [{ bin: ALL, len: 256 }], "c2s-bin");
    await expectBytes(st, S.S, ALL, "binary");
  });
  await step("client→server: 256 values as hex in 4 chunkings/styles", async (st) => {
    const sets = [[256], [1, 15, 112, 128], [7], [100, 3, 153]];
    for (let s = 0; s < sets.length; s++) {
      await sendAll(st, S.C, chunk(ALL, sets[s]).map((b) => ({ data: { hex: hexOf(b, s) }, len: b.length })), `c2s-hex${s}`);
      await expectBytes(st, S.S, ALL, `hex style ${s}, chunks ${sets[s]}`);
    }
  });
  await step("client→server: 256 values as escaped (escapes and raw characters)", async (st) => {
    const sets = [[256, "escape", false], [[3, 90, 163], "escape", true], [[128, 128], "raw", false], [[1], "raw", true]];
    for (const [sizes, mode, upper] of sets) {
      const parts = chunk(ALL, Array.isArray(sizes) ? sizes : [sizes]).map((b) => ({ data: { escaped: escOf(b, mode, upper) }, len: b.length }));
      await sendAll(st, S.C, parts, `c2s-esc-${mode}`);
      await expectBytes(st, S.S, ALL, `escaped ${mode}, chunks ${sizes}`);
    }
  });
  await step("client→server: 256 values as base64 (with and without padding)", async (st) => {
    for (const sizes of [[256], [1, 2, 3, 100, 150], [5]]) {
      await sendAll(st, S.C, chunk(ALL, sizes).map((b) => ({ data: { base64: b64Of(b) }, len: b.length })), "c2s-b64");
      await expectBytes(st, S.S, ALL, `base64 chunks ${sizes}`);
    }
  });
  await step("client→server: bytes 0..127 as text", async (st) => {
    const lo = ALL.subarray(0, 128);
    await sendAll(st, S.C, chunk(lo, [64]).map((b) => ({ data: { text: textOf(b) }, len: b.length })), "c2s-text");
    await expectBytes(st, S.S, lo, "text 0..127");
    await sendAll(st, S.C, [{ data: { text: "é€\u{1F600}" }, len: 9 }], "c2s-utf8");
    await expectBytes(st, S.S, te.encode("é€\u{1F600}"), "text is sent as UTF-8");
  });
  await step("payload details (§4.3)", async (st) => {
    // \0 is exactly one escape: "\0" then "7" is NUL, '7' (not octal); a
    // non-ASCII character is its UTF-8 bytes; JSON's own "\r\n" is kept.
    await sendAll(st, S.C, [{ data: { escaped: "\\07é\r\n\\x7F" }, len: 7 }], "esc-details");
    await expectBytes(st, S.S, new Uint8Array([0x00, 0x37, 0xc3, 0xa9, 0x0d, 0x0a, 0x7f]), "escaped details");
    await sendAll(st, S.C, [{ data: { hex: "4\n8 6\t5" }, len: 2 }], "hex-split");
    await expectBytes(st, S.S, new Uint8Array([0x48, 0x65]), "hex digits split by whitespace");
    // An empty TCP send: allowed (0 bytes), its answers have no len.
    const e = await c.rpc({ op: "send", sock: S.C, data: { text: "" } });
    check(st, e.call && e.call.len === undefined && e.answer.type === "sent" && e.answer.len === undefined, "empty send: call and sent without len", e);
    const eb = await c.rpc({ op: "send", sock: S.C }, new Uint8Array(0));
    check(st, eb.answer.type === "sent" && eb.answer.len === undefined, "empty binary send: sent without len", eb.answer);
    await sleep(50);
    check(st, c.bytesAvail(S.S) === 0, "nothing arrived for empty sends", c.bytesAvail(S.S));
  });

  // ---- 6. server → client.
  await step("server→client: 256 values, binary + every spelling", async (st) => {
    const parts = [
      { bin: ALL, len: 256 },
      ...chunk(ALL, [64]).map((b, i) => [{ data: { hex: hexOf(b, i) }, len: 64 }, { data: { escaped: escOf(b, i % 2 ? "raw" : "escape", i > 1) }, len: 64 }, { data: { base64: b64Of(b) }, len: 64 }, { bin: b, len: 64 }][i]),
    ];
    await sendAll(st, S.S, parts, "s2c");
    await expectBytes(st, S.C, concat([ALL, ALL]), "server→client");
    check(st, c.bytesAvail(S.C) === 0 && c.bytesAvail(S.S) === 0, "no stray bytes on either side");
  });

  // ---- 7. by name to the echo (§4.4 addrs).
  await step("connect by name echo.playground.test to the TCP echo", async (st) => {
    const ep = splitAddr(S.tcpEcho.addr);
    const from = c.mark();
    const r = await c.rpc({ op: "connect", host: params.echoName, port: ep.port, family: "ip4" });
    check(st, r.call.host === params.echoName && r.call.family === "ip4" && r.call.timeout_ms === 10000, "call shows the name, family and timeout", r.call);
    S.E = r.call.sock;
    check(st, r.answer.type === "result" && r.answer.addr === S.tcpEcho.addr && r.answer.remote === S.tcpEcho.addr, "connected to the resolved echo address", r.answer);
    const cn = await c.waitState(S.E, "connecting", from);
    check(st, j(cn.addrs) === j(["127.0.0.1"]) && cn.addr === S.tcpEcho.addr, "state connecting lists addrs [127.0.0.1] and the addr tried", cn);
    await c.waitState(S.E, "established", from);
    await sendAll(st, S.E, [{ bin: ALL, len: 256 }], "echo-bin");
    await expectBytes(st, S.E, ALL, "echo of binary");
    await sendAll(st, S.E, chunk(ALL, [50]).map((b, i) => ({ data: i % 2 ? { hex: hexOf(b, i) } : { base64: b64Of(b) }, len: b.length })), "echo-mixed");
    await expectBytes(st, S.E, ALL, "echo of hex/base64");
    // Without family the name gives both addresses (in the resolver's
    // order); every address is tried in turn until one answers (§4.4). On
    // [::1] the IPv4 echo's port is normally closed (EchoPort 0 gives every
    // listener its own port), so an attempt there is refused and the next
    // address is tried.
    const from2 = c.mark();
    const r2 = await c.rpc({ op: "connect", host: params.echoName, port: ep.port });
    const cons = (c.states.get(r2.call.sock) || []).filter((x) => x.state === "connecting");
    check(st, cons.length >= 1 && j([...cons[0].addrs].sort()) === j(["127.0.0.1", "::1"]), "without family, addrs lists both addresses", cons);
    check(st, r2.answer.type === "result" && r2.answer.addr === S.tcpEcho.addr, "the attempts end on the IPv4 echo", { answer: r2.answer, cons });
    check(st, cons.length >= 1 && cons[cons.length - 1].addr === S.tcpEcho.addr, "one connecting state per address tried; the last is the one that answered", cons);
    note(st, `no family: addrs ${j(cons[0] && cons[0].addrs)}, tried ${cons.map((x) => x.addr).join(" then ")}; events for the socket: ${c.events.slice(from2).map((x) => x.ev).filter((e) => e.sock === r2.call.sock).map((e) => e.type + (e.state ? " " + e.state : "") + (e.code ? " " + e.code : "")).join(", ")}`);
    isOK(st, (await c.rpc({ op: "close", sock: r2.call.sock })).answer, "result", "close it");
  });

  // ---- 8. interleaved streams with pacing by answers (§8, §9.2).
  await step("interleaved streams paced by answers (send_queue)", async (st) => {
    const size = Math.min(LIM.max_send, 65536);
    const a = pattern(512 * 1024, 1), b = pattern(384 * 1024, 2), e = pattern(768 * 1024, 3);
    const t0 = performance.now();
    const udp = (async () => {
      let ok = 0;
      for (let i = 0; i < 20; i++) {
        const text = `tick-${i}`;
        c.request({ id: c.uid("tick"), op: "sendto", sock: K, host: Kaddr.host, port: Kaddr.port, data: { text } });
        await c.dgram(K, (g) => td.decode(g.bytes) === text, text);
        ok++;
      }
      return ok;
    })();
    const [ra, rb, re, ticks, ga, gb, ge] = await Promise.all([
      c.streamSend(S.C, a, size, "stA"), c.streamSend(S.S, b, size, "stB"), c.streamSend(S.E, e, size, "stE"), udp,
      c.take(S.S, a.length, "stream A", 20000), c.take(S.C, b.length, "stream B", 20000), c.take(S.E, e.length, "stream E", 20000),
    ]);
    check(st, ra.problems.length + rb.problems.length + re.problems.length === 0, "every paced send answered by sent with its full len", [ra, rb, re]);
    check(st, Math.max(ra.maxOut, rb.maxOut, re.maxOut) <= LIM.send_queue, "never more than send_queue unanswered per socket");
    check(st, equal(ga, a) && equal(gb, b) && equal(ge, e), "all three streams arrived exactly", [firstDiff(ga, a), firstDiff(gb, b), firstDiff(ge, e)]);
    check(st, ticks === 20, "20 UDP datagrams interleaved with the streams");
    const socks = new Set(c.events.slice(-200).map((x) => x.ev.sock));
    note(st, `${a.length + b.length + e.length} bytes in ${Math.round(performance.now() - t0)} ms; chunks of ${size}; recent events touched sockets ${[...socks].join(",")}`);
    const maxData = Math.max(...c.events.filter((x) => x.ev.type === "data").map((x) => x.bytes.length));
    check(st, maxData <= 262144, "no data event over 256 KiB", maxData);
  });

  // ---- 9. half-close (§4.9, §5.4).
  await step("half-close: shutdown write, peer EOF, server still sends, close", async (st) => {
    const from = c.mark();
    const w = await c.rpc({ op: "shutdown", sock: S.C, how: "write" });
    check(st, w.call.how === "write" && w.answer.type === "result" && w.answer.how === "write", "shutdown call and result with how", w);
    const hw = await c.waitState(S.C, "half-closed", from, (e) => e.half === "write");
    check(st, !!hw.reason, "client: half-closed write with a reason", hw);
    const hr = await c.waitState(S.S, "half-closed", from, (e) => e.half === "read");
    check(st, !!hr.reason && hr.parent === S.L, "server side: half-closed read (EOF)", hr);
    const bp = await c.rpc({ op: "send", sock: S.C, data: { text: "after shutdown" } });
    isErr(st, bp.answer, "broken_pipe", "EPIPE", "send after own shutdown(write)");
    await sendAll(st, S.S, [{ bin: ALL, len: 256 }, { data: { hex: hexOf(ALL, 1) }, len: 256 }], "after-half");
    await expectBytes(st, S.C, concat([ALL, ALL]), "server still sends to the half-closed client");
    check(st, c.stateOf(S.C).state === "half-closed", "client socket still open after EPIPE from its own shutdown", c.stateOf(S.C));
    const again = await c.rpc({ op: "shutdown", sock: S.C, how: "write" });
    check(st, again.answer.type === "result", "shutting down an already shut side succeeds", again.answer);
    const m2 = c.mark();
    const x = await c.rpc({ op: "close", sock: S.S });
    isOK(st, x.answer, "result", "close server side");
    const xs = await c.waitState(S.S, "closed", m2);
    check(st, xs.reason === "closed by you", "server side closed by you", xs);
    const eof = await c.waitState(S.C, "half-closed", m2, (e) => e.half === "read");
    const ac = await c.waitEvent((e) => e.type === "result" && e.op === "close" && e.sock === S.C, "auto close", m2);
    const cc = await c.waitState(S.C, "closed", m2);
    check(st, eof && ac.auto === true && ac.id === undefined && cc.reason === "both directions are finished", "client: EOF, then auto close, reason both directions finished", { ac, cc });
    const after = await c.rpc({ op: "send", sock: S.S, data: { text: "x" } });
    check(st, after.call !== null, "a request on a closed socket still gets a call", after.call);
    isErr(st, after.answer, "bad_state", undefined, "send on a closed socket");
    const cl = await c.rpc({ op: "close", sock: S.C });
    isErr(st, cl.answer, "bad_state", undefined, "close of a socket live mode closed");
    const xl = await c.rpc({ op: "close", sock: S.L });
    isOK(st, xl.answer, "result", "close listener");
    const lc = await c.waitState(S.L, "closed");
    check(st, lc.kind === "tcp-listener" && lc.reason === "closed by you", "listener closed", lc);
  });

  // ---- 10. the Go peer: the Go side checks what it got.
  await step("Go peer: exact bytes both ways, mixed spellings, EOF", async (st) => {
    const from = c.mark();
    const r = await c.rpc({ op: "connect", host: "127.0.0.1", port: params.goPeerPort });
    isOK(st, r.answer, "result", "connect to the Go peer");
    const G = r.call.sock;
    await sendAll(st, G, [
      { bin: ALL.subarray(0, 64), len: 64 },
      { data: { hex: hexOf(ALL.subarray(64, 128), 3) }, len: 64 },
      { data: { escaped: escOf(ALL.subarray(128, 192), "escape", true) }, len: 64 },
      { data: { base64: b64Of(ALL.subarray(192)) }, len: 64 },
    ], "gopeer");
    await expectBytes(st, G, ALL, "bytes the Go peer wrote");
    const w = await c.rpc({ op: "shutdown", sock: G, how: "write" });
    isOK(st, w.answer, "result", "shutdown write");
    const cl = await c.waitState(G, "closed", from);
    check(st, cl.reason === "both directions are finished", "Go peer closed after our EOF: live mode closed the socket", cl);
    S.G = G;
  });

  // ---- 11. UDP on IPv4 (§4.6, §4.8).
  await step("UDP IPv4: pair, empty datagram, 256 values, echo, Go peer", async (st) => {
    const a = await c.rpc({ op: "bind", host: "127.0.0.1", port: 0 });
    const b = await c.rpc({ op: "bind", host: "127.0.0.1", port: 0 });
    const A = a.call.sock, B = b.call.sock, Aa = a.answer.local, Ba = b.answer.local;
    check(st, a.answer.type === "result" && b.answer.type === "result" && Aa !== Ba, "two bound sockets", [a.answer, b.answer]);
    const bp = splitAddr(Ba), ap = splitAddr(Aa);
    const to = (sock, p, extra) => ({ id: c.uid("u"), op: "sendto", sock, host: p.host, port: p.port, ...extra });
    const rs = [
      c.request(to(A, bp, { data: { text: "" } })),
      c.request(to(A, bp, {}), ALL),
      c.request(to(A, bp, { data: { hex: hexOf(ALL, 2) } })),
      c.request(to(A, bp, { data: { base64: "" } })),
      c.request(to(A, bp, {}), new Uint8Array(0)),
      c.request(to(A, bp, { data: { escaped: escOf(ALL, "raw", true) } })),
    ];
    const want = [0, 256, 256, 0, 0, 256];
    for (let i = 0; i < rs.length; i++) {
      const call = await rs[i].call, ans = await rs[i].answer;
      check(st, call.host === "127.0.0.1" && call.port === bp.port && (call.len || 0) === want[i], `sendto ${i}: call host/port/len`, call);
      check(st, ans.type === "sent" && ans.peer === Ba && (want[i] ? ans.len === want[i] : ans.len === undefined), `sendto ${i}: sent with peer and len (absent when 0)`, ans);
    }
    const got = [];
    for (let i = 0; i < rs.length; i++) got.push(await c.dgram(B, (g) => !got.includes(g), `datagram ${i} on B`));
    check(st, got.every((g) => g.peer === Aa), "every datagram names its sender", got.map((g) => g.peer));
    check(st, got.map((g) => g.bytes.length).join() === want.join(), "datagram boundaries kept, in order", got.map((g) => g.bytes.length));
    check(st, got.every((g) => (g.bytes.length === 0 ? g.ev.len === undefined : equal(g.bytes, ALL))), "every datagram holds exactly 0..255 (or is empty with no len)");
    check(st, got.every((g) => c.entry(g.ev).binary), "every data event, empty included, is a binary message");
    const back = await c.rpc(to(B, ap, {}), ALL);
    isOK(st, back.answer, "sent", "B→A");
    const gb = await c.dgram(A, () => true, "B→A datagram");
    check(st, gb.peer === Ba && equal(gb.bytes, ALL), "A got 0..255 from B", gb.peer);
    // Built-in UDP echo.
    const ue = splitAddr(S.udpEcho.addr);
    const ee = await c.rpc(to(A, ue, {}), ALL);
    check(st, ee.answer.type === "sent" && ee.answer.peer === S.udpEcho.addr, "sendto the UDP echo", ee.answer);
    const eg = await c.dgram(A, (g) => g.peer === S.udpEcho.addr, "echoed datagram");
    check(st, equal(eg.bytes, ALL), "the UDP echo sent 0..255 back");
    const e0 = await c.rpc(to(A, ue, { data: { text: "" } }));
    const eg0 = await c.dgram(A, (g) => g !== eg && g.peer === S.udpEcho.addr, "echoed empty datagram");
    check(st, e0.answer.type === "sent" && eg0.bytes.length === 0, "the UDP echo returns an empty datagram too");
    // Go UDP peer answers with the bytes reversed.
    const gp = { host: "127.0.0.1", port: params.goUDPPort };
    const gr = await c.rpc(to(A, gp, { data: { base64: b64Of(ALL) } }));
    isOK(st, gr.answer, "sent", "sendto the Go UDP peer");
    const gg = await c.dgram(A, (g) => g.peer === `127.0.0.1:${params.goUDPPort}`, "Go UDP answer");
    check(st, equal(gg.bytes, ALL.slice().reverse()), "the Go UDP peer's reversed bytes arrived exactly");
    // Wrong family for an IPv4 socket.
    const wf = await c.rpc(to(A, { host: "::1", port: ue.port }, { data: { text: "x" } }));
    check(st, wf.call !== null, "sendto ::1 on an IPv4 socket gets a call");
    isErr(st, wf.answer, "bad_field", undefined, "sendto ::1 from an IPv4 socket");
    const sn = await c.rpc({ op: "send", sock: A, data: { text: "x" } });
    isErr(st, sn.answer, "bad_state", undefined, "send on a UDP socket");
    for (const s of [A, B]) {
      const x = await c.rpc({ op: "close", sock: s });
      isOK(st, x.answer, "result", `close udp ${s}`);
    }
    check(st, c.stateOf(A).state === "closed" || (await c.waitState(A, "closed")), "udp closed");
  });

  // ---- 12. UDP on IPv6.
  await step("UDP IPv6 (::1): pair, empty datagram, 256 values, echo", async (st) => {
    if (!params.ipv6) { note(st, "::1 not available: skipped"); return; }
    const a = await c.rpc({ op: "bind", host: "::1", port: 0 });
    const b = await c.rpc({ op: "bind", host: "::1", port: 0 });
    check(st, a.answer.type === "result" && /^\[::1\]:\d+$/.test(a.answer.local) && a.answer.addr === "[::1]:0", "bound on [::1] (brackets in addresses)", a.answer);
    const A = a.call.sock, B = b.call.sock, Aa = a.answer.local, Ba = b.answer.local;
    const to = (sock, p, extra) => ({ id: c.uid("u6"), op: "sendto", sock, host: p.host, port: p.port, ...extra });
    const r1 = await c.rpc(to(A, splitAddr(Ba), {}), ALL);
    const r2 = await c.rpc(to(A, splitAddr(Ba), { data: { text: "" } }));
    const r3 = await c.rpc(to(B, splitAddr(Aa), { family: "ip6", data: { hex: hexOf(ALL, 0) } }));
    check(st, r1.call.host === "::1" && r1.answer.type === "sent" && r1.answer.peer === Ba && r1.answer.len === 256, "sendto [::1] 256 bytes", r1.answer);
    check(st, r2.answer.type === "sent" && r2.answer.len === undefined, "empty datagram sent", r2.answer);
    check(st, r3.call.family === "ip6" && r3.answer.type === "sent", "sendto with family ip6", r3);
    const g1 = await c.dgram(B, () => true, "v6 datagram 1");
    const g2 = await c.dgram(B, (g) => g !== g1, "v6 datagram 2");
    const g3 = await c.dgram(A, () => true, "v6 datagram back");
    check(st, g1.peer === Aa && equal(g1.bytes, ALL) && g2.peer === Aa && g2.bytes.length === 0 && g3.peer === Ba && equal(g3.bytes, ALL), "IPv6 datagrams exact, with peers", [g1.peer, g2.peer, g3.peer]);
    if (S.udpEcho6) {
      const e = await c.rpc(to(A, splitAddr(S.udpEcho6.addr), {}), ALL);
      const g = await c.dgram(A, (x) => x.peer === S.udpEcho6.addr, "IPv6 echo");
      check(st, e.answer.peer === S.udpEcho6.addr && equal(g.bytes, ALL), "the IPv6 UDP echo sent 0..255 back", e.answer);
    } else note(st, "no IPv6 UDP echo announced");
    const wf = await c.rpc(to(A, { host: "127.0.0.1", port: 9 }, { data: { text: "x" } }));
    isErr(st, wf.answer, "bad_field", undefined, "sendto 127.0.0.1 from an IPv6 socket");
    const wf2 = await c.rpc(to(A, { host: "::1", port: 9 }, { family: "ip4", data: { text: "x" } }));
    isErr(st, wf2.answer, "bad_field", undefined, "sendto with family ip4 on an IPv6 socket");
    for (const s of [A, B]) isOK(st, (await c.rpc({ op: "close", sock: s })).answer, "result", `close udp6 ${s}`);
  });

  // ---- 13. errors from the network and the kernel (§7.2), each followed by proof of life.
  async function failedConnect(st, req, code, errno, label) {
    const from = c.mark();
    const t0 = performance.now();
    const r = await c.rpc({ op: "connect", ...req });
    const ms = performance.now() - t0;
    check(st, r.call && Number.isInteger(r.call.sock), `${label}: a call with a new socket`, r.call);
    isErr(st, r.answer, code, errno, label);
    check(st, r.answer.sock === r.call.sock && typeof r.answer.message === "string" && r.answer.message.length > 0, `${label}: error names the socket and has a message`, r.answer);
    const f = await c.waitState(r.call.sock, "failed", from);
    check(st, f.kind === "tcp" && !!f.reason, `${label}: then state failed`, f);
    const iErr = c.events.findIndex((e) => e.ev === r.answer), iF = c.events.findIndex((e) => e.ev === f);
    check(st, iErr < iF, `${label}: the error comes just before state failed`);
    return { r, ms };
  }
  await step("error refused (ECONNREFUSED)", async (st) => {
    await failedConnect(st, { host: "127.0.0.1", port: params.refusedPort }, "refused", "ECONNREFUSED", "connect to a closed port");
    await alive(st, "refused");
  });
  await step("error timeout (timeout_ms 300, full accept queue)", async (st) => {
    const { r, ms } = await failedConnect(st, { host: "127.0.0.1", port: params.timeoutPort, timeout_ms: 300 }, "timeout", "ETIMEDOUT", "connect with timeout_ms 300");
    check(st, r.call.timeout_ms === 300, "call shows timeout_ms 300", r.call);
    check(st, ms >= 250 && ms < 3000, `timed out after about 300 ms (${Math.round(ms)} ms)`);
    await alive(st, "timeout");
  });
  await step("error name_not_found (NXDOMAIN)", async (st) => {
    const { r } = await failedConnect(st, { host: params.nxName, port: 80 }, "name_not_found", null, `connect to ${params.nxName}`);
    const st2 = c.states.get(r.call.sock);
    check(st, st2.length === 1 && st2[0].state === "failed", "no connecting state: the name never resolved", st2);
    const l = await c.rpc({ op: "listen", host: params.nxName, port: 0 });
    isErr(st, l.answer, "name_not_found", undefined, "listen on an unknown name");
    await alive(st, "name_not_found");
  });
  await step("error addr_in_use (EADDRINUSE)", async (st) => {
    const ep = splitAddr(S.tcpEcho.addr);
    const from = c.mark();
    const l = await c.rpc({ op: "listen", host: "127.0.0.1", port: ep.port });
    isErr(st, l.answer, "addr_in_use", "EADDRINUSE", "listen on the echo's port");
    const f = await c.waitState(l.call.sock, "failed", from);
    check(st, f.kind === "tcp-listener", "then state failed, kind tcp-listener", f);
    const ue = splitAddr(S.udpEcho.addr);
    const b = await c.rpc({ op: "bind", host: "127.0.0.1", port: ue.port });
    isErr(st, b.answer, "addr_in_use", "EADDRINUSE", "bind on the UDP echo's port");
    const fb = await c.waitState(b.call.sock, "failed", from);
    check(st, fb.kind === "udp", "then state failed, kind udp", fb);
    await alive(st, "addr_in_use");
  });
  await step("error reset (ECONNRESET)", async (st) => {
    const from = c.mark();
    const r = await c.rpc({ op: "connect", host: "127.0.0.1", port: params.resetPort });
    isOK(st, r.answer, "result", "connect to the resetting peer");
    const R = r.call.sock;
    const s = await c.rpc({ op: "send", sock: R, data: { text: "x" } });
    isOK(st, s.answer, "sent", "send one byte");
    const e = await c.waitEvent((x) => x.type === "error" && x.sock === R, "an error on the reset socket", from);
    isErr(st, e, "reset", "ECONNRESET", "the peer's RST");
    note(st, `reset reported as ${e.op}${e.auto ? " (auto)" : ""}`);
    check(st, e.op === "recv" && e.auto === true, "reported by live mode's recv (§5.5)", e);
    const f = await c.waitState(R, "failed", from);
    check(st, !!f.reason, "then state failed", f);
    const after = await c.rpc({ op: "send", sock: R, data: { text: "y" } });
    isErr(st, after.answer, "bad_state", undefined, "send on the failed socket");
    await alive(st, "reset");
  });
  await step("error broken_pipe (EPIPE, the peer closed)", async (st) => {
    const from = c.mark();
    const r = await c.rpc({ op: "connect", host: "127.0.0.1", port: params.pipePort });
    isOK(st, r.answer, "result", "connect to the closing peer");
    const Pk = r.call.sock;
    const eof = await c.waitState(Pk, "half-closed", from, (e) => e.half === "read");
    check(st, !!eof, "the peer's FIN: half-closed read");
    let err = null, sends = 0;
    for (let i = 0; i < 20 && !err; i++) {
      const s = await c.rpc({ op: "send", sock: Pk, data: { text: "after the peer closed" } });
      sends++;
      if (s.answer.type === "error") err = s.answer;
      else await sleep(25);
    }
    note(st, `error after ${sends} send(s); events of the failing send: ${err ? j(c.events.map((x) => x.ev).filter((e) => e.id === err.id)) : "-"}`);
    isErr(st, err, "broken_pipe", "EPIPE", "send to a peer that closed");
    const f = await c.waitState(Pk, "failed", from);
    check(st, !!f.reason, "then state failed (§4.7: the connection is over)", f);
    await alive(st, "broken_pipe");
  });

  // ---- 14. invalid requests (§6 rule 2, §7.1): only an error, no call.
  async function invalid(st, send, want, label) {
    const from = c.mark();
    send();
    const e = await c.waitEvent((x) => x.type === "error" || x.type === "call", `answer to ${label}`, from);
    const ok = e.type === "error" && e.code === want.code &&
      ["id", "op", "sock"].every((k) => (want[k] === "*" ? true : k in want ? e[k] === want[k] : e[k] === undefined));
    check(st, ok, `${label}: only error ${want.code}${"id" in want ? " id " + want.id : ""}${"op" in want ? " op " + want.op : ""}${"sock" in want ? " sock " + want.sock : ""}`, e);
    if (want.id) check(st, !c.byId.get(want.id) || c.byId.get(want.id).calls === 0, `${label}: no call`);
    if (Object.values(want).includes("*")) note(st, `${label}: ${j(e)}`);
    return e;
  }
  // probeInvalid sends an invalid request whose error's naming the doc
  // describes less firmly; the code must match, the naming is compared with
  // the doc's reading and a difference is reported in report.mismatches.
  async function probeInvalid(st, send, code, names, label) {
    const from = c.mark();
    send();
    const e = await c.waitEvent((x) => x.type === "error" || x.type === "call", `answer to ${label}`, from);
    check(st, e.type === "error" && e.code === code, `${label}: only error ${code}`, e);
    const diff = Object.keys(names).filter((k) => e[k] !== names[k]);
    if (diff.length) report.mismatches.push({ label, expected: names, got: e });
    note(st, `${label}: ${diff.length ? "DIFFERS from the doc" : "as documented"}: ${j(e)}`);
  }
  const txt = (s) => () => c.ws.send(s);
  const obj = (o) => () => c.ws.send(JSON.stringify(o));
  await step("invalid requests: error only, session carries on", async (st) => {
    await invalid(st, obj({ id: "i-op", op: "poll", sock: 1 }), { code: "unknown_op", id: "i-op", op: "poll", sock: 1 }, "unknown op");
    await invalid(st, obj({ id: "i-noop", sock: 1 }), { code: "missing_field", id: "i-noop", sock: 1 }, "missing op");
    await invalid(st, obj({ id: "i-miss", op: "connect", host: "127.0.0.1" }), { code: "missing_field", id: "i-miss", op: "connect" }, "missing port");
    await invalid(st, obj({ id: "i-mdata", op: "send", sock: K }), { code: "missing_field", id: "i-mdata", op: "send", sock: K }, "send without data");
    await invalid(st, txt('{"op":'), { code: "bad_request" }, "malformed JSON");
    await invalid(st, txt("[1]"), { code: "bad_request" }, "a JSON array");
    await invalid(st, txt(""), { code: "bad_request" }, "an empty message");
    await invalid(st, txt('{"id":"i-two","op":"close","sock":1}{}'), { code: "bad_request", id: "i-two", op: "close", sock: 1 }, "two JSON values");
    await invalid(st, obj({ id: "i-p0", op: "connect", host: "127.0.0.1", port: 0 }), { code: "port_range", id: "i-p0", op: "connect" }, "connect port 0");
    await invalid(st, obj({ id: "i-pbig", op: "listen", host: "127.0.0.1", port: 65536 }), { code: "port_range", id: "i-pbig", op: "listen" }, "listen port 65536");
    await invalid(st, obj({ id: "i-pneg", op: "sendto", sock: K, host: "127.0.0.1", port: -1, data: { text: "" } }), { code: "port_range", id: "i-pneg", op: "sendto", sock: K }, "sendto port -1");
    await invalid(st, obj({ id: "i-pstr", op: "connect", host: "127.0.0.1", port: "80" }), { code: "bad_field", id: "i-pstr", op: "connect" }, "port as a string");
    await invalid(st, obj({ id: "i-pfrac", op: "connect", host: "127.0.0.1", port: 80.5 }), { code: "bad_field", id: "i-pfrac", op: "connect" }, "port 80.5");
    await invalid(st, obj({ id: "i-hex1", op: "send", sock: K, data: { hex: "abc" } }), { code: "bad_hex", id: "i-hex1", op: "send", sock: K }, "odd hex");
    await invalid(st, obj({ id: "i-hex2", op: "send", sock: K, data: { hex: "0x41" } }), { code: "bad_hex", id: "i-hex2", op: "send", sock: K }, "hex with 0x");
    await invalid(st, obj({ id: "i-esc1", op: "send", sock: K, data: { escaped: "\\q" } }), { code: "bad_escape", id: "i-esc1", op: "send", sock: K }, "escape \\q");
    await invalid(st, obj({ id: "i-esc2", op: "send", sock: K, data: { escaped: "ab\\x4" } }), { code: "bad_escape", id: "i-esc2", op: "send", sock: K }, "\\x with one digit");
    await invalid(st, obj({ id: "i-esc3", op: "send", sock: K, data: { escaped: "ab\\" } }), { code: "bad_escape", id: "i-esc3", op: "send", sock: K }, "lone backslash");
    await invalid(st, obj({ id: "i-b64", op: "send", sock: K, data: { base64: "AP8" } }), { code: "bad_field", id: "i-b64", op: "send", sock: K }, "unpadded base64");
    await invalid(st, obj({ id: "i-two-sp", op: "send", sock: K, data: { text: "a", hex: "61" } }), { code: "bad_field", id: "i-two-sp", op: "send", sock: K }, "two spellings");
    await invalid(st, obj({ id: "i-utf16", op: "send", sock: K, data: { utf16: "a" } }), { code: "bad_field", id: "i-utf16", op: "send", sock: K }, "unknown spelling");
    await invalid(st, obj({ id: "i-nosp", op: "send", sock: K, data: {} }), { code: "bad_field", id: "i-nosp", op: "send", sock: K }, "no spelling");
    await invalid(st, obj({ id: "i-unk", op: "close", sock: K, colour: "red" }), { code: "bad_field", id: "i-unk", op: "close", sock: K }, "unknown field");
    await invalid(st, obj({ id: "i-how", op: "close", sock: K, how: "read" }), { code: "bad_field", id: "i-how", op: "close", sock: K }, "field the op does not take");
    await invalid(st, obj({ id: "i-howv", op: "shutdown", sock: K, how: "sideways" }), { code: "bad_field", id: "i-howv", op: "shutdown", sock: K }, "bad how");
    await invalid(st, obj({ id: "i-fam", op: "bind", host: "127.0.0.1", port: 0, family: "ip5" }), { code: "bad_field", id: "i-fam", op: "bind" }, "bad family");
    await invalid(st, obj({ id: "i-to0", op: "connect", host: "127.0.0.1", port: 9, timeout_ms: 0 }), { code: "bad_field", id: "i-to0", op: "connect" }, "timeout_ms 0");
    await invalid(st, obj({ id: "i-to", op: "connect", host: "127.0.0.1", port: 9, timeout_ms: 120001 }), { code: "bad_field", id: "i-to", op: "connect" }, "timeout_ms 120001");
    await invalid(st, obj({ id: "i-host", op: "connect", host: "a b", port: 9 }), { code: "bad_field", id: "i-host", op: "connect" }, "host with a space");
    await invalid(st, obj({ id: "i-sock0", op: "close", sock: 0 }), { code: "bad_field", id: "i-sock0", op: "close", sock: "*" }, "sock 0");
    // §6 rule 2: an error names op (a string) and sock (a whole number) even
    // when another field is bad. Whether that holds for a bad *id* is probed
    // below and reported as a mismatch, not a failure.
    await probeInvalid(st, obj({ id: "x".repeat(65), op: "close", sock: K }), "bad_field", { op: undefined, sock: undefined }, "id of 65 bytes (§6 rule 2: an invalid id names neither op nor sock)");
    await probeInvalid(st, txt(`{"id":true,"op":"close","sock":${K}}`), "bad_field", { op: undefined, sock: undefined }, "id of the wrong JSON type (§6 rule 2: an invalid id names neither op nor sock)");
    await probeInvalid(st, txt(`{"id":"i-sneg","op":"close","sock":-2}`), "bad_field", { id: "i-sneg", op: "close", sock: undefined }, "sock -2 (§5.3: an invalid sock is absent)");
    await probeInvalid(st, txt(`{"id":"i-sstr","op":"close","sock":"1"}`), "bad_field", { id: "i-sstr", op: "close", sock: undefined }, "sock as a string (§6: sock only if a whole number)");
    await probeInvalid(st, txt(`{"id":"i-opnum","op":5,"sock":${K}}`), "bad_field", { id: "i-opnum", op: undefined, sock: K }, "op as a number (§6: op only if a string)");
    await invalid(st, () => c.sendBinaryRaw({ id: "i-bclose", op: "close", sock: K }, new Uint8Array([1])), { code: "bad_field", id: "i-bclose", op: "close", sock: K }, "close as a binary message");
    await invalid(st, () => c.sendBinaryRaw({ id: "i-bclose0", op: "close", sock: K }, new Uint8Array(0)), { code: "bad_field", id: "i-bclose0", op: "close", sock: K }, "close as a binary message, empty payload");
    await invalid(st, () => c.sendBinaryRaw({ id: "i-bdata", op: "send", sock: K, data: { text: "a" } }, new Uint8Array([1])), { code: "bad_field", id: "i-bdata", op: "send", sock: K }, "data in a binary header");
    await invalid(st, () => c.ws.send(new Uint8Array([0, 0])), { code: "bad_request" }, "binary of 2 bytes");
    await invalid(st, () => c.ws.send(new Uint8Array([0, 0, 0, 0xc8, 0x7b])), { code: "bad_request" }, "binary header length past the end");
    await alive(st, "invalid requests");
  });
  await step("valid requests the server refuses after the call", async (st) => {
    const u = await c.rpc({ op: "send", sock: 999, data: { text: "x" } });
    check(st, u.call && u.call.sock === 999, "unknown socket: still a call", u.call);
    isErr(st, u.answer, "unknown_socket", undefined, "send to socket 999");
    // bad_state: wrong kinds. A fresh TCP connection to the echo and a listener.
    const l = await c.rpc({ op: "listen", host: "127.0.0.1", port: 0 });
    const sh = await c.rpc({ op: "shutdown", sock: l.call.sock, how: "both" });
    isErr(st, sh.answer, "bad_state", undefined, "shutdown on a listener");
    const sl = await c.rpc({ op: "send", sock: l.call.sock, data: { text: "x" } });
    isErr(st, sl.answer, "bad_state", undefined, "send on a listener");
    const st2 = await c.rpc({ op: "sendto", sock: S.E, host: "127.0.0.1", port: 9, data: { text: "x" } });
    isErr(st, st2.answer, "bad_state", undefined, "sendto on a TCP socket");
    const shu = await c.rpc({ op: "shutdown", sock: K, how: "write" });
    isErr(st, shu.answer, "bad_state", undefined, "shutdown on a UDP socket");
    const wf = await c.rpc({ op: "connect", host: "::1", port: 9, family: "ip4" });
    isErr(st, wf.answer, "bad_field", undefined, "connect ::1 with family ip4 (after the call)");
    check(st, (c.states.get(wf.call.sock) || []).every((s) => s.state !== "connecting"), "no connecting state for the wrong family");
    isOK(st, (await c.rpc({ op: "close", sock: l.call.sock })).answer, "result", "close the listener");
    await alive(st, "refusals after the call");
  });

  // ---- 15. sizes (§4.3, §9.3, §9.4).
  await step("too_large: payload over max_send, message over max_message; header limit", async (st) => {
    const M = LIM.max_send, X = LIM.max_message;
    const t1 = await c.rpc({ op: "send", sock: S.E }, new Uint8Array(M + 1));
    check(st, t1.call && t1.call.len === M + 1, "payload over max_send: a call with its len", t1.call);
    isErr(st, t1.answer, "too_large", undefined, "binary send of max_send+1 bytes");
    const t2 = await c.rpc({ op: "sendto", sock: K, host: Kaddr.host, port: Kaddr.port, data: { base64: b64Of(new Uint8Array(M + 1)) } });
    isErr(st, t2.answer, "too_large", undefined, "sendto of max_send+1 bytes as base64");
    const ok = await c.rpc({ op: "send", sock: S.E }, pattern(M, 9));
    isOK(st, ok.answer, "sent", "a send of exactly max_send bytes");
    await expectBytes(st, S.E, pattern(M, 9), "echo of max_send bytes");
    // A text message of exactly max_message bytes is read (whitespace in hex is ignored).
    const pad = (id, size) => {
      const head = `{"id":"${id}","op":"send","sock":${S.E},"data":{"hex":"414243`;
      const tail = `"}}`;
      return head + " ".repeat(size - head.length - tail.length) + tail;
    };
    const exact = pad("mm-exact", X);
    const from = c.mark();
    c.ws.send(exact);
    const a = await c.waitEvent((e) => e.id === "mm-exact" && e.type !== "call", "answer to a message of max_message bytes", from);
    check(st, a.type === "sent" && a.len === 3, `a text message of exactly max_message (${X}) bytes is accepted`, a);
    await expectBytes(st, S.E, te.encode("ABC"), "echo of the max_message request");
    const m2 = c.mark();
    c.ws.send(pad("mm-over", X + 1));
    const e = await c.waitEvent((x) => x.type === "error" || x.type === "call", "answer to an over-size message", m2);
    check(st, e.type === "error" && e.code === "too_large" && e.id === undefined && e.op === undefined && e.sock === undefined, "max_message+1 bytes: too_large, no id/op/sock", e);
    // Binary: the limit counts the whole message, length and header included.
    const hdr = te.encode(JSON.stringify({ id: "mmb-exact", op: "send", sock: S.E }));
    const m3 = c.mark();
    c.sendBinaryRaw({ id: "mmb-exact", op: "send", sock: S.E }, new Uint8Array(X - 4 - hdr.length));
    const b1 = await c.waitEvent((x) => x.type === "error" || x.type === "call", "binary of max_message bytes", m3);
    check(st, b1.type === "call" && b1.id === "mmb-exact" && b1.len === X - 4 - hdr.length, "binary message of exactly max_message bytes is read (call)", b1);
    if (b1.type === "call") {
      const ans = await c.waitEvent((x) => x.id === "mmb-exact" && x.type !== "call", "its answer", m3);
      if (X - 4 - hdr.length > M) isErr(st, ans, "too_large", undefined, "…and refused for max_send");
      else { isOK(st, ans, "sent", "…and sent"); await c.take(S.E, X - 4 - hdr.length, "echo"); }
    }
    const m4 = c.mark();
    const hdr2 = te.encode(JSON.stringify({ id: "mmb-over", op: "send", sock: S.E }));
    c.sendBinaryRaw({ id: "mmb-over", op: "send", sock: S.E }, new Uint8Array(X - 4 - hdr2.length + 1));
    const b2 = await c.waitEvent((x) => x.type === "error" || x.type === "call", "binary over max_message", m4);
    check(st, b2.type === "error" && b2.code === "too_large" && b2.id === undefined, "binary over max_message: too_large without id", b2);
    // Binary header of exactly 65536 bytes is accepted; 65537 is bad_request.
    const hpad = (id, size) => { const h = `{"id":"${id}","op":"send","sock":${S.E}}`; return h.slice(0, -1) + " ".repeat(size - h.length) + "}"; };
    const m5 = c.mark();
    c.sendBinaryRaw(hpad("hdr-exact", 65536), te.encode("hdr"));
    const h1 = await c.waitEvent((x) => x.id === "hdr-exact" && x.type !== "call", "answer to a 65536-byte header", m5);
    check(st, h1.type === "sent" && h1.len === 3, "a header of 65536 bytes is accepted", h1);
    await expectBytes(st, S.E, te.encode("hdr"), "echo of the big-header send");
    const m6 = c.mark();
    c.sendBinaryRaw(hpad("hdr-over", 65537), te.encode("hdr"));
    const h2 = await c.waitEvent((x) => x.type === "error" || x.type === "call", "answer to a 65537-byte header", m6);
    check(st, h2.type === "error" && h2.code === "bad_request", "a header of 65537 bytes: bad_request", h2);
    await alive(st, "too_large");
  });

  // ---- 16. ids (§4.1).
  await step("ids: numbers echoed as written, as strings", async (st) => {
    const from = c.mark();
    c.ws.send('{"id":7,"op":"close","sock":999}');
    const a = await c.waitEvent((e) => e.type === "error" && e.sock === 999, "answer to id 7", from);
    const call = c.events.slice(from).map((x) => x.ev).find((e) => e.type === "call");
    check(st, call && call.id === "7" && a.id === "7" && a.code === "unknown_socket", "id 7 becomes \"7\"", { call, a });
    const m = c.mark();
    c.ws.send('{"id":1.5e3,"op":"close","sock":998}');
    const b = await c.waitEvent((e) => e.type === "error" && e.sock === 998, "answer to id 1.5e3", m);
    check(st, b.id === "1.5e3", "id 1.5e3 becomes \"1.5e3\"", b);
    const m2 = c.mark();
    c.ws.send('{"id":"","op":"close","sock":997}');
    const n = await c.waitEvent((e) => e.type === "error" && e.sock === 997, "answer to id \"\"", m2);
    check(st, n.id === undefined, "empty id means no id", n);
  });

  // ---- 17. close everything that is left, check the whole log.
  await step("close remaining sockets and check the whole event log", async (st) => {
    for (const s of [S.E, K]) isOK(st, (await c.rpc({ op: "close", sock: s })).answer, "result", `close socket ${s}`);
    await c.waitState(K, "closed");
    const open = [...c.states.keys()].filter((s) => !c.final.has(s));
    check(st, open.length === 0, "every socket ended with closed or failed", open.map((s) => [s, c.stateOf(s)]));
    check(st, c.violations.length === 0, "no framing/ordering rule broken (seq, t, binary/text, len, kind, auto)", c.violations.slice(0, 20));
    // §6: every valid request exactly one call and one final answer.
    const bad = [];
    for (const [id, r] of c.byId) {
      const finals = r.answers.filter((e) => c.isFinal(e, r));
      const sents = r.answers.filter((e) => e.type === "sent");
      if (r.calls > 1 || finals.length !== 1 || (r.calls === 0 && r.answers.some((e) => e.type !== "error"))) bad.push({ id, calls: r.calls, answers: r.answers.map((e) => e.type) });
      else if (sents.length > 1 || (sents.length === 1 && finals[0].type === "error" && !(sents[0].len < (r.call.len || 0)))) bad.push({ id, partial: sents });
    }
    check(st, bad.length === 0, "call/answer rule (§6) holds for every id", bad.slice(0, 10));
    // §3.1: compact JSON.
    let notCompact = [];
    for (const e of c.events) if (e.raw !== null && e.raw !== JSON.stringify(JSON.parse(e.raw))) notCompact.push(e.raw);
    check(st, notCompact.length === 0, "text events are compact JSON (re-serialising gives the same text)", notCompact.slice(0, 3));
    // §8: an accepted connection's accept result and established state come before its data.
    const sentBinary = c.events.filter((e) => e.ev.type === "sent" && e.binary).length;
    check(st, sentBinary === 0, "every sent event answering our own request is text (§3.3)", sentBinary);
    // §5.4 says "After closed or failed the socket sends no more events";
    // requests naming an ended socket still get a call and an error for it.
    const late = c.events.filter((x, i) => x.ev.sock !== undefined && c.final.has(x.ev.sock) && i > c.final.get(x.ev.sock)).map((x) => x.ev);
    note(st, `${late.length} events name a socket after its final state: ${[...new Set(late.map((e) => e.type + " " + (e.code || e.op)))].join(", ")}`);
    note(st, `${c.events.length} events, ${c.byId.size} ids, ${c.states.size} sockets`);
    report.events = c.events.length;
  });

  // ---- 18. close the WebSocket.
  await step("close the WebSocket with 1000", async (st) => {
    c.ws.close(1000, "done");
    await new Promise((r) => { const t = setInterval(() => { if (c.closeInfo) { clearInterval(t); r(); } }, 10); setTimeout(() => { clearInterval(t); r(); }, WAIT); });
    check(st, c.closeInfo && c.closeInfo.code === 1000 && c.closeInfo.clean, "the server completed the closing handshake (§10)", c.closeInfo);
  });

  report.ok = allOk;
  report.sessionId = c.hello && c.hello.session;
  return report;
}
