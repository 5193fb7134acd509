// A bad-network proxy's card: where clients connect and where the proxy
// forwards them, what it relayed each way and dropped, and its knobs, which
// change live: every edit sends all of them (proxy_set), and the card shows
// the knobs the server confirmed.

import { byteCount } from "../bytes.js";
import { knobsText } from "../describe.js";
import { h, setText } from "../dom.js";
import { KIND_NAMES } from "../protocol.js";

const DEBOUNCE_MS = 300;
const MAX_MS = 60000; // the server's longest delay: one minute
const SPLIT_GAP_DEFAULT = 25; // ms: long enough that each piece arrives as its own read

// The knobs, in the card's order. tcp/udp: shown only for that protocol.
// A percent knob is typed as 0-100 and sent as 0-1.
const KNOBS = [
  { key: "latency_ms", label: "Latency (ms)", max: MAX_MS },
  { key: "jitter_ms", label: "Jitter (ms)", max: MAX_MS },
  { key: "bandwidth", label: "Bandwidth (bytes/s)", max: 1e9 },
  { key: "split", label: "Split into pieces of (bytes)", max: 1 << 20, only: "tcp" },
  { key: "split_gap_ms", label: "Gap between pieces (ms)", max: MAX_MS, only: "tcp", initial: SPLIT_GAP_DEFAULT },
  { key: "coalesce_ms", label: "Coalesce within (ms)", max: MAX_MS, only: "tcp" },
  { key: "loss", label: "Loss (%)", max: 100, only: "udp", percent: true },
  { key: "reorder", label: "Reorder (%)", max: 100, only: "udp", percent: true },
];

const proto = (s) => (s.kind === "udp-proxy" ? "udp" : "tcp");

/** Builds a proxy's card; cards is the Cards view (its actions and helpers). */
export function createProxy(cards, s, titleId) {
  const p = proto(s);
  const refs = {};
  const dd = (name) => (refs[name] = h("dd"));
  const fact = (term, name) => [h("dt", {}, term), dd(name)];
  const btn = (text, onclick) => h("button", { type: "button", class: "btn small", onclick }, text);
  const uid = titleId.replace("sock-", "");
  refs.title = h("h3", { id: titleId });
  refs.state = h("span", { class: "badge" });
  refs.stateHelp = h("p", { class: "state-help hint" });
  refs.error = h("p", { class: "card-error", hidden: true });

  const knobs = KNOBS.filter((k) => !k.only || k.only === p);
  refs.inputs = {};
  const fields = knobs.map((k) => {
    const input = h("input", {
      type: "number",
      name: k.key,
      min: "0",
      max: String(k.max),
      step: k.percent ? "any" : "1",
      inputmode: k.percent ? "decimal" : "numeric",
      value: String(k.initial || 0),
      "aria-describedby": `knobs-help-${uid}`,
    });
    refs.inputs[k.key] = input;
    return h("label", { class: "field knob" }, h("span", {}, k.label), input);
  });
  refs.knobsProblem = h("p", { class: "error-text", role: "alert", hidden: true });
  refs.knobsNow = h("p", { class: "knobs-now", role: "status", "aria-live": "polite", "aria-label": "Knobs in force" });
  refs.form = h(
    "form",
    { class: "knobs", novalidate: true, "aria-label": `Knobs of socket ${s.id}` },
    h("fieldset", {}, h("legend", {}, "Knobs"), h("div", { class: "knob-grid" }, ...fields)),
    h(
      "p",
      { class: "hint knobs-help", id: `knobs-help-${uid}` },
      p === "tcp" ? "0 turns a knob off (bandwidth 0: unlimited). Changes apply as you type, to data from then on." : "0 turns a knob off (bandwidth 0: unlimited). Loss and reorder apply to each datagram, each way. Changes apply as you type.",
    ),
    refs.knobsProblem,
    refs.knobsNow,
  );
  const state = { timer: 0, edited: false, pending: 0, shown: null };
  refs.knobState = state;
  refs.form.addEventListener("input", (e) => {
    state.edited = true;
    // Split pieces with no gap between them arrive together: give them one.
    if (e.target.name === "split" && Number(e.target.value) > 0) {
      const gap = refs.inputs.split_gap_ms;
      if (gap.value.trim() === "" || Number(gap.value) === 0) gap.value = String(SPLIT_GAP_DEFAULT);
    }
    clearTimeout(state.timer);
    if (read(refs)) state.timer = setTimeout(() => apply(cards, s, refs), DEBOUNCE_MS);
  });
  refs.form.addEventListener("submit", (e) => {
    e.preventDefault();
    clearTimeout(state.timer);
    apply(cards, s, refs);
  });

  refs.connect = btn(p === "udp" ? "Open a UDP socket to it" : "Connect a client", () => (p === "udp" ? cards.actions.udpTo(s) : cards.actions.connectTo(s)));
  refs.reset = btn("Reset connections now", () => cards.actions.proxyReset(s));
  refs.reset.hidden = p === "udp";
  refs.close = btn("Close", () => cards.actions.close(s));

  const el = h(
    "article",
    { class: "sock-card", "aria-labelledby": titleId, dataset: { key: s.key } },
    h("header", { class: "card-head" }, refs.title, refs.state),
    refs.stateHelp,
    h(
      "dl",
      { class: "facts" },
      ...fact("Local", "local"),
      ...fact("Remote", "remote"),
      ...fact("To target", "toTarget"),
      ...fact("To client", "toClient"),
      ...(p === "udp" ? [...fact("Dropped", "drops"), ...fact("Held back", "holds")] : []),
      ...fact(p === "udp" ? "Clients" : "Connections", "conns"),
      ...fact("Age", "age"),
    ),
    refs.error,
    refs.form,
    h("div", { class: "actions" }, refs.connect, refs.reset, refs.close),
  );
  return { el, refs, proxy: true };
}

