// The wire format of socket-playground/1 (docs/protocol.md): how a message
// from the server is decoded and how a request with bytes is encoded. It
// mirrors internal/bridge (request.go, encode.go).

export const PROTOCOL = "socket-playground/1";

const utf8 = new TextDecoder();
const enc = new TextEncoder();

/**
 * Decodes one message: a text message is JSON; a binary one is a 4-byte
 * big-endian header length, a JSON header and the payload (§3.2).
 * Returns { msg, bytes } where bytes is a Uint8Array or null.
 */
export function decode(data) {
  if (typeof data === "string") return { msg: JSON.parse(data), bytes: null };
  const u8 = new Uint8Array(data);
  if (u8.length < 4) throw new Error(`binary message of ${u8.length} bytes has no header length`);
  const n = new DataView(data).getUint32(0);
  if (4 + n > u8.length) throw new Error(`binary message header of ${n} bytes overruns the message`);
  return { msg: JSON.parse(utf8.decode(u8.subarray(4, 4 + n))), bytes: u8.subarray(4 + n) };
}

/** A binary request: header (a request without "data") followed by the bytes. */
export function encodeBinary(header, bytes) {
  const h = enc.encode(JSON.stringify(header));
  const m = new Uint8Array(4 + h.length + bytes.length);
  new DataView(m.buffer).setUint32(0, h.length);
  m.set(h, 4);
  m.set(bytes, 4 + h.length);
  return m;
}

/** Whether a socket kind is a bad-network proxy. */
export const isProxy = (kind) => kind === "tcp-proxy" || kind === "udp-proxy";

/** Splits "127.0.0.1:80" or "[::1]:80" into { host, port }. */
export function splitAddr(addr) {
  const i = addr.lastIndexOf(":");
  if (i < 0) return { host: addr, port: 0 };
  let host = addr.slice(0, i);
  if (host.startsWith("[") && host.endsWith("]")) host = host.slice(1, -1);
  return { host, port: Number(addr.slice(i + 1)) };
}
