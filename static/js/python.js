// The session as Python: every call the person made, as the line of
// Python's socket module that does the same (docs/protocol.md §4.14),
// accumulating into the script of what they did. Each line carries its
// outcome as a comment once the answer arrives ("# → b'hel'", "# blocked…",
// "# ConnectionRefusedError: [Errno 111] Connection refused").
// What live mode did by itself (an accept, a close) is a commented line;
// its automatic reads are left out. Pure: no DOM.

import { utf8 } from "./bytes.js";

/** The most lines a script keeps; later calls are counted, not written. */
export const MAX_LINES = 5000;

/** The most payload bytes a bytes literal in the script spells out. */
export const MAX_LITERAL = 256;

/** Linux errno numbers, Python's exception for each, and strerror's text. */
const ERRNO = {
  EPERM: [1, "PermissionError", "Operation not permitted"],
  EBADF: [9, "OSError", "Bad file descriptor"],
  EAGAIN: [11, "BlockingIOError", "Resource temporarily unavailable"],
  EWOULDBLOCK: [11, "BlockingIOError", "Resource temporarily unavailable"],
  EACCES: [13, "PermissionError", "Permission denied"],
  EINVAL: [22, "OSError", "Invalid argument"],
  EPIPE: [32, "BrokenPipeError", "Broken pipe"],
  EMSGSIZE: [90, "OSError", "Message too long"],
  EAFNOSUPPORT: [97, "OSError", "Address family not supported by protocol"],
  EADDRINUSE: [98, "OSError", "Address already in use"],
  EADDRNOTAVAIL: [99, "OSError", "Cannot assign requested address"],
  ENETDOWN: [100, "OSError", "Network is down"],
  ENETUNREACH: [101, "OSError", "Network is unreachable"],
  ECONNABORTED: [103, "ConnectionAbortedError", "Software caused connection abort"],
  ECONNRESET: [104, "ConnectionResetError", "Connection reset by peer"],
  ENOBUFS: [105, "OSError", "No buffer space available"],
  EISCONN: [106, "OSError", "Transport endpoint is already connected"],
  ENOTCONN: [107, "OSError", "Transport endpoint is not connected"],
  ETIMEDOUT: [110, "TimeoutError", "Connection timed out"],
  ECONNREFUSED: [111, "ConnectionRefusedError", "Connection refused"],
  EHOSTDOWN: [112, "OSError", "Host is down"],
  EHOSTUNREACH: [113, "OSError", "No route to host"],
  EALREADY: [114, "BlockingIOError", "Operation already in progress"],
  EINPROGRESS: [115, "BlockingIOError", "Operation now in progress"],
};

/** Error codes without an errno, as Python would report them. */
const CODES = {
  timeout: "TimeoutError: timed out",
  would_block: "BlockingIOError: [Errno 11] Resource temporarily unavailable",
  in_progress: "BlockingIOError: [Errno 115] Operation now in progress",
  name_not_found: "socket.gaierror: [Errno -2] Name or service not known",
};

/** setsockopt's options: Python's level and name (the IPv6 name where it differs). */
const OPTIONS = {
  SO_REUSEADDR: ["socket.SOL_SOCKET", "socket.SO_REUSEADDR"],
  SO_REUSEPORT: ["socket.SOL_SOCKET", "socket.SO_REUSEPORT"],
  SO_BROADCAST: ["socket.SOL_SOCKET", "socket.SO_BROADCAST"],
  SO_KEEPALIVE: ["socket.SOL_SOCKET", "socket.SO_KEEPALIVE"],
  SO_RCVBUF: ["socket.SOL_SOCKET", "socket.SO_RCVBUF"],
  SO_SNDBUF: ["socket.SOL_SOCKET", "socket.SO_SNDBUF"],
  SO_LINGER: ["socket.SOL_SOCKET", "socket.SO_LINGER"],
  TCP_NODELAY: ["socket.IPPROTO_TCP", "socket.TCP_NODELAY"],
  IP_TTL: ["socket.IPPROTO_IP", "socket.IP_TTL", "socket.IPPROTO_IPV6", "socket.IPV6_UNICAST_HOPS"],
};

const SHUT = { read: "socket.SHUT_RD", write: "socket.SHUT_WR", both: "socket.SHUT_RDWR" };

// The ops whose repeats fold into one "for" loop: a repeated send is one
// idea; repeated recvs are each worth seeing.
const FOLDS = new Set(["send", "sendto"]);

