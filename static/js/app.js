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
import { Share } from "./ui/share.js";
import { startReplay } from "./ui/player.js";
import { Status, clockLeft } from "./ui/status.js";
import { themeToggle } from "./ui/theme.js";
import { Timeline } from "./ui/timeline.js";
import { Toolkit } from "./toolkit.js";
import { Payloads } from "./ui/payloads.js";
import { retryRequest } from "./ui/tlsinfo.js";

const FRAME_BUDGET_MS = 8;

const config = JSON.parse($("playground-config").textContent);
// A watch page (docs/protocol.md §15.5) shows someone's session read-only:
// it asks nothing of the server, and hides what would.
const watching = config.page === "watch";
// A replay page (§15.6, ui/player.js) plays a downloaded log: no WebSocket,
// no session, read-only like a watch page.
const replaying = config.page === "replay";
const store = new Store();
// Responder rules, their firings and repeats, folded from the log (toolkit.js).
const toolkit = new Toolkit(store);
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
  if (watching || replaying) return Promise.reject(new Error(t("app.read_only")));
  return conn.request(header, bytes, undefined, opts).catch((err) => {
    if (err.code === "offline") announce(t("app.not_done", { why: err.message }));
    throw err;
  });
}

// onSocket makes a request about socket s, unless s belongs to an earlier
// session: socket ids start again at 1, so its id now names another socket.
function onSocket(s, header, bytes, known) {
  if (s.epoch !== store.epoch) {
    announce(t("app.earlier_socket", { n: s.id }));
    return Promise.reject(new Error(t("app.earlier_socket_error")));
  }
  // A step socket's send is one system call: its first "sent" is the answer.
  // known: the bytes each send of a repeat carries (Connection.request).
  return request({ ...header, sock: s.id }, bytes, { once: s.step, known });
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
  // respond, unrespond and stop (docs/protocol.md §16): the answer's promise (ui/responders.js).
  toolkit: (s, header) => onSocket(s, header),
  cancel: (s) => onSocket(s, { op: "cancel" }).catch(() => {}),
  // A TLS connect that failed verification, made again without it (ui/tlsinfo.js).
  retryTLS: (s) => {
    const r = retryRequest(s);
    if (r) open("connect", r.host, r.port, r.extra).then((c) => c && composer.focusOn(c)).catch(() => {});
  },
  proxyReset: (s) =>
    onSocket(s, { op: "proxy_reset" })
      .then((res) => announce(t("app.socket_news", { n: s.id, news: tn("ev.result.proxy_reset", res.conns || 0) })))
      .catch(() => {}),
};

const cards = new Cards(store, actions);
// The learning column (concepts, lessons, error cards) sees every event and
// makes lesson requests through the same connection.
const learn = new Learn($("learn"), { store, request, announce, timeline, actions: () => actions, schedule: () => schedule(), readOnly: watching || replaying });
$("lang").addEventListener("change", (e) => {
  setLang(e.target.value).catch((err) => announce(err.message));
});
// A service's "about" is cut to two lines; its title holds it whole.
document.addEventListener("langchange", () => {
  for (const p of document.querySelectorAll(".service-about")) p.title = p.textContent;
});
// sendPayload sends payload ({ bytes }, or { template } for the server to
// expand, docs/protocol.md §16.1) from s, to dest ({ host, port }) for UDP.
function sendPayload(s, payload, dest) {
  const header = dest ? { op: "sendto", host: dest.host, port: dest.port } : { op: "send" };
  if (payload.template !== undefined) return onSocket(s, { ...header, data: { template: payload.template } });
  return onSocket(s, header, payload.bytes);
}
const composer = new Composer(store, { send: sendPayload, request: (s, header, known) => onSocket(s, header, undefined, known), save: (snap) => payloads && payloads.saveFromComposer(snap) }, announce);
// Saved payloads (ui/payloads.js): a session's own page only.
const payloads = document.getElementById("payloads")
  ? new Payloads(
      {
        store,
        open,
        send: sendPayload,
        composerSocket: () => {
          const s = composer.selected();
          if (!s || !s.canSend || s.epoch !== store.epoch) return null;
          return { sock: s, dest: s.kind === "udp" ? composer.snapshot().target : null };
        },
        load: (item, sock) => composer.load(item, sock),
        hosted: () => (conn.lastHello || {}).mode === "hosted",
      },
      announce,
    )
  : null;