// read checks the knob fields; it returns the knobs to send, or null (and
// says why) if one is not a valid number.
function read(refs) {
  const out = {};
  let problem = "";
  for (const [key, input] of Object.entries(refs.inputs)) {
    const k = KNOBS.find((x) => x.key === key);
    const text = input.value.trim();
    const v = text === "" ? 0 : Number(text);
    const ok = Number.isFinite(v) && v >= 0 && v <= k.max && (k.percent || Number.isInteger(v)) && !(text === "" && input.validity.badInput);
    if (!ok) {
      input.setAttribute("aria-invalid", "true");
      problem ||= `${k.label.replace(/ \(.*\)$/, "")} must be ${k.percent ? "a number" : "a whole number"} from 0 to ${k.max.toLocaleString("en-US")}.`;
      continue;
    }
    input.removeAttribute("aria-invalid");
    if (v) out[key] = k.percent ? v / 100 : v;
  }
  if (!out.split) delete out.split_gap_ms; // the gap means nothing without split
  setText(refs.knobsProblem, problem ? `Not applied: ${problem}` : "");
  refs.knobsProblem.hidden = !problem;
  return problem ? null : out;
}

// apply sends every knob; the card shows them once the server confirms.
async function apply(cards, s, refs) {
  const knobs = read(refs);
  if (!knobs || s.final) return;
  const st = refs.knobState;
  st.pending++;
  cards.store.touch(s);
  cards.render();
  try {
    await cards.actions.proxySet(s, knobs);
  } catch (err) {
    setText(refs.knobsProblem, `Not applied: ${err.message}`);
    refs.knobsProblem.hidden = false;
    st.edited = false; // show again what is in force
    if (s.knobs) fill(refs, s.knobs);
  } finally {
    st.pending--;
    cards.store.touch(s);
    cards.render();
  }
}

/** Brings a proxy's card up to date. */
export function updateProxy(cards, s, { el, refs }) {
  const p = proto(s);
  setText(refs.title, `Socket ${s.id} · ${KIND_NAMES[s.kind]}${s.epoch !== cards.store.epoch ? " · earlier session" : ""}`);
  setText(refs.state, s.state || "opening");
  refs.state.className = `badge st-${s.state || "opening"}`;
  el.className = `sock-card k-${s.kind} st-${s.state || "opening"}${s.final ? " final" : ""}`;
  const help =
    s.state === "proxying"
      ? `clients connect to Local; the proxy forwards each ${p === "udp" ? "client's datagrams" : "connection"} to Remote, misbehaving as the knobs say`
      : s.state === "opening"
        ? "asking the kernel for the proxy's port"
        : "";
  setText(refs.stateHelp, s.reason || help);
  setText(refs.local, s.local || "—");
  setText(refs.remote, s.remote || s.target || "—");
  const r = s.relay;
  const unit = p === "udp" ? "datagram" : "chunk";
  const way = (w) => `${byteCount(w ? w.bytes : 0)} in ${(w ? w.chunks : 0).toLocaleString("en-US")} ${unit}${w && w.chunks === 1 ? "" : "s"}`;
  setText(refs.toTarget, way(r && r.toTarget));
  setText(refs.toClient, way(r && r.toClient));
  if (refs.drops) {
    const n = r ? r.drops : 0;
    setText(refs.drops, `${n.toLocaleString("en-US")} datagram${n === 1 ? "" : "s"} (${byteCount(r ? r.dropBytes : 0)})`);
    const held = r ? r.holds : 0;
    setText(refs.holds, `${held.toLocaleString("en-US")} datagram${held === 1 ? "" : "s"}, to be reordered`);
  }
  const conns = r ? r.conns : 0;
  const live = r ? r.live.size : 0;
  setText(refs.conns, p === "udp" ? `${conns} address${conns === 1 ? "" : "es"} (${live} active)` : `${conns} (${live} open)`);
  cards.age(s, refs);
  refs.error.hidden = !s.error;
  if (s.error) setText(refs.error, `${s.error.op ? `${s.error.op} failed: ` : ""}${s.error.message}${s.error.errno ? ` (${s.error.errno})` : ""}`);

  const st = refs.knobState;
  if (s.knobs && s.knobs !== st.shown) {
    st.shown = s.knobs;
    // Until the person edits them, the fields show what the server has.
    if (!st.edited) fill(refs, s.knobs);
  }
  const now = s.knobs ? knobsText(s.knobs) : "waiting for the proxy…";
  setText(refs.knobsNow, `In force: ${now}${st.pending ? " · applying your change…" : ""}`);
  const proxying = s.state === "proxying";
  // Knobs can change only while the proxy runs: before, a change would fail
  // ("not running yet") and leave the fields showing knobs not in force.
  refs.form.querySelector("fieldset").disabled = !proxying;
  refs.connect.disabled = !proxying;
  refs.reset.disabled = !proxying;
  refs.close.disabled = s.final;
  setText(refs.close, s.closing && !s.final ? "Close now" : "Close");
  refs.close.title = s.closing && !s.final ? "The close waits for earlier operations; this closes at once" : "";
}

function fill(refs, k) {
  for (const [key, input] of Object.entries(refs.inputs)) {
    const def = KNOBS.find((x) => x.key === key);
    let v = k[key] || 0;
    if (def.percent) v = Math.round(v * 1000) / 10;
    if (key === "split_gap_ms" && !v) v = k.split ? 1 : SPLIT_GAP_DEFAULT; // 0 in force means the 1 ms default
    input.value = String(v);
  }
}