/**
 * PythonScript turns events into lines. Feed it every event in order with
 * apply(ev, bytes); ask(id, bytes) first for each send or sendto the page
 * makes, since a call event carries only the length of its bytes. text()
 * is the script; version changes whenever it does.
 */
export class PythonScript {
  constructor() {
    this.lines = []; // { code, note, auto, count, op, blockedT }
    this.version = 0;
    this.dropped = 0; // calls not written: the script reached MAX_LINES
    this.struct = false; // SO_LINGER needs struct.pack
    this.asked = new Map(); // request id -> the bytes it sends, until its call
    this.reset(false);
  }

  // reset forgets the session's sockets and requests: ids start again.
  reset(keepLines = true) {
    this.byId = new Map(); // request id -> its line
    this.socks = new Map(); // socket id -> { step, family, type, line (its socket() line) }
    this.lastFold = null;
    if (!keepLines) this.lines = [];
  }

  /** Remembers the bytes of a send or sendto request, by its id. */
  ask(id, bytes) {
    this.asked.set(id, bytes);
    // A request whose call never came (refused while decoding) must not pile up.
    if (this.asked.size > 1000) this.asked.delete(this.asked.keys().next().value);
  }

  /** Starts a new session: its sockets are numbered from 1 again. */
  newSession(name) {
    this.reset();
    if (this.lines.length) {
      this.push({ code: "", note: "" });
      this.push({ code: `# --- a new session${name ? ` (${name})` : ""}: socket numbers start again from 1 ---`, note: "" });
    }
    this.version++;
  }

  sock(id) {
    let s = this.socks.get(id);
    if (!s) {
      s = { step: false, family: "", type: "", line: null };
      this.socks.set(id, s);
    }
    return s;
  }

  /** Applies one event; returns whether the script changed. */
  apply(ev, bytes) {
    const before = this.version;
    switch (ev.type) {
      case "call":
        this.call(ev);
        break;
      case "blocked": {
        const line = this.byId.get(ev.id);
        if (line) {
          line.blockedT = ev.t;
          line.note = "blocked…";
          this.version++;
        }
        break;
      }
      case "result":
      case "error":
      case "sent":
      case "data":
        if (ev.auto) this.auto(ev);
        else if (ev.id !== undefined && this.byId.has(ev.id)) this.answer(this.byId.get(ev.id), ev, bytes);
        break;
      case "state":
        this.state(ev);
        break;
    }
    return this.version !== before;
  }

  push(line) {
    if (this.lines.length >= MAX_LINES) {
      this.dropped++;
      this.version++;
      return line;
    }
    line.count ||= 1;
    this.lines.push(line);
    this.version++;
    return line;
  }

  // add writes a call's line and remembers it under the request's id.
  add(ev, code, extra = {}) {
    let line;
    const last = this.lines[this.lines.length - 1];
    if (FOLDS.has(ev.op) && last && last === this.lastFold && last.code === code && !last.blockedT) {
      last.count++;
      line = last;
      this.version++;
    } else {
      line = this.push({ code, note: "", op: ev.op, ...extra });
    }
    this.lastFold = FOLDS.has(ev.op) ? line : null;
    if (ev.id !== undefined) this.byId.set(ev.id, line);
    return line;
  }