new Opener(async (op, host, port, extra) => {
  const s = await open(op, host, port, extra);
  if (s && (op === "connect" || op === "bind")) composer.focusOn(s);
  if (s && op === "socket") cards.focus(s.key);
}, services);
themeToggle();
// The header's Share, Export and End session (ui/share.js).
// A replay has no session: no Share, Export or End.
const share = replaying ? null : new Share({
  watching,
  request: (header) => conn.request(header),
  end: () => conn.end(),
  openCount: () => store.openCount(),
  announce,
});

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
let historyUntil = 0; // the events before this seq happened before this page opened the session
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
  composer.tick();
  timeline.syncSockets();
  if (!document.hidden) {
    timeline.render();
    codeView.render();
    learn.render();
  }
  if (head < queue.length || store.dirty.size > 0) schedule();
}

/**
 * applyEvent applies one event to the model and every view: as it arrives
 * (drain), or as a replay plays it (ui/player.js). quiet: nothing is said
 * aloud (a replay rebuilding its views). Returns the timeline entry.
 */
function applyEvent(ev, bytes, quiet = false) {
  const entry = store.apply(ev, bytes);
  toolkit.apply(entry);
  timeline.add(entry);
  codeView.apply(entry);
  learn.quiet = quiet;
  learn.apply(entry);
  learn.quiet = false;
  if (quiet) return entry;
  if (entry.ev.type === "error") announce(entry.sock ? t("app.socket_news", { n: entry.sock, news: entry.ev.message }) : entry.ev.message);
  else if (entry.ev.type === "blocked") announce(t("app.blocked", { n: entry.sock, op: entry.ev.op }));
  return entry;
}

/**
 * resetViews empties the model and every view, as if no event had come:
 * then the events are applied again from the first (a replay going back),
 * or a sync's sockets (store.sync, docs/protocol.md §15.3) and the events
 * after it. Events waiting in the queue stay there.
 */
function resetViews() {
  store.reset();
  toolkit.reset();
  timeline.reset();
  cards.reset();
  codeView.reset();
  learn.reset();
  composer.sync(true);
  schedule();
}

