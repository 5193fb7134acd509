// Templates (docs/protocol.md §16.1): text with the escapes of "escaped"
// and placeholders in double braces, expanded by the server afresh for
// every send. This is the page's own reading of them, for the composer's
// preview only: what the first send would be, or why the server would
// refuse it. The server remains the authority (its bad_template error is
// shown as any error is). Pure functions, no DOM.

import { ParseError, concat, parseEscaped } from "./bytes.js";
import { t } from "./i18n.js";

const encoder = new TextEncoder();

// The integer formats of {{counter FMT}}: size in bytes, little-endian.
const INTS = {
  u8: [1, false],
  u16: [2, false],
  u32: [4, false],
  u64: [8, false],
  u16le: [2, true],
  u32le: [4, true],
  u64le: [8, true],
};
const COUNTER_FORMATS = ["hex", ...Object.keys(INTS)];
const TIME_FORMATS = ["unix", "unix_ms", "clock", "u32", "u64"];
const MAX_FROM = 2n ** 63n;
const MAX_RANDOM = 65536;

/**
 * The placeholders, for the composer's help: each with an example and the
 * message key that says what it is.
 */
export const PLACEHOLDERS = [
  { text: "{{counter}}", example: "1, 2, 3 …", key: "template.ph.counter" },
  { text: "{{counter hex}}", example: "9, a, b …", key: "template.ph.counter_hex" },
  { text: "{{counter u16}}", example: "00 01, 00 02 …", key: "template.ph.counter_int" },
  { text: "{{counter u8 from=0}}", example: "00, 01, 02 …", key: "template.ph.counter_from" },
  { text: "{{time}}", example: "2026-11-25T03:43:40.123Z", key: "template.ph.time" },
  { text: "{{time unix}}", example: "1795540298", key: "template.ph.time_unix" },
  { text: "{{time clock}}", example: "03:43:40.123", key: "template.ph.time_clock" },
  { text: "{{random 4}}", example: "9c 1f 03 e7", key: "template.ph.random" },
  { text: "{{random 4 hex}}", example: "9c1f03e7", key: "template.ph.random_hex" },
];

/**
 * parseTemplate reads a template: an array of parts, each a Uint8Array
 * (literal bytes) or a placeholder { kind, ... }. It throws a ParseError
 * (with the character offset) for what the server would refuse.
 */
export function parseTemplate(src) {
  const parts = [];
  let i = 0;
  while (i < src.length) {
    const open = src.indexOf("{{", i);
    const end = open < 0 ? src.length : open;
    if (end > i) {
      try {
        parts.push(parseEscaped(src.slice(i, end)));
      } catch (err) {
        // Said again where it is in the whole template: the text before it
        // stands in as plain characters.
        if (err instanceof ParseError) parseEscaped("x".repeat(i) + src.slice(i, end));
        throw err;
      }
    }
    if (open < 0) break;
    const close = src.indexOf("}}", open + 2);
    if (close < 0) throw new ParseError(t("template.unclosed", { at: open + 1 }), open);
    parts.push(placeholder(src.slice(open + 2, close), open));
    i = close + 2;
  }
  return parts;
}

// placeholder reads what is between {{ and }}, found at offset at.
function placeholder(body, at) {
  const words = body.split(/\s+/).filter(Boolean);
  const whole = `{{${body}}}`;
  const bad = (key, vars = {}) => new ParseError(t(key, { ph: whole, at: at + 1, ...vars }), at);
  if (words.length === 0) throw bad("template.empty");
  const [name, ...opts] = words;
  const seen = new Set();
  const once = (w) => {
    const k = w.includes("=") ? w.slice(0, w.indexOf("=") + 1) : w;
    const group = k.endsWith("=") ? k : "format";
    if (seen.has(group)) throw bad("template.repeated", { opt: w });
    seen.add(group);
  };
  switch (name) {
    case "counter": {
      const p = { kind: "counter", format: "dec", from: 1n };
      for (const w of opts) {
        once(w);
        if (w.startsWith("from=")) {
          const v = w.slice(5);
          if (!/^\d+$/.test(v) || BigInt(v) > MAX_FROM) throw bad("template.from", { max: MAX_FROM.toString() });
          p.from = BigInt(v);
        } else if (COUNTER_FORMATS.includes(w)) p.format = w;
        else throw bad("template.option", { opt: w, known: `${COUNTER_FORMATS.join(", ")}, from=N` });
      }
      return p;
    }
    case "time": {
      if (opts.length > 1) throw bad("template.repeated", { opt: opts[1] });
      const f = opts[0] || "rfc3339";
      if (opts.length && !TIME_FORMATS.includes(f)) throw bad("template.option", { opt: f, known: TIME_FORMATS.join(", ") });
      return { kind: "time", format: f };
    }
    case "random": {
      const [n, f, ...more] = opts;
      if (n === undefined || !/^\d+$/.test(n) || Number(n) < 1 || Number(n) > MAX_RANDOM) throw bad("template.random", { max: MAX_RANDOM });
      if (f !== undefined && f !== "hex") throw bad("template.option", { opt: f, known: "hex" });
      if (more.length) throw bad("template.option", { opt: more[0], known: "hex" });
      return { kind: "random", n: Number(n), hex: f === "hex" };
    }
    default:
      throw bad("template.unknown", { name });
  }
}

/** expandTemplate is the bytes of the n-th send (from 1) at time now (a Date). */
export function expandTemplate(parts, n = 1, now = new Date()) {
  return concat(parts.map((p) => (p instanceof Uint8Array ? p : expandOne(p, BigInt(n), now))));
}

function expandOne(p, n, now) {
  switch (p.kind) {
    case "counter": {
      const v = p.from + n - 1n;
      if (p.format === "dec") return encoder.encode(v.toString());
      if (p.format === "hex") return encoder.encode(v.toString(16));
      const [size, le] = INTS[p.format];
      return intBytes(v, size, le);
    }
    case "time": {
      const ms = now.getTime();
      switch (p.format) {
        case "unix":
          return encoder.encode(String(Math.floor(ms / 1000)));
        case "unix_ms":
          return encoder.encode(String(ms));
        case "clock":
          return encoder.encode(now.toISOString().slice(11, 23));
        case "u32":
          return intBytes(BigInt(Math.floor(ms / 1000)), 4, false);
        case "u64":
          return intBytes(BigInt(ms), 8, false);
        default:
          return encoder.encode(now.toISOString());
      }
    }
    case "random": {
      const b = new Uint8Array(p.n);
      crypto.getRandomValues(b);
      if (!p.hex) return b;
      let s = "";
      for (const x of b) s += x.toString(16).padStart(2, "0");
      return encoder.encode(s);
    }
  }
  return new Uint8Array(0);
}

// intBytes is v as an unsigned integer of size bytes, wrapped at its size.
function intBytes(v, size, le) {
  const out = new Uint8Array(size);
  let x = BigInt.asUintN(size * 8, v);
  for (let i = size - 1; i >= 0; i--) {
    out[le ? size - 1 - i : i] = Number(x & 0xffn);
    x >>= 8n;
  }
  return out;
}

/** Whether a template's sends can differ (it has a placeholder). */
export function varies(parts) {
  return parts.some((p) => !(p instanceof Uint8Array));
}

/**
 * The line ending eol ("", "lf", "crlf") in a template's own spelling: a
 * template is text with escapes, so CR LF is written \r\n.
 */
export function templateEOL(eol) {
  return eol === "crlf" ? "\\r\\n" : eol === "lf" ? "\\n" : "";
}