  call(ev) {
    const n = ev.sock;
    const name = n ? `s${n}` : "s";
    const s = n ? this.sock(n) : { family: "", type: "", step: false };
    switch (ev.op) {
      case "socket": {
        s.step = true;
        s.family = ev.family || "ip4";
        s.type = sockType(ev);
        const line = this.add(ev, socketCode(name, s.family, s.type));
        s.line = line;
        s.known = true;
        return;
      }
      case "setsockopt": {
        const o = OPTIONS[ev.option] || ["socket.SOL_SOCKET", `socket.${ev.option}`];
        const [level, opt] = s.family === "ip6" && o[2] ? [o[2], o[3]] : [o[0], o[1]];
        let value = String(ev.value || 0);
        if (ev.option === "SO_LINGER") {
          this.struct = true;
          value = (ev.value ?? -1) < 0 ? `struct.pack("ii", 0, 0)` : `struct.pack("ii", 1, ${ev.value || 0})`;
        }
        this.add(ev, `${name}.setsockopt(${level}, ${opt}, ${value})`);
        return;
      }
      case "settimeout":
        // The call's "how" says which (timeout_ms 0, non-blocking, is an
        // absent field); failing that, the result's "how" settles it.
        this.add(ev, `${name}.settimeout(${timeoutArg(ev.how || (ev.timeout_ms ? "timeout" : "blocking"), ev.timeout_ms)})`);
        return;
      case "bind":
        if (!s.known) {
          // Live mode's bind makes a UDP socket and binds it.
          s.family = familyOf(ev.host, ev.family);
          s.type = "dgram";
          s.known = true;
          s.line = this.push({ code: socketCode(name, s.family, "dgram"), note: "", op: "socket" });
        }
        this.add(ev, `${name}.bind(${addrCode(ev.host, ev.port)})`);
        return;
      case "listen":
        if (!s.known) {
          s.family = familyOf(ev.host, ev.family);
          s.type = "stream";
          s.known = true;
          const fam = s.family === "ip6" ? ", family=socket.AF_INET6" : "";
          s.line = this.add(ev, `${name} = socket.create_server(${addrCode(ev.host, ev.port)}${fam})`, { live: true });
          return;
        }
        this.add(ev, `${name}.listen(${ev.backlog || 0})`);
        return;
      case "accept":
        this.add(ev, `conn, addr = ${name}.accept()`);
        return;
      case "connect":
        if (!s.known) {
          s.family = familyOf(ev.host, ev.family);
          s.type = "stream";
          s.known = true;
          s.line = this.add(ev, `${name} = socket.create_connection(${addrCode(ev.host, ev.port)})`);
          return;
        }
        this.add(ev, `${name}.connect(${addrCode(ev.host, ev.port)})`);
        return;
      case "recv":
        this.add(ev, `data = ${name}.recv(${ev.n || 0})`);
        return;
      case "recvfrom":
        this.add(ev, `data, addr = ${name}.recvfrom(${ev.n || 0})`);
        return;
      case "send":
      case "sendto": {
        const b = this.asked.get(ev.id);
        this.asked.delete(ev.id);
        // A step socket's send is one system call (it may take less);
        // live mode sends everything, as sendall does.
        const fn = ev.op === "sendto" ? "sendto" : s && s.step ? "send" : "sendall";
        const dest = ev.op === "sendto" ? `, ${addrCode(ev.host, ev.port)}` : "";
        const line = this.add(ev, b ? `${name}.${fn}(${bytesCode(b)}${dest})` : `${name}.${fn}(…${dest})`, { len: ev.len || 0 });
        if (!b) line.pendingBytes = true; // spelled out when its sent answer brings them
        if (b && b.length > MAX_LITERAL) line.note = `the first ${MAX_LITERAL} of ${(ev.len || b.length).toLocaleString("en-US")} bytes shown`;
        return;
      }
      case "shutdown":
        this.add(ev, `${name}.shutdown(${SHUT[ev.how] || ev.how})`);
        return;
      case "close":
        this.add(ev, `${name}.close()`, ev.now ? { nowNote: "at once: what waited to be sent is dropped" } : {});
        return;
      case "cancel":
        this.add(ev, `# cancel: interrupts the call blocked on ${name} (in Python, another thread would have to do it)`);
        return;
      case "step":
        this.add(ev, `# ${name} in step mode from here: nothing happens on it until you call it`);
        return;
      case "proxy":
        this.add(ev, `# ${name}: a bad-network ${(ev.proto || "tcp").toUpperCase()} proxy on ${hostPort(ev.host, ev.port)} to ${ev.target} (not part of the socket module)`);
        return;
      case "proxy_set":
      case "proxy_reset":
        this.add(ev, `# ${name}: ${ev.op === "proxy_set" ? "the proxy's knobs changed" : "the proxy reset its connections"}`);
        return;
      default:
        this.add(ev, `# ${name}: ${ev.op}`);
    }
  }

  state(ev) {
    const s = this.socks.get(ev.sock);
    if (!s) {
      // An accepted connection or a socket this script did not see created.
      if (ev.mode === "step") this.sock(ev.sock).step = true;
      return;
    }
    if (ev.mode === "step") s.step = true;
    // The socket() line learns its type from the first state, if its call
    // did not say (a created socket's kind is tcp or udp).
    if (s.line && s.line.op === "socket" && !s.type && (ev.kind === "tcp" || ev.kind === "udp")) {
      s.type = ev.kind === "udp" ? "dgram" : "stream";
      s.line.code = socketCode(`s${ev.sock}`, s.family || "ip4", s.type);
      this.version++;
    }
  }

