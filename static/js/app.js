// The playground page: wires the connection, the model and the views.
// Messages are queued as they arrive and applied once per animation frame,
// within a time budget, so the page stays responsive under heavy traffic.

import { Connection } from "./connection.js";
import { $ } from "./dom.js";
import { splitAddr } from "./protocol.js";
import { Store } from "./store.js";
import { Cards } from "./ui/cards.js";
import { CodeView } from "./ui/code.js";
import { Composer } from "./ui/composer.js";
import { Opener } from "./ui/opener.js";
import { Tabs } from "./ui/tabs.js";
import { Learn } from "./ui/learn.js";
import { setLang, t, tn } from "./i18n.js";
import { Status } from "./ui/status.js";
import { themeToggle } from "./ui/theme.js";
import { Timeline } from "./ui/timeline.js";

const FRAME_BUDGET_MS = 8;

const config = JSON.parse($("playground-config").textContent);
const store = new Store();
const status = new Status(() => conn.reconnectNow());
const announce = (text) => status.say(text);
const timeline = new Timeline(store, announce, () => schedule());
// The Code tab: the session's calls in Python and Go, rendered by the
// server from the event log (GET /session/{id}/code.json).
const codeView = new CodeView(announce);
new Tabs($("views"), (id) => {
  if (id === "tab-traffic") timeline.shown();
  if (id === "tab-code") codeView.shown();
  schedule();
});
const services = [...document.querySelectorAll("[data-service-proto]")].map((b) => ({ name: b.dataset.serviceName, proto: b.dataset.serviceProto, addr: b.dataset.serviceAddr, button: b }));

// request makes a request.
function request(header, bytes, opts) {
  return conn.request(header, bytes, undefined, opts).catch((err) => {
    if (err.code === "offline") announce(t("app.not_done", { why: err.message }));
    throw err;
  });
}

// onSocket makes a request about socket s, unless s belongs to an earlier
// session: socket ids start again at 1, so its id now names another socket.
function onSocket(s, header, bytes) {
  if (s.epoch !== store.epoch) {
    announce(t("app.earlier_socket", { n: s.id }));
    return Promise.reject(new Error(t("app.earlier_socket_error")));
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
      .then((res) => announce(t("app.socket_news", { n: s.id, news: tn("ev.result.proxy_reset", res.conns || 0) })))
      .catch(() => {}),
};

const cards = new Cards(store, actions);
// The learning column (concepts, lessons, error cards) sees every event and
// makes lesson requests through the same connection.
const learn = new Learn($("learn"), { store, request, announce, timeline, actions: () => actions, schedule: () => schedule() });
$("lang").addEventListener("change", (e) => {
  setLang(e.target.value).catch((err) => announce(err.message));
});
// A service's "about" is cut to two lines; its title holds it whole.
document.addEventListener("langchange", () => {
  for (const p of document.querySelectorAll(".service-about")) p.title = p.textContent;
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
    codeView.render();
    learn.render();
  }
  if (head < queue.length || store.dirty.size > 0) schedule();
}

function drain(deadline) {
  let i = head;
  for (; i < queue.length; i += 2) {
    const entry = store.apply(queue[i], queue[i + 1]);
    timeline.add(entry);
    codeView.apply(entry);
    learn.apply(entry);
    if (entry.ev.type === "error") announce(entry.sock ? t("app.socket_news", { n: entry.sock, news: entry.ev.message }) : entry.ev.message);
    else if (entry.ev.type === "blocked") announce(t("app.blocked", { n: entry.sock, op: entry.ev.op }));
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
  onRefused: (text) => status.tell(() => t("app.refused", { why: text })),
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
    codeView.newSession(hello);
    if (again) {
      const id = hello.session.slice(0, 8);
      status.tell(() => t("app.reconnected", { session: id }));
      timeline.note(() => t("app.new_session", { session: hello.session }), "session");
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
    // What happened, worded whenever it is shown (the language may change).
    // The server's reason is its own words.
    const why = () =>
      final
        ? reason.charAt(0).toUpperCase() + reason.slice(1)
        : code === 1001
          ? reason
            ? t("app.went_away_why", { why: reason })
            : t("app.went_away")
          : reason
            ? t("app.lost_why", { code, why: reason })
            : t("app.lost", { code });
    const fate = () => (final ? (n ? tn("app.fate.closed", n) : t("app.fate.none")) : n ? tn("app.fate.ended_closed", n) : t("app.fate.ended"));
    const what = () => t("app.ended", { why: why(), fate: fate() });
    store.endSession(final ? () => t("app.reason.final", { why: reason }) : () => t("app.reason.lost"));
    status.tell(() => `${what()} ${final ? t("app.press_reconnect") : t("app.reconnecting")}`);
    timeline.note(what, "disconnected");
    announce(what());
    schedule();
  },
});
conn.start();
