// A step-mode socket's calls (docs/protocol.md §4.14), on its card: the
// calls that are valid in its state, each a small form named as in Python
// (bind(), listen(), accept() …) with its arguments under Python's own
// parameter names; and, while a call waits in the kernel, how long it has
// waited and a Cancel button. Sending is the composer's job ("Send…").

import { duration, h, setText } from "../dom.js";
import { blockedText } from "../describe.js";
import { splitAddr } from "../protocol.js";

const OPTIONS = [
  { name: "SO_REUSEADDR", value: 1, hint: "let bind() reuse a port still held by an old connection (TIME_WAIT)" },
  { name: "SO_REUSEPORT", value: 1, hint: "let several sockets bind the same port" },
  { name: "SO_KEEPALIVE", value: 1, hint: "probe an idle connection" },
  { name: "SO_BROADCAST", value: 1, hint: "UDP: allow sending to a broadcast address", only: "udp" },
  { name: "SO_RCVBUF", value: 4096, hint: "the receive buffer, in bytes (Linux doubles it)" },
  { name: "SO_SNDBUF", value: 4096, hint: "the send buffer, in bytes (Linux doubles it)" },
  { name: "TCP_NODELAY", value: 1, hint: "TCP: send small writes at once (no Nagle)", only: "tcp" },
  { name: "IP_TTL", value: 64, hint: "how many hops a packet may take" },
  { name: "SO_LINGER", value: 0, hint: "seconds close() waits for unsent data; 0: close() sends RST, no TIME_WAIT; -1: off", only: "tcp" },
];

const isTCP = (s) => s.kind === "tcp" || s.kind === "tcp-listener";

// valid says which calls a step socket offers in its state.
const VALID = {
  setsockopt: (s) => true,
  settimeout: (s) => true,
  bind: (s) => s.state === "created",
  listen: (s) => s.kind === "tcp" && !s.parent && (s.state === "created" || s.state === "bound"),
  connect: (s) => s.kind === "tcp" && !s.parent && (s.state === "created" || s.state === "bound"),
  accept: (s) => s.kind === "tcp-listener" && s.state === "listening",
  recv: (s) => s.kind === "tcp" && (s.state === "established" || (s.state === "half-closed" && !s.half.read)),
  recvfrom: (s) => s.kind === "udp" && s.state === "bound",
  shutdown: (s) => s.kind === "tcp" && (s.state === "established" || s.state === "half-closed"),
};

// The order of the forms on the card: the calls a person makes next first.
const ORDER = ["bind", "listen", "connect", "accept", "recv", "recvfrom", "shutdown", "setsockopt", "settimeout"];

// The calls kept in the card's "Options" fold.
const MORE = new Set(["setsockopt", "settimeout"]);

/**
 * Builds the step part of a card: the blocked indicator and the calls.
 * cards.actions.call(s, header) makes a request; cards.actions.cancel(s)
 * interrupts the blocked call.
 */
