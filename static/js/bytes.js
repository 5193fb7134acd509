// Bytes in and out of text: the composer's three formats (the same rules as
// the server's "hex" and "escaped" spellings, docs/protocol.md §4.3), and the
// ways the page shows bytes: a one-line preview, an xxd-style dump, hex.
// Pure functions, no DOM; what they say to a person (a ParseError's message,
// a byte count) is in the page's language.

import { t, tn } from "./i18n.js";

const encoder = new TextEncoder();
// ignoreBOM: a byte-order mark is bytes like any other, not to be swallowed.
const strictUTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const looseUTF8 = new TextDecoder("utf-8", { ignoreBOM: true });

/** An input the person typed that does not spell bytes; `at` is a character offset. */
export class ParseError extends Error {
  constructor(message, at) {
    super(message);
    this.at = at;
  }
}

const isHex = (c) => (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
const hexVal = (c) => (c <= 57 ? c - 48 : (c | 32) - 87);

/**
 * Hex digits to bytes. Space, tab, CR and LF are ignored anywhere, so pasted
 * dumps work; anything else that is not a hex digit is an error.
 */
export function parseHex(s) {
  const out = new Uint8Array(s.length >> 1);
  let n = 0, hi = -1, hiAt = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 32 || c === 9 || c === 10 || c === 13) continue;
    if (!isHex(c)) {
      const ch = String.fromCodePoint(s.codePointAt(i));
      throw new ParseError(t("bytes.not_hex", { ch, at: i + 1 }), i);
    }
    if (hi < 0) {
      hi = hexVal(c);
      hiAt = i;
    } else {
      out[n++] = (hi << 4) | hexVal(c);
      hi = -1;
    }
  }
  if (hi >= 0) throw new ParseError(t("bytes.odd_hex", { at: hiAt + 1 }), hiAt);
  return out.slice(0, n);
}

/**
 * Text in which a backslash starts an escape: exactly \r \n \t \0 \\ and \xNN.
 * Any other backslash sequence is an error, so a typo never sends something
 * the person did not mean.
 */
export function parseEscaped(s) {
  const parts = [];
  let run = "";
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (ch !== "\\") {
      run += ch;
      continue;
    }
    const e = s[i + 1];
    let b;
    switch (e) {
      case "r": b = 13; break;
      case "n": b = 10; break;
      case "t": b = 9; break;
      case "0": b = 0; break;
      case "\\": b = 92; break;
      case "x": {
        const h1 = s.charCodeAt(i + 2), h2 = s.charCodeAt(i + 3);
        if (!isHex(h1) || !isHex(h2)) throw new ParseError(t("bytes.short_x", { at: i + 1 }), i);
        b = (hexVal(h1) << 4) | hexVal(h2);
        i += 2;
        break;
      }
      case undefined:
        throw new ParseError(t("bytes.lone_backslash"), i);
      default:
        throw new ParseError(t("bytes.bad_escape", { esc: `\\${e}`, at: i + 1 }), i);
    }
    i++;
    if (run) parts.push(encoder.encode(run));
    run = "";
    parts.push(Uint8Array.of(b));
  }
  if (run) parts.push(encoder.encode(run));
  return concat(parts);
}

/**
 * Standard base64 (RFC 4648, padded), as the server's "base64" spelling
 * reads it: CR and LF are ignored, anything else that is not of the
 * alphabet is an error.
 */
export function parseBase64(s) {
  const clean = s.replace(/[\r\n]/g, "");
  const bad = clean.search(/[^A-Za-z0-9+/=]/);
  if (bad >= 0) throw new ParseError(t("bytes.not_base64", { ch: String.fromCodePoint(clean.codePointAt(bad)), at: bad + 1 }), bad);
  if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(clean)) throw new ParseError(t("bytes.bad_base64"), 0);
  const bin = atob(clean);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** Bytes as standard base64, padded. */
export function toBase64(bytes) {
  let bin = "";
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin);
}

/** The bytes a composer input spells: format is "text", "hex", "escaped" or "base64"; eol is appended. */
export function parsePayload(format, input, eol = "") {
  let body;
  switch (format) {
    case "text": body = encoder.encode(input); break;
    case "hex": body = parseHex(input); break;
    case "escaped": body = parseEscaped(input); break;
    case "base64": body = parseBase64(input); break;
    default: throw new ParseError(t("bytes.bad_format", { format }), 0);
  }
  return eol ? concat([body, encoder.encode(eol)]) : body;
}

