// A step-mode socket's calls (docs/protocol.md §4.14), on its card: the
// calls that are valid in its state, each a small form named as in Python
// (bind(), listen(), accept() …) with its arguments under Python's own
// parameter names; and, while a call waits in the kernel, how long it has
// waited and a Cancel button. Sending is the composer's job ("Send…").

import { duration, h, setText } from "../dom.js";
import { blockedWhy } from "../describe.js";
import { msg, t } from "../i18n.js";
import { splitAddr } from "../protocol.js";

// The options setsockopt() offers; hint is the message key of what each does.
const OPTIONS = [
  { name: "SO_REUSEADDR", value: 1, hint: "step.opt.reuseaddr" },
  { name: "SO_REUSEPORT", value: 1, hint: "step.opt.reuseport" },
  { name: "SO_KEEPALIVE", value: 1, hint: "step.opt.keepalive" },
  { name: "SO_BROADCAST", value: 1, hint: "step.opt.broadcast", only: "udp" },
  { name: "SO_RCVBUF", value: 4096, hint: "step.opt.rcvbuf" },
  { name: "SO_SNDBUF", value: 4096, hint: "step.opt.sndbuf" },
  { name: "TCP_NODELAY", value: 1, hint: "step.opt.nodelay", only: "tcp" },
  { name: "IP_TTL", value: 64, hint: "step.opt.ttl" },
  { name: "SO_LINGER", value: 0, hint: "step.opt.linger", only: "tcp" },
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
  // An argument is named as in Python (host, port, backlog…), or by a
  // message (an element); hint is the message key of what it means.
  const arg = (form, name, label, input, hint) => {
    refs.inputs[`${form}.${name}`] = input;
    input.addEventListener("input", () => {
      refs.touched.add(`${form}.${name}`);
      input.removeAttribute("aria-invalid");
    });
    return h("label", { class: "arg", i18nAttr: hint && { title: hint } }, typeof label === "string" ? h("span", {}, label) : label, input);
  };
  const num = (min, max, value, width = "num") => h("input", { type: "number", min: String(min), max: String(max), value: value === "" ? "" : String(value), class: width, inputmode: "numeric" });
  const text = (value) => h("input", { type: "text", value, autocomplete: "off", spellcheck: "false", class: "host" });
  // An option's text is a message key when it is words, else itself (SHUT_WR).
  const select = (opts, words = false) => h("select", {}, ...opts.map(([v, text]) => h("option", { value: v, i18n: words ? text : undefined }, words ? undefined : text)));
  const host = s.family === "ip6" ? "::1" : "127.0.0.1";

  const args = {
    bind: () => [arg("bind", "host", "host", text(host)), arg("bind", "port", "port", num(0, 65535, 0), "step.arg.bind_port")],
    listen: () => [arg("listen", "backlog", "backlog", num(0, 4096, 1), "step.arg.backlog")],
    connect: () => [arg("connect", "host", "host", text(host)), arg("connect", "port", "port", num(1, 65535, ""))],
    accept: () => [],
    recv: () => [arg("recv", "bufsize", "bufsize", num(1, 262144, 1024), "step.arg.recv_bufsize")],
    recvfrom: () => [arg("recvfrom", "bufsize", "bufsize", num(1, 262144, 1024), "step.arg.recvfrom_bufsize")],
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
        "step.arg.how",
      ),
    ],
    setsockopt: () => {
      const opt = select(OPTIONS.map((o) => [o.name, o.name]));
      refs.optionEls = [...opt.options];
      refs.option = opt;
      const value = num(-1, 16777216, 1);
      opt.addEventListener("change", () => {
        value.value = String(OPTIONS.find((x) => x.name === opt.value).value);
        optionHint(refs);
      });
      optionHint(refs);
      return [arg("setsockopt", "option", "option", opt), arg("setsockopt", "value", "value", value)];
    },
    settimeout: () => {
      const how = select(
        [
          ["blocking", "step.timeout.blocking"],
          ["non-blocking", "step.timeout.nonblocking"],
          ["timeout", "step.timeout.seconds"],
        ],
        true,
      );
      const secs = h("input", { type: "number", min: "0.001", max: "120", step: "any", value: "5", class: "num", inputmode: "decimal" });
      const secsArg = arg("settimeout", "seconds", h("span", { i18n: "step.arg.seconds" }), secs);
      secsArg.hidden = true;
      how.addEventListener("change", () => (secsArg.hidden = how.value !== "timeout"));
      return [arg("settimeout", "how", "value", how, "step.arg.timeout"), secsArg];
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
  refs.moreBtn = h("button", { type: "button", class: "link disclosure", "aria-expanded": String(open), "aria-controls": moreId }, h("span", { class: "tri", "aria-hidden": "true" }), h("span", { i18n: "step.more" }));
  refs.moreBtn.addEventListener("click", () => {
    const on = refs.more.hidden;
    refs.more.hidden = !on;
    refs.moreBtn.setAttribute("aria-expanded", String(on));
  });
  refs.calls = h("fieldset", { class: "calls" }, h("legend", { i18n: "step.calls" }), ...main, refs.moreBtn, refs.more, refs.problem);

  refs.blockedText = h("span", { class: "blocked-text" });
  refs.blockedWhy = h("span", { class: "hint" });
  refs.cancel = h("button", { type: "button", class: "btn small", onclick: () => cards.actions.cancel(s), i18n: "step.cancel" });
  refs.blocked = h("div", { class: "blocked", hidden: true }, h("span", { class: "spinner", "aria-hidden": "true" }), h("p", {}, refs.blockedText, " ", refs.blockedWhy), refs.cancel);
  return refs;
}

