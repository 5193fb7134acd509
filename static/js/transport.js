// The WebSocket itself: opens it, decodes each message and hands them on in
// batches, one call per few milliseconds instead of one per event. It runs
// in a worker (socket-worker.js) where the browser allows, so that at
// thousands of events a second the page's main thread receives one message
// per batch rather than one task per event; else on the main thread.

import { t } from "./i18n.js"; // safe in the worker, which never words anything
import { decode } from "./protocol.js";

const BATCH_MS = 4;

/**
 * openSocket opens a WebSocket and calls onbatch(items) with the decoded
 * messages ({ msg, bytes } or { error }), then onclose(code, reason) once.
 * It returns { send(data), close() }.
 */
export function openSocket(url, subprotocol, { onbatch, onclose }) {
  let ws;
  try {
    ws = new WebSocket(url, [subprotocol]);
  } catch (err) {
    setTimeout(() => onclose(1006, String(err)));
    return { send() {}, close() {} };
  }
  ws.binaryType = "arraybuffer";
  let batch = [];
  let timer = 0;
  const flush = () => {
    timer = 0;
    if (batch.length === 0) return;
    const b = batch;
    batch = [];
    onbatch(b);
  };
  ws.addEventListener("message", (e) => {
    let item;
    try {
      const { msg, bytes } = decode(e.data);
      // A copy of just the payload: it may be sent on to another thread.
      item = { msg, bytes: bytes ? bytes.slice() : null };
    } catch (err) {
      item = { error: String(err) };
    }
    batch.push(item);
    if (!timer) timer = setTimeout(flush, BATCH_MS);
  });
  ws.addEventListener("close", (e) => {
    clearTimeout(timer);
    flush();
    onclose(e.code, e.reason);
  });
  return {
    send: (data) => ws.send(data),
    close: () => ws.close(1000),
  };
}

let worker = null;
let workerFailed = false;
let current = null; // the handlers of the worker's socket

/**
 * workerSocket is openSocket run in a dedicated worker; the same contract.
 * Falls back to openSocket on this thread if no worker can be started.
 */
export function workerSocket(url, subprotocol, handlers) {
  if (!worker && !workerFailed) {
    try {
      worker = new Worker(new URL("./socket-worker.js", import.meta.url), { type: "module" });
      worker.addEventListener("message", (e) => {
        const m = e.data;
        if (!current) return;
        if (m.kind === "batch") current.onbatch(m.items);
        else if (m.kind === "close") {
          const h = current;
          current = null;
          h.onclose(m.code, m.reason);
        }
      });
      worker.addEventListener("error", () => {
        // The worker could not run (say, module workers unsupported): carry on without it.
        workerFailed = true;
        worker.terminate();
        worker = null;
        if (current) {
          const h = current;
          current = null;
          h.onclose(1006, t("conn.worker_failed"));
        }
      });
    } catch {
      workerFailed = true;
      worker = null;
    }
  }
  if (!worker) return openSocket(url, subprotocol, handlers);
  current = handlers;
  worker.postMessage({ cmd: "open", url, subprotocol });
  return {
    send: (data) => worker && worker.postMessage({ cmd: "send", data }),
    close: () => worker && worker.postMessage({ cmd: "close" }),
  };
}