export function createStep(cards, s, uid) {
  const refs = { forms: {}, inputs: {}, touched: new Set() };
  const arg = (form, name, label, input, hint) => {
    refs.inputs[`${form}.${name}`] = input;
    input.addEventListener("input", () => {
      refs.touched.add(`${form}.${name}`);
      input.removeAttribute("aria-invalid");
    });
    return h("label", { class: "arg", title: hint }, h("span", {}, label), input);
  };
  const num = (min, max, value, width = "num") => h("input", { type: "number", min: String(min), max: String(max), value: value === "" ? "" : String(value), class: width, inputmode: "numeric" });
  const text = (value) => h("input", { type: "text", value, autocomplete: "off", spellcheck: "false", class: "host" });
  const select = (opts) => h("select", {}, ...opts.map(([v, t]) => h("option", { value: v }, t)));
  const host = s.family === "ip6" ? "::1" : "127.0.0.1";

  const args = {
    bind: () => [arg("bind", "host", "host", text(host)), arg("bind", "port", "port", num(0, 65535, 0), "0: the kernel chooses a free port")],
    listen: () => [arg("listen", "backlog", "backlog", num(0, 4096, 1), "how many connections may wait to be accepted (the kernel keeps backlog + 1)")],
    connect: () => [arg("connect", "host", "host", text(host)), arg("connect", "port", "port", num(1, 65535, ""))],
    accept: () => [],
    recv: () => [arg("recv", "bufsize", "bufsize", num(1, 262144, 1024), "the most bytes to return")],
    recvfrom: () => [arg("recvfrom", "bufsize", "bufsize", num(1, 262144, 1024), "the most bytes to return; a longer datagram is cut")],
    shutdown: () => [
      arg(
        "shutdown",
        "how",
        "how",
        select([
          ["write", "SHUT_WR"],
          ["read", "SHUT_RD"],
          ["both", "SHUT_RDWR"],
        ]),
        "SHUT_WR sends FIN: the peer's recv returns 0 bytes",
      ),
    ],
    setsockopt: () => {
      const opt = select(OPTIONS.map((o) => [o.name, o.name]));
      refs.optionEls = [...opt.options];
      const value = num(-1, 16777216, 1);
      opt.addEventListener("change", () => {
        const o = OPTIONS.find((x) => x.name === opt.value);
        value.value = String(o.value);
        opt.title = o.hint;
      });
      opt.title = OPTIONS[0].hint;
      return [arg("setsockopt", "option", "option", opt), arg("setsockopt", "value", "value", value)];
    },
    settimeout: () => {
      const how = select([
        ["blocking", "None (block)"],
        ["non-blocking", "0 (never block)"],
        ["timeout", "seconds…"],
      ]);
      const secs = h("input", { type: "number", min: "0.001", max: "120", step: "any", value: "5", class: "num", inputmode: "decimal" });
      const secsArg = arg("settimeout", "seconds", "seconds", secs);
      secsArg.hidden = true;
      how.addEventListener("change", () => (secsArg.hidden = how.value !== "timeout"));
      return [arg("settimeout", "how", "value", how, "None: calls wait as long as it takes; 0: calls that would wait fail with EAGAIN"), secsArg];
    },
  };

  // Every form is built; update() shows the ones valid now (the kind of a
  // new socket is known only from its first state event).
  const forms = ORDER.map((op) => {
    const btn = h("button", { type: "submit", class: "btn small call-btn" }, `${op}()`);
    const form = h("form", { class: "call", novalidate: true, "aria-label": `${op}()`, dataset: { op } }, btn, h("div", { class: "args" }, ...args[op]()));
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const header = read(refs, op);
      if (header) cards.actions.call(s, header);
    });
    refs.forms[op] = form;
    return form;
  });
  refs.problem = h("p", { class: "error-text call-problem", role: "alert", hidden: true });
  // The options are calls too, but seldom the next one: folded, except
  // on a new socket, where SO_REUSEADDR is set before bind.
  const main = forms.filter((f) => !MORE.has(f.dataset.op));
  const more = forms.filter((f) => MORE.has(f.dataset.op));
  const open = !s.state || s.state === "opening" || s.state === "created";
  const moreId = `more-calls-${uid}`;
  refs.more = h("div", { class: "more-calls", id: moreId, hidden: !open }, ...more);
  refs.moreBtn = h("button", { type: "button", class: "link disclosure", "aria-expanded": String(open), "aria-controls": moreId }, h("span", { class: "tri", "aria-hidden": "true" }), "Options: setsockopt(), settimeout()");
  refs.moreBtn.addEventListener("click", () => {
    const on = refs.more.hidden;
    refs.more.hidden = !on;
    refs.moreBtn.setAttribute("aria-expanded", String(on));
  });
  refs.calls = h("fieldset", { class: "calls" }, h("legend", {}, "Calls"), ...main, refs.moreBtn, refs.more, refs.problem);

  refs.blockedText = h("span", { class: "blocked-text" });
  refs.blockedWhy = h("span", { class: "hint" });
  refs.cancel = h("button", { type: "button", class: "btn small", onclick: () => cards.actions.cancel(s) }, "Cancel");
  refs.blocked = h("div", { class: "blocked", hidden: true }, h("span", { class: "spinner", "aria-hidden": "true" }), h("p", {}, refs.blockedText, " ", refs.blockedWhy), refs.cancel);
  return refs;
}

