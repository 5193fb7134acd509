// The playground page: wires the connection, the model and the views.
// Messages are queued as they arrive and applied once per animation frame,
// within a time budget, so the page stays responsive under heavy traffic.

import { Connection } from "./connection.js";
import { $ } from "./dom.js";
import { splitAddr } from "./protocol.js";
import { PythonScript } from "./python.js";
import { Store } from "./store.js";
import { Cards } from "./ui/cards.js";
import { Composer } from "./ui/composer.js";
import { Opener } from "./ui/opener.js";
import { PythonView } from "./ui/python.js";
import { Tabs } from "./ui/tabs.js";
import { Learn } from "./ui/learn.js";
import { setLang } from "./i18n.js";
import { Status } from "./ui/status.js";
import { themeToggle } from "./ui/theme.js";
import { Timeline } from "./ui/timeline.js";

const FRAME_BUDGET_MS = 8;

const config = JSON.parse($("playground-config").textContent);
const store = new Store();
const status = new Status(() => conn.reconnectNow());
const announce = (text) => status.say(text);
const timeline = new Timeline(store, announce, () => schedule());
const python = new PythonScript();
const pythonView = new PythonView(python, announce);
new Tabs($("views"), (id) => {
  if (id === "tab-traffic") timeline.shown();
  schedule();
});
const services = [...document.querySelectorAll("[data-service-proto]")].map((b) => ({ name: b.dataset.serviceName, proto: b.dataset.serviceProto, addr: b.dataset.serviceAddr, button: b }));

// request makes a request. The bytes of a send are not in its call event
// (§3.3): the Python view is told them when the call is logged.
function request(header, bytes, opts) {
  const onCall = bytes ? (call) => python.ask(call.id, bytes) : undefined;
  return conn.request(header, bytes, onCall, opts).catch((err) => {
    if (err.code === "offline") announce(`Not done: ${err.message}`);
    throw err;
  });
}

// onSocket makes a request about socket s, unless s belongs to an earlier
// session: socket ids start again at 1, so its id now names another socket.
function onSocket(s, header, bytes) {
  if (s.epoch !== store.epoch) {
    announce(`Socket ${s.id} belonged to an earlier session; nothing was done`);
    return Promise.reject(new Error("that socket belonged to an earlier session"));
  }
  // A step socket's send is one system call: its first "sent" is the answer.
  return request({ ...header, sock: s.id }, bytes, { once: s.step });
}

// Requests resolve when their answer arrives, which is before the frame
// that applies it to the store; applied(seq) waits for that frame.
const waiters = [];
function applied(seq) {
  if (store.seq >= seq) return Promise.resolve();
  return new Promise((resolve) => waiters.push({ seq, resolve }));
}

// open makes a socket (or a proxy: extra has its other fields); it resolves
// to the Sock once the request succeeds and the store has it.
async function open(op, host, port, extra) {
  const res = await request(op === "socket" ? { op, ...extra } : { op, host, port, ...extra });
  await applied(res.seq);
  return store.get(res.sock);
}

// loopback is where to reach a socket bound to host: the wildcard addresses
// mean this machine.
function loopback(host) {
  return host === "0.0.0.0" ? "127.0.0.1" : host === "::" ? "::1" : host;
}

const actions = {
  announce,
  send: (s) => composer.focusOn(s),
  shutdown: (s) => onSocket(s, { op: "shutdown", how: "write" }).catch(() => {}),
  // A second Close on a socket still closing (its peer does not read what
  // is queued) closes it at once.
  close: (s) => {
    const now = s.closing;
    s.closing = true;
    store.touch(s);
    cards.render();
    onSocket(s, now ? { op: "close", now: true } : { op: "close" }).catch(() => {});
  },
  connectTo: (s) => {
    const { host, port } = splitAddr(s.local);
    open("connect", loopback(host), port).then((c) => c && composer.focusOn(c)).catch(() => {});
  },
  // udpTo opens a UDP socket and readies the composer to send to s (a UDP proxy).
  udpTo: (s) => {
    const { host, port } = splitAddr(s.local);
    const to = loopback(host);
    open("bind", to.includes(":") ? "::1" : "127.0.0.1", 0).then((u) => u && composer.focusOn(u, { host: to, port })).catch(() => {});
  },
  // proxySet replaces every knob of proxy s; it resolves to the result.
  proxySet: (s, knobs) => onSocket(s, { op: "proxy_set", knobs }),
  // Step mode (§4.14): switch a live socket, make one call, cancel a blocked one.
  step: (s) => onSocket(s, { op: "step" }).catch(() => {}),
  call: (s, header) => onSocket(s, header).catch(() => {}),
  cancel: (s) => onSocket(s, { op: "cancel" }).catch(() => {}),
  proxyReset: (s) =>
    onSocket(s, { op: "proxy_reset" })
      .then((res) => announce(`Socket ${s.id}: reset ${res.conns || 0} ${res.conns === 1 ? "connection" : "connections"}`))
      .catch(() => {}),
};

const cards = new Cards(store, actions);
// The learning column (concepts, lessons, error cards) sees every event and
// makes lesson requests through the same connection.
const learn = new Learn($("learn"), { store, request, announce, timeline, actions: () => actions, schedule: () => schedule() });
$("lang").addEventListener("change", (e) => {
  setLang(e.target.value).catch((err) => announce(err.message));
});
const composer = new Composer(store, (s, bytes, dest) => onSocket(s, dest ? { op: "sendto", host: dest.host, port: dest.port } : { op: "send" }, bytes), announce);
new Opener(async (op, host, port, extra) => {
  const s = await open(op, host, port, extra);
  if (s && (op === "connect" || op === "bind")) composer.focusOn(s);
  if (s && op === "socket") cards.focus(s.key);
}, services);
themeToggle();