export function concat(parts) {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** "00 ff 0d 0a"; at most max bytes, then "…". */
export function hex(bytes, max = Infinity) {
  const n = Math.min(bytes.length, max);
  let s = "";
  for (let i = 0; i < n; i++) s += (i ? " " : "") + HEX[bytes[i]];
  return n < bytes.length ? s + " …" : s;
}

/**
 * An xxd-style dump: offset, 16 bytes in hex (a gap after 8), and the bytes
 * as ASCII with "." for anything else.
 */
export function hexdump(bytes) {
  const lines = [];
  for (let off = 0; off < bytes.length; off += 16) {
    const row = bytes.subarray(off, off + 16);
    let h = "", a = "";
    for (let i = 0; i < 16; i++) {
      if (i === 8) h += " ";
      h += i < row.length ? HEX[row[i]] + " " : "   ";
      if (i < row.length) a += row[i] >= 32 && row[i] < 127 ? String.fromCharCode(row[i]) : ".";
    }
    lines.push(`${off.toString(16).padStart(8, "0")}: ${h} ${a}`);
  }
  return lines.join("\n");
}

/** The bytes as UTF-8 text if they are valid UTF-8, else null. */
export function utf8(bytes) {
  try {
    return strictUTF8.decode(bytes);
  } catch {
    return null;
  }
}

/** The bytes as UTF-8, with U+FFFD for what is not valid. */
export function utf8Loose(bytes) {
  return looseUTF8.decode(bytes);
}

// utf8Seq reads the valid UTF-8 sequence at bytes[i]: { n, cp }, or null.
function utf8Seq(bytes, i) {
  const b = bytes[i];
  let n, min;
  if (b < 0x80) return { n: 1, cp: b };
  if (b >= 0xc2 && b <= 0xdf) (n = 2), (min = 0x80);
  else if (b >= 0xe0 && b <= 0xef) (n = 3), (min = 0x800);
  else if (b >= 0xf0 && b <= 0xf4) (n = 4), (min = 0x10000);
  else return null;
  if (i + n > bytes.length) return null;
  let cp = b & (0x7f >> n);
  for (let k = 1; k < n; k++) {
    const c = bytes[i + k];
    if ((c & 0xc0) !== 0x80) return null;
    cp = (cp << 6) | (c & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return null;
  return { n, cp };
}

// invisible reports characters that would hide or reorder the text around
// them: C1 controls, zero-width and bidi controls, separators, the BOM.
function invisible(cp) {
  return cp < 0xa0 || (cp >= 0x200b && cp <= 0x200f) || (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2060 && cp <= 0x2069) || cp === 0xfeff;
}

/**
 * The bytes as one line of text in the composer's "escaped" spelling: valid
 * UTF-8 shows as itself, CR LF TAB NUL and backslash as \r \n \t \0 \\, and
 * any other control, invisible or invalid byte as \xNN. At most max bytes
 * are shown, never half a character. Typing the result into the composer
 * with "Text with escapes" sends the same bytes.
 */
export function escapeBytes(bytes, max = Infinity) {
  const n = Math.min(bytes.length, max);
  let s = "";
  let i = 0;
  while (i < n) {
    const b = bytes[i];
    if (b < 0x80) {
      if (b === 13) s += "\\r";
      else if (b === 10) s += "\\n";
      else if (b === 9) s += "\\t";
      else if (b === 0) s += "\\0";
      else if (b === 92) s += "\\\\";
      else if (b < 32 || b === 127) s += "\\x" + HEX[b];
      else s += String.fromCharCode(b);
      i++;
      continue;
    }
    const q = utf8Seq(bytes, i);
    if (q && i + q.n > n) break; // a character cut by max: leave it to the "…"
    if (!q || invisible(q.cp)) {
      const k = q ? q.n : 1;
      for (let j = 0; j < k; j++) s += "\\x" + HEX[bytes[i + j]];
      i += k;
      continue;
    }
    s += String.fromCodePoint(q.cp);
    i += q.n;
  }
  return i < bytes.length ? s + "…" : s;
}

/** "1 byte", "6 bytes", "1,048,576 bytes" (in Korean "6바이트"). */
export function byteCount(n) {
  return tn("bytes.count", n);
}

/** "512 B", "1.5 KiB", "3.2 MiB": a compact size for cards. */
export function size(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(n < 10240 ? 1 : 0)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}