// read checks a form's arguments and returns the request, or null after
// saying what is wrong.
function read(refs, op) {
  const v = (name) => refs.inputs[`${op}.${name}`];
  const problem = (input, text) => {
    input.setAttribute("aria-invalid", "true");
    input.focus();
    setText(refs.problem, text);
    refs.problem.hidden = false;
    return null;
  };
  const int = (name, min, max, what) => {
    const input = v(name);
    const n = Number(input.value);
    if (input.value.trim() === "" || !Number.isInteger(n) || n < min || n > max) return problem(input, `${what} must be a whole number from ${min} to ${max}.`);
    return n;
  };
  refs.problem.hidden = true;
  switch (op) {
    case "bind":
    case "connect": {
      const host = v("host").value.trim();
      if (!host) return problem(v("host"), "Enter a host: an IP address such as 127.0.0.1 or ::1, or a name such as localhost.");
      const port = int("port", op === "bind" ? 0 : 1, 65535, "The port");
      if (port === null) return null;
      return { op, host, port };
    }
    case "listen": {
      const backlog = int("backlog", 0, 4096, "The backlog");
      return backlog === null ? null : { op, backlog };
    }
    case "recv":
    case "recvfrom": {
      const n = int("bufsize", 1, 262144, "bufsize");
      return n === null ? null : { op, n };
    }
    case "shutdown":
      return { op, how: v("how").value };
    case "setsockopt": {
      const option = v("option").value;
      const [min, max] = option === "SO_RCVBUF" || option === "SO_SNDBUF" ? [1, 16777216] : option === "IP_TTL" ? [1, 255] : option === "SO_LINGER" ? [-1, 60] : [0, 1];
      const value = int("value", min, max, `${option}'s value`);
      return value === null ? null : { op, option, value };
    }
    case "settimeout": {
      const how = v("how").value;
      if (how === "blocking") return { op };
      if (how === "non-blocking") return { op, timeout_ms: 0 };
      const secs = Number(v("seconds").value);
      const ms = Math.round(secs * 1000);
      if (!Number.isFinite(secs) || ms < 1 || ms > 120000) return problem(v("seconds"), "The timeout must be from 0.001 to 120 seconds.");
      return { op, timeout_ms: ms };
    }
    default:
      return { op };
  }
}

/** Brings the step part of a card up to date. */
export function updateStep(cards, s, refs) {
  const on = s.step && !s.final && s.epoch === cards.store.epoch;
  refs.calls.hidden = !on;
  if (on) {
    for (const [op, form] of Object.entries(refs.forms)) form.hidden = !VALID[op](s);
    // Options for the other protocol are left out.
    const kind = s.kind === "udp" ? "udp" : "tcp";
    for (const o of refs.optionEls) o.hidden = OPTIONS.find((x) => x.name === o.value).only === (kind === "udp" ? "tcp" : "udp");
    // The port to connect to: the newest listener's, until the person types one.
    const port = refs.inputs["connect.port"];
    if (port && !refs.touched.has("connect.port") && !refs.forms.connect.hidden) {
      const l = newestListener(cards.store, s);
      if (l) port.value = String(splitAddr(l.local).port);
    }
  }
  // While a call waits, the program is inside it: no other call until it
  // returns or is cancelled.
  refs.calls.disabled = !!s.blocked;
  refs.blocked.hidden = !s.blocked;
  if (s.blocked) tickStep(s, refs);
}

/** Updates the time a blocked call has waited (called often while one does). */
export function tickStep(s, refs) {
  if (!s.blocked) return;
  setText(refs.blockedText, `blocked in ${s.blocked.op}() for ${duration(performance.now() - s.blocked.at)}`);
  setText(refs.blockedWhy, `· ${blockedText(s.blocked).replace(/^\S+ /, "")}`);
}

function newestListener(store, s) {
  let found = null;
  for (const x of store.sockets.values()) {
    if (x !== s && x.epoch === store.epoch && x.state === "listening" && x.local && isTCP(x)) found = x;
  }
  return found;
}