// optionHint titles the option list with what the chosen option does.
function optionHint(refs) {
  const o = OPTIONS.find((x) => x.name === refs.option.value);
  if (o) refs.option.title = t(o.hint);
}

// read checks a form's arguments and returns the request, or null after
// saying what is wrong (refs.problemText words it, in the page's language).
function read(refs, op) {
  const v = (name) => refs.inputs[`${op}.${name}`];
  const problem = (input, text) => {
    input.setAttribute("aria-invalid", "true");
    input.focus();
    refs.problemText = text;
    setText(refs.problem, msg(text));
    refs.problem.hidden = false;
    return null;
  };
  // what names the argument; a whole number from min to max is asked for.
  const int = (name, min, max, what) => {
    const input = v(name);
    const n = Number(input.value);
    if (input.value.trim() === "" || !Number.isInteger(n) || n < min || n > max) return problem(input, () => t("step.bad_whole", { what: msg(what), min, max }));
    return n;
  };
  refs.problem.hidden = true;
  refs.problemText = null;
  switch (op) {
    case "bind":
    case "connect": {
      const host = v("host").value.trim();
      if (!host) return problem(v("host"), () => t("open.need_host"));
      const port = int("port", op === "bind" ? 0 : 1, 65535, () => t("step.what.port"));
      if (port === null) return null;
      return { op, host, port };
    }
    case "listen": {
      const backlog = int("backlog", 0, 4096, () => t("step.what.backlog"));
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
      const value = int("value", min, max, () => t("step.what.value", { option }));
      return value === null ? null : { op, option, value };
    }
    case "settimeout": {
      const how = v("how").value;
      if (how === "blocking") return { op };
      if (how === "non-blocking") return { op, timeout_ms: 0 };
      const secs = Number(v("seconds").value);
      const ms = Math.round(secs * 1000);
      if (!Number.isFinite(secs) || ms < 1 || ms > 120000) return problem(v("seconds"), () => t("step.bad_timeout"));
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
  if (s.blocked) tickStep(s, refs, cards.store.now());
  // What follows the language: the chosen option's hint, a problem shown.
  optionHint(refs);
  if (refs.problemText) setText(refs.problem, msg(refs.problemText));
}

/** Updates the time a blocked call has waited (called often while one does); now is Store.now(), in ms. */
export function tickStep(s, refs, now = performance.now()) {
  if (!s.blocked) return;
  setText(refs.blockedText, t("step.blocked", { op: s.blocked.op, time: duration(Math.max(0, now - s.blocked.at)) }));
  setText(refs.blockedWhy, `· ${blockedWhy(s.blocked.op)}`);
}

function newestListener(store, s) {
  let found = null;
  for (const x of store.sockets.values()) {
    if (x !== s && x.epoch === store.epoch && x.state === "listening" && x.local && isTCP(x)) found = x;
  }
  return found;
}
