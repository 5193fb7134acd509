// A dedicated worker that owns the page's WebSocket (transport.js): it
// decodes messages and posts them to the page in batches, moving the bytes'
// buffers rather than copying them.

import { openSocket } from "./transport.js";

let sock = null;

self.addEventListener("message", (e) => {
  const m = e.data;
  switch (m.cmd) {
    case "open":
      sock = openSocket(m.url, m.subprotocol, {
        onbatch: (items) => {
          const buffers = [];
          for (const it of items) if (it.bytes) buffers.push(it.bytes.buffer);
          self.postMessage({ kind: "batch", items }, buffers);
        },
        onclose: (code, reason) => {
          sock = null;
          self.postMessage({ kind: "close", code, reason });
        },
      });
      break;
    case "send":
      if (sock) sock.send(m.data);
      break;
    case "close":
      if (sock) sock.close();
      break;
  }
});