  // auto writes what live mode did by itself, as a comment.
  auto(ev) {
    const name = `s${ev.sock}`;
    if (ev.type === "result" && ev.op === "accept" && ev.child) {
      const c = this.sock(ev.child);
      c.accepted = true;
      c.known = true;
      this.push({ code: `s${ev.child}, addr = ${name}.accept()`, note: `→ addr ${addrRepr(ev.remote)}`, auto: true, op: "accept" });
    } else if (ev.type === "result" && ev.op === "close") {
      this.push({ code: `${name}.close()`, note: "both directions were finished", auto: true, op: "close" });
    }
  }

  // answer puts the outcome of a call on its line.
  answer(line, ev, bytes) {
    // How long the call waited, when it is worth saying (a connect on
    // loopback "blocks" for microseconds).
    const waited = line.blockedT && ev.t - line.blockedT >= 50000 ? `, after ${seconds(ev.t - line.blockedT)} blocked` : "";
    let note = "";
    if (ev.type === "error") {
      note = pyError(ev);
      // The server's message says how long it waited: "accept() cancelled after 2.4 s".
      if (ev.code === "cancelled") note = ev.message || "cancelled";
      else note += waited;
    } else {
      switch (ev.op) {
        case "settimeout":
          line.code = line.code.replace(/\.settimeout\(.*\)$/, `.settimeout(${timeoutArg(ev.how, ev.timeout_ms)})`);
          break;
        case "setsockopt":
          if (ev.actual !== undefined && ev.actual !== ev.value) note = `getsockopt reads back ${ev.actual}`;
          break;
        case "listen":
          if (line.live && ev.local) note = `listening on ${addrRepr(ev.local)}`;
          break;
        case "bind":
          if (ev.local && ev.addr && ev.local !== ev.addr) note = `the kernel chose ${addrRepr(ev.local)}`;
          break;
        case "accept":
          if (ev.child) {
            line.code = line.code.replace(/^conn, addr = /, `s${ev.child}, addr = `);
            const c = this.sock(ev.child);
            c.accepted = true;
            c.known = true;
            c.step = true;
          }
          note = `→ addr ${addrRepr(ev.remote)}`;
          break;
        case "connect":
          if (ev.local) note = `connected from ${addrRepr(ev.local)}`;
          break;
        case "send":
        case "sendto": {
          if (line.pendingBytes && bytes) {
            line.code = line.code.replace("(…", `(${bytesCode(bytes)}`);
            line.pendingBytes = false;
          }
          const n = ev.len || 0;
          const s = this.socks.get(ev.sock);
          if (ev.op === "sendto" || (s && s.step)) note = `→ ${n}${line.len && n < line.len ? ` (the kernel took ${n} of ${line.len} bytes)` : ""}`;
          if (line.len > MAX_LITERAL) note = `${note ? `${note}; ` : ""}the first ${MAX_LITERAL} of ${line.len.toLocaleString("en-US")} bytes shown`;
          break;
        }
        case "recv":
          note = ev.eof || !(ev.len > 0) ? `→ b'' (the peer has finished sending)` : `→ ${bytesRepr(bytes)}`;
          break;
        case "recvfrom":
          note = `→ ${bytesRepr(bytes)} from ${addrRepr(ev.peer)}`;
          if (ev.datagram_len > (ev.len || 0)) note += ` (truncated: the datagram had ${ev.datagram_len} bytes; the rest are lost)`;
          break;
        case "close":
          if (line.nowNote) note = line.nowNote;
          break;
      }
      note += waited;
    }
    if (line.count > 1 && note) note = `×${line.count}, last ${note}`;
    line.note = note;
    this.version++;
  }

  /** The script: imports, then one line per call. */
  text() {
    const out = ["import socket"];
    if (this.struct) out.push("import struct");
    out.push("");
    for (const l of this.lines) out.push(...lineText(l));
    if (this.dropped) out.push(`# … and ${this.dropped.toLocaleString("en-US")} more calls, not written: the script keeps ${MAX_LINES.toLocaleString("en-US")} lines`);
    return out.join("\n") + "\n";
  }
}

// lineText is a line as the script shows it: a comment line's outcome
// joins it after " · "; a folded repeat is a for loop.
function lineText(l) {
  const note = l.auto ? `live mode did this by itself${l.note ? `; ${l.note}` : ""}` : l.note;
  if (l.auto) return [`# ${l.code}  (${note})`];
  if (l.code.startsWith("#")) return [note ? `${l.code} · ${note}` : l.code];
  const line = note ? `${l.code}  # ${note}` : l.code;
  return l.count > 1 ? [`for _ in range(${l.count}):`, `    ${line}`] : [line];
}