function drain(deadline) {
  let i = head;
  for (; i < queue.length; i += 2) {
    if (queue[i].type === "sync") {
      applySync(queue[i]);
      continue;
    }
    // The history a page gets when it opens a session that was under way
    // (a reload, a watch link) is old news: it is not read out.
    applyEvent(queue[i], queue[i + 1], queue[i].seq < historyUntil);
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
// The session's owner key is its control (docs/protocol.md §15.1): kept for
// this tab only, so that a reload or a dropped network comes back to it.
const KEY_PREFIX = "sp.key.";
function loadKey(session) {
  try {
    return sessionStorage.getItem(KEY_PREFIX + session) || "";
  } catch {
    return "";
  }
}
function saveKey(session, key) {
  try {
    sessionStorage.setItem(KEY_PREFIX + session, key);
  } catch {
    // Storage refused: a reload cannot come back to the session.
  }
}
function forgetKey(session) {
  try {
    sessionStorage.removeItem(KEY_PREFIX + session);
  } catch {
    // nothing kept
  }
}

// showSessionURL makes the address the session's own (/s/{id}), so that a
// reload comes back to it; the query (?lang=…) stays.
function showSessionURL(session) {
  const path = `/s/${encodeURIComponent(session)}`;
  if (location.pathname !== path) history.replaceState(history.state, "", path + location.search + location.hash);
}

// The banner's way out once a session is over: a new one of one's own.
const startNew = { key: "share.new_session", run: () => location.assign("/" + location.search), primary: true };

// joining is how this page joins a session (Connection's join): a new one,
// its own again (/s/{id}, with the key this tab kept), or a watch link's;
// null for a /s/{id} this tab has no key for.
function joining() {
  if (watching) return { kind: "watch", watch: config.watch || "" };
  if (!config.session) return { kind: "new" };
  const key = loadKey(config.session);
  return key ? { kind: "owner", session: config.session, key } : null;
}
const join = joining();

// applySync starts the views again from a sync (docs/protocol.md §15.3): the
// state every socket was in just before the first event the server still
// has; those events follow.
function applySync(msg) {
  resetViews();
  store.sync(msg.sockets, msg.first);
  toolkit.sync(msg);
}

const conn = new Connection(
  wsURL,
  config.subprotocol,
  {
    onRefused: (text) => status.tell(() => t("app.refused", { why: text })),
    onStatus: (s) => status.show(s),
    onMessage: (msg, bytes) => {
      queue.push(msg, bytes);
      schedule();
    },
    onShares: (shares) => share.update(shares),
    // A watcher's refused request (§15.5): said, never logged.
    onNotice: (msg) => msg.type === "error" && announce(msg.message),
    onHello: (hello) => {
      const watcher = hello.role === "watcher";
      // The downloads and the code are read with the owner key, or the watch link's secret.
      const key = watcher ? config.watch || "" : conn.join.key || "";
      if (!watcher) {
        if (hello.key) saveKey(hello.session, hello.key);
        showSessionURL(hello.session);
      }
      store.limits = hello.limits;
      share.hello(hello, key);
      const id = hello.session.slice(0, 8);
      if (store.epoch > 0 && store.session === hello.session) {
        // The same session again (§15.2): its events carry on from the one
        // after the last this page received; nothing starts afresh.
        status.tell(() => (watcher ? t("app.rewatching", { session: id }) : t("app.resumed", { session: id })));
        timeline.note(() => t("app.note.resumed", { session: id }), "session");
        composer.sync(true);
        schedule();
        return;
      }
      const again = store.epoch > 0;
      historyUntil = hello.resumed || watcher ? hello.next || 0 : 0;
      store.newSession(hello);
      learn.newSession(hello);
      codeView.newSession(hello, key);
      if (again) {
        status.tell(() => t("app.reconnected", { session: id }));
        timeline.note(() => t("app.new_session", { session: hello.session }), "session");
      }
      composer.sync(true);
      if (again) timeline.rebuild(); // draws the old rows as "earlier"
      schedule();
    },
    onEnd: ({ code, reason, kind, had }) => {
      drain(Infinity); // every event that arrived is applied before what comes next
      // A repeat runs on the server (§16.2): it goes on while the page is
      // away, and ends with its socket when the session does.
      for (const w of waiters.splice(0)) w.resolve();
      share.offline();
      const n = store.openCount();
      const tell = (what, actions, final) => {
        status.tell(what, actions, final);
        timeline.note(what, "disconnected");
        announce(what());
        schedule();
      };
      // The server's reason is its own words.
      const why = () => (reason ? reason.charAt(0).toUpperCase() + reason.slice(1) : t("status.ended"));
      const lost = () => (reason ? t("app.lost_why", { code, why: reason }) : t("app.lost", { code }));
      if (kind === "lost") {
        // The session stays (§15.2): the page comes back to it by itself.
        if (!had) return; // an attempt to come back failed: the status says so
        if (watching) {
          status.tell(() => `${lost()}. ${t("app.lost_watch")}`);
        } else {
          const grace = clockLeft(conn.lastHello?.grace_ms || 0);
          status.tell(() => `${lost()}. ${n ? tn("app.lost_kept", n, { grace }) : t("app.lost_kept_none", { grace })}`);
        }
        timeline.note(() => t("app.note.lost", { code }), "disconnected");
        announce(lost());
        schedule();
        return;
      }
      if (kind === "taken") {
        // Another page has the session (§15.2): its sockets are open there.
        tell(() => t("app.taken"), [{ key: "share.take_back", run: () => conn.reconnectNow(), primary: true }, { ...startNew, primary: false }]);
        return;
      }
      if (kind === "server") {
        // The server shut down, and its sessions with it (§10).
        if (!had) return;
        if (!watching) forgetKey(store.session);
        store.endSession(() => t("app.reason.lost"));
        if (watching) {
          tell(() => t("app.watch_server"));
          return;
        }
        const what = () => t("app.ended", { why: reason ? t("app.went_away_why", { why: reason }) : t("app.went_away"), fate: n ? tn("app.fate.ended_closed", n) : t("app.fate.ended") });
        status.tell(() => `${what()} ${t("app.reconnecting")}`);
        timeline.note(what, "disconnected");
        announce(what());
        schedule();
        return;
      }
      // The session is over, or the watch link no longer works: the page
      // does not come back by itself.
      share.ended();
      if (watching) {
        // The watch banner offers a playground of one's own.
        if (code === 4004) {
          tell(() => t("app.watch_gone", { why: reason }), [], true);
          return;
        }
        store.endSession(() => t("app.reason.final", { why: reason }));
        tell(() => t("app.ended", { why: why(), fate: t("app.fate.watched") }), [], true);
        return;
      }
      forgetKey(conn.join.session || store.session);
      const ended = code === 1000;
      store.endSession(() => (ended ? t("app.reason.you_ended") : t("app.reason.final", { why: reason })));
      const fate = () => (!store.session ? t("app.fate.unknown") : n ? tn("app.fate.closed", n) : t("app.fate.none"));
      tell(() => t("app.ended", { why: ended ? t("app.you_ended") : why(), fate: fate() }), [startNew]);
    },
  },
  join || { kind: "new" },
);
if (replaying) startReplay({ store, apply: applyEvent, resetViews, schedule, announce, codeView });
else if (join) conn.start();
else {
  // A session of another page (or browser): its key is not here.
  status.show({ state: "ended", kind: "none" });
  status.tell(() => t("app.not_yours"), [startNew]);
  share.ended();
}