for (const svc of services) {
  svc.button.addEventListener("click", async () => {
    const { host, port } = splitAddr(svc.addr);
    try {
      if (svc.proto === "tcp") {
        const s = await open("connect", host, port);
        if (s) composer.focusOn(s);
      } else {
        const s = await open("bind", host.includes(":") ? "::1" : "127.0.0.1", 0);
        if (s) composer.focusOn(s, { host, port });
      }
    } catch {
      // the error is on the card and in the timeline
    }
  });
}

// Incoming events wait here until the next frame applies them.
let queue = [];
let head = 0;
let scheduled = false;
let cardsVersion = -1;
let cardsAt = 0;

function schedule() {
  if (scheduled) return;
  scheduled = true;
  if (document.hidden) setTimeout(frame, 100);
  else requestAnimationFrame(frame);
}

function frame() {
  scheduled = false;
  // A hidden tab gets no frames: it applies everything and draws later.
  const deadline = document.hidden ? Infinity : performance.now() + FRAME_BUDGET_MS;
  drain(deadline);
  // Cards show counters that change with every event; redrawing them ten
  // times a second is enough, unless a socket came, went or changed state.
  const now = performance.now();
  if (store.version !== cardsVersion || now - cardsAt >= 100) {
    cards.render();
    cardsVersion = store.version;
    cardsAt = now;
  }
  composer.sync();
  timeline.syncSockets();
  if (!document.hidden) {
    timeline.render();
    pythonView.render();
    learn.render();
  }
  if (head < queue.length || store.dirty.size > 0) schedule();
}

function drain(deadline) {
  let i = head;
  for (; i < queue.length; i += 2) {
    const entry = store.apply(queue[i], queue[i + 1]);
    timeline.add(entry);
    python.apply(entry.ev, entry.bytes);
    learn.apply(entry);
    if (entry.ev.type === "error") announce(entry.sock ? `Socket ${entry.sock}: ${entry.ev.message}` : entry.ev.message);
    else if (entry.ev.type === "blocked") announce(`Socket ${entry.sock}: ${entry.ev.op}() is blocked, waiting in the kernel`);
    if ((i & 127) === 0 && performance.now() > deadline) {
      i += 2;
      break;
    }
  }
  head = i;
  for (let w = waiters.length - 1; w >= 0; w--) {
    if (store.seq >= waiters[w].seq) waiters.splice(w, 1)[0].resolve();
  }
  if (head >= queue.length) {
    queue = [];
    head = 0;
  } else if (head > 65536) {
    queue = queue.slice(head);
    head = 0;
  }
}

document.addEventListener("visibilitychange", () => {
  timeline.invalidate();
  scheduled = false;
  schedule();
});

const scheme = location.protocol === "https:" ? "wss:" : "ws:";
// The per-page token binds the WebSocket to this page's cookie (hosted mode
// refuses an upgrade without it). A server restarted since the page loaded
// signs with a new key: a fresh token is fetched before each reconnect.
let token = config.token;
async function wsURL(fresh) {
  if (fresh) {
    try {
      const res = await fetch("/token", { cache: "no-store" });
      if (res.ok) token = (await res.json()).token;
    } catch {
      // Unreachable: the WebSocket will say so.
    }
  }
  return `${scheme}//${location.host}${config.ws_path}${token ? `?token=${encodeURIComponent(token)}` : ""}`;
}
const conn = new Connection(wsURL, config.subprotocol, {
  onRefused: (text) => status.tell(`The server refused the connection: ${text}`),
  onStatus: (s) => status.show(s),
  onMessage: (msg, bytes) => {
    queue.push(msg, bytes);
    schedule();
  },
  onHello: (hello) => {
    const again = store.epoch > 0;
    store.newSession(hello);
    store.limits = hello.limits;
    learn.newSession(hello);
    if (again) {
      python.newSession(hello.session.slice(0, 8));
      status.tell(`Reconnected: this is a new session (${hello.session.slice(0, 8)}). Sockets start again from 1; the earlier ones stay below, marked as closed.`);
      timeline.note(`new session ${hello.session}`, "session");
    }
    composer.sync(true);
    if (again) timeline.rebuild(); // draws the old rows as "earlier"
    schedule();
  },
  onEnd: ({ code, reason }) => {
    drain(Infinity); // every event that arrived belongs to the old session
    composer.stop(); // a repeat must not carry on into the next session's sockets
    for (const w of waiters.splice(0)) w.resolve();
    const n = store.openCount();
    const final = code === 4000 || code === 4001; // idle, or too old: see docs/protocol.md §10
    const why = final
      ? reason.charAt(0).toUpperCase() + reason.slice(1)
      : code === 1001
        ? `The server went away${reason ? ` (${reason})` : ""}`
        : `The connection to the server was lost (code ${code}${reason ? `: ${reason}` : ""})`;
    const fate = final
      ? n ? `The server closed its ${n} open ${n === 1 ? "socket" : "sockets"}.` : "It had no open sockets."
      : n ? `Your session ended with it, and the server closed its ${n} open ${n === 1 ? "socket" : "sockets"}.` : "Your session ended with it.";
    store.endSession(final ? `closed by the server: ${reason}` : "closed by the server: the session ended when the connection was lost");
    status.tell(`${why}. ${fate} ${final ? "Press Reconnect to start a new session." : "Reconnecting…"}`);
    timeline.note(`${why}. ${fate}`, "disconnected");
    announce(`${why}. ${fate}`);
    schedule();
  },
});
conn.start();
