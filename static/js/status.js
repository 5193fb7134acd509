// Shows whether a session can be opened: connects one WebSocket, reads the
// hello message, and reports the session id. The full playground UI lives in
// later modules; this one only proves the path end to end.
const config = JSON.parse(document.getElementById("playground-config").textContent);
const out = document.getElementById("session-status");

function show(text, ok) {
  out.textContent = text; // text, never HTML
  out.className = ok ? "ok" : "bad";
}

const scheme = location.protocol === "https:" ? "wss:" : "ws:";
const ws = new WebSocket(`${scheme}//${location.host}${config.ws_path}`, [config.subprotocol]);
ws.addEventListener("message", (ev) => {
  if (typeof ev.data !== "string") return;
  const msg = JSON.parse(ev.data);
  if (msg.type === "hello") {
    show(`open · ${msg.protocol} · session ${msg.session.slice(0, 8)}… · ${msg.services.length} services`, true);
  }
});
ws.addEventListener("close", (ev) => {
  show(`closed (${ev.code}${ev.reason ? ": " + ev.reason : ""})`, false);
});
ws.addEventListener("error", () => show("could not connect", false));