/** A socket call's type, "stream" or "dgram", or "" if the event does not say. */
export function sockType(ev) {
  // The event's own "type" is "call", so the socket type travels as proto
  // ("tcp" or "udp"); a later state event's kind says it too.
  if (ev.proto === "tcp") return "stream";
  if (ev.proto === "udp") return "dgram";
  for (const v of [ev.socktype, ev.sock_type]) if (v === "stream" || v === "dgram") return v;
  return "";
}

function socketCode(name, family, type) {
  const fam = family === "ip6" ? "socket.AF_INET6" : "socket.AF_INET";
  const t = type === "dgram" ? "socket.SOCK_DGRAM" : type === "stream" ? "socket.SOCK_STREAM" : "socket.SOCK_STREAM";
  return `${name} = socket.socket(${fam}, ${t})`;
}

function timeoutArg(how, ms) {
  if (how === "non-blocking") return "0";
  if (how === "timeout") return ms ? String(ms / 1000) : "0";
  return "None";
}

function familyOf(host, family) {
  if (family === "ip6" || family === "ip4") return family;
  return host && host.includes(":") ? "ip6" : "ip4";
}

/** ("127.0.0.1", 9000): an address as a Python argument. */
export function addrCode(host, port) {
  return `(${strCode(host || "")}, ${port || 0})`;
}

function hostPort(host, port) {
  return host && host.includes(":") ? `[${host}]:${port || 0}` : `${host}:${port || 0}`;
}

/** ('127.0.0.1', 52814), or for IPv6 ('::1', 52814, 0, 0): an address as Python shows one. */
export function addrRepr(addr) {
  if (!addr) return "None";
  const i = addr.lastIndexOf(":");
  if (i < 0) return `'${addr}'`;
  let host = addr.slice(0, i);
  const port = addr.slice(i + 1);
  if (host.startsWith("[") && host.endsWith("]")) return `('${host.slice(1, -1)}', ${port}, 0, 0)`;
  return `('${host}', ${port})`;
}

function strCode(s) {
  return `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/**
 * Bytes as Python source: b"hel\x00" (ASCII with escapes), or
 * "안녕".encode() for UTF-8 text that is not ASCII; at most MAX_LITERAL
 * bytes are spelled out.
 */
export function bytesCode(b) {
  const cut = b.length > MAX_LITERAL ? b.subarray(0, MAX_LITERAL) : b;
  const text = utf8(cut);
  if (text !== null && /[^\x00-\x7f]/.test(text) && !/[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/.test(text)) {
    return `${JSON.stringify(text)}.encode()`;
  }
  return `b"${escape(cut, '"')}"`;
}

/** Bytes as Python's repr shows them: b'hel\x00'. At most 64 bytes, then "…". */
export function bytesRepr(b, max = 64) {
  if (!b) return "b''";
  const cut = b.length > max ? b.subarray(0, max) : b;
  let q = "'";
  if (cut.includes(39) && !cut.includes(34)) q = '"';
  return `b${q}${escape(cut, q)}${q}${b.length > max ? `… (${b.length} bytes)` : ""}`;
}

function escape(b, quote) {
  let s = "";
  for (const c of b) {
    if (c === 92) s += "\\\\";
    else if (c === quote.charCodeAt(0)) s += `\\${quote}`;
    else if (c === 10) s += "\\n";
    else if (c === 13) s += "\\r";
    else if (c === 9) s += "\\t";
    else if (c >= 32 && c < 127) s += String.fromCharCode(c);
    else s += `\\x${c.toString(16).padStart(2, "0")}`;
  }
  return s;
}

/** An error event as Python would raise it: "ConnectionRefusedError: [Errno 111] Connection refused". */
export function pyError(ev) {
  const e = ev.errno && ERRNO[ev.errno];
  if (e) return `${e[1]}: [Errno ${e[0]}] ${e[2]}`;
  if (CODES[ev.code]) return CODES[ev.code];
  if (ev.errno) return `OSError (${ev.errno}): ${ev.message}`;
  return `not done (${ev.code}): ${ev.message}`;
}

function seconds(us) {
  const s = us / 1e6;
  return s < 10 ? `${s.toFixed(1)} s` : `${Math.round(s)} s`;
}
