// A bad-network proxy's card: where clients connect and where the proxy
// forwards them, what it relayed each way and dropped, and its knobs, which
// change live: every edit sends all of them (proxy_set), and the card shows
// the knobs the server confirmed.

import { byteCount } from "../bytes.js";
import { errorText, kindName, knobsText, stateName } from "../describe.js";
import { h, setText } from "../dom.js";
import { msg, num, t, tn } from "../i18n.js";

const DEBOUNCE_MS = 300;
const MAX_MS = 60000; // the server's longest delay: one minute
const SPLIT_GAP_DEFAULT = 25; // ms: long enough that each piece arrives as its own read

// The knobs, in the card's order: label is the field's message key, and
// name the knob's name in a sentence. tcp/udp: shown only for that
// protocol. A percent knob is typed as 0-100 and sent as 0-1.
const KNOBS = [
  { key: "latency_ms", label: "proxy.knob.latency", name: () => t("proxy.knob.latency.name"), max: MAX_MS },
  { key: "jitter_ms", label: "proxy.knob.jitter", name: () => t("proxy.knob.jitter.name"), max: MAX_MS },
  { key: "bandwidth", label: "proxy.knob.bandwidth", name: () => t("proxy.knob.bandwidth.name"), max: 1e9 },
  { key: "split", label: "proxy.knob.split", name: () => t("proxy.knob.split.name"), max: 1 << 20, only: "tcp" },
  { key: "split_gap_ms", label: "proxy.knob.gap", name: () => t("proxy.knob.gap.name"), max: MAX_MS, only: "tcp", initial: SPLIT_GAP_DEFAULT },
  { key: "coalesce_ms", label: "proxy.knob.coalesce", name: () => t("proxy.knob.coalesce.name"), max: MAX_MS, only: "tcp" },
  { key: "loss", label: "proxy.knob.loss", name: () => t("proxy.knob.loss.name"), max: 100, only: "udp", percent: true },
  { key: "reorder", label: "proxy.knob.reorder", name: () => t("proxy.knob.reorder.name"), max: 100, only: "udp", percent: true },
];

const proto = (s) => (s.kind === "udp-proxy" ? "udp" : "tcp");

/** Builds a proxy's card; cards is the Cards view (its actions and helpers). */
export function createProxy(cards, s, titleId) {
  const p = proto(s);
  const refs = {};
  const dd = (name) => (refs[name] = h("dd"));
  const fact = (term, name) => [h("dt", { i18n: term }), dd(name)];
  const btn = (key, onclick) => h("button", { type: "button", class: "btn small", onclick, i18n: key });
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
    return h("label", { class: "field knob" }, h("span", { i18n: k.label }), input);
  });
  refs.knobsProblem = h("p", { class: "error-text", role: "alert", hidden: true });
  refs.knobsNow = h("p", { class: "knobs-now", role: "status", "aria-live": "polite", i18nAttr: { "aria-label": "proxy.knobs_now_label" } });
  refs.form = h(
    "form",
    { class: "knobs", novalidate: true, "aria-label": t("proxy.knobs_of", { n: s.id }) },
    h("fieldset", {}, h("legend", { i18n: "proxy.knobs" }), h("div", { class: "knob-grid" }, ...fields)),
    h("p", { class: "hint knobs-help", id: `knobs-help-${uid}`, i18n: p === "tcp" ? "proxy.help.tcp" : "proxy.help.udp" }),
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

  refs.connect = btn(p === "udp" ? "proxy.udp_to" : "card.connect", () => (p === "udp" ? cards.actions.udpTo(s) : cards.actions.connectTo(s)));
  refs.reset = btn("proxy.reset", () => cards.actions.proxyReset(s));
  refs.reset.hidden = p === "udp";
  refs.close = h("button", { type: "button", class: "btn small", onclick: () => cards.actions.close(s) }); // "Close" or "Close now": updateProxy says

  const el = h(
    "article",
    { class: "sock-card", "aria-labelledby": titleId, dataset: { key: s.key } },
    h("header", { class: "card-head" }, refs.title, refs.state),
    refs.stateHelp,
    h(
      "dl",
      { class: "facts" },
      ...fact("card.local", "local"),
      ...fact("card.remote", "remote"),
      ...fact("proxy.to_target", "toTarget"),
      ...fact("proxy.to_client", "toClient"),
      ...(p === "udp" ? [...fact("proxy.dropped", "drops"), ...fact("proxy.held", "holds")] : []),
      ...fact(p === "udp" ? "proxy.clients" : "proxy.conns", "conns"),
      ...fact("card.age", "age"),
    ),
    refs.error,
    refs.form,
    h("div", { class: "actions" }, refs.connect, refs.reset, refs.close),
  );
  return { el, refs, proxy: true };
}

// read checks the knob fields; it returns the knobs to send, or null (and
// says why, in refs.problemText) if one is not a valid number.
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
      problem ||= () => t(k.percent ? "proxy.bad_number" : "proxy.bad_whole", { knob: k.name(), max: num(k.max) });
      continue;
    }
    input.removeAttribute("aria-invalid");
    if (v) out[key] = k.percent ? v / 100 : v;
  }
  if (!out.split) delete out.split_gap_ms; // the gap means nothing without split
  showProblem(refs, problem);
  return problem ? null : out;
}

// showProblem shows why knobs were not applied (a function of the page's
// language, so the card can word it again), or hides the reason.
function showProblem(refs, problem) {
  refs.problemText = problem ? () => t("proxy.not_applied", { why: msg(problem) }) : null;
  setText(refs.knobsProblem, msg(refs.problemText));
  refs.knobsProblem.hidden = !problem;
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
    showProblem(refs, err.message);
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
  setText(refs.title, `${t("card.title", { n: s.id, kind: kindName(s.kind) })}${s.epoch !== cards.store.epoch ? ` · ${t("card.earlier")}` : ""}`);
  setText(refs.state, stateName(s.state || "opening"));
  refs.state.className = `badge st-${s.state || "opening"}`;
  el.className = `sock-card k-${s.kind} st-${s.state || "opening"}${s.final ? " final" : ""}`;
  const formLabel = t("proxy.knobs_of", { n: s.id });
  if (refs.form.getAttribute("aria-label") !== formLabel) refs.form.setAttribute("aria-label", formLabel);
  const help = s.state === "proxying" ? t(p === "udp" ? "proxy.help.proxying_udp" : "proxy.help.proxying_tcp") : s.state === "opening" ? t("proxy.help.opening") : "";
  setText(refs.stateHelp, msg(s.reason) || help);
  setText(refs.local, s.local || "—");
  setText(refs.remote, s.remote || s.target || "—");
  const r = s.relay;
  const way = (w) => tn(p === "udp" ? "proxy.way.datagrams" : "proxy.way.chunks", w ? w.chunks : 0, { bytes: byteCount(w ? w.bytes : 0) });
  setText(refs.toTarget, way(r && r.toTarget));
  setText(refs.toClient, way(r && r.toClient));
  if (refs.drops) {
    setText(refs.drops, tn("proxy.drops", r ? r.drops : 0, { bytes: byteCount(r ? r.dropBytes : 0) }));
    setText(refs.holds, tn("proxy.holds", r ? r.holds : 0));
  }
  const conns = r ? r.conns : 0;
  const live = num(r ? r.live.size : 0);
  setText(refs.conns, p === "udp" ? tn("proxy.addresses", conns, { live }) : tn("proxy.connections", conns, { live }));
  cards.age(s, refs);
  refs.error.hidden = !s.error;
  if (s.error) setText(refs.error, errorText(s.error));
  if (refs.problemText) setText(refs.knobsProblem, msg(refs.problemText));

  const st = refs.knobState;
  if (s.knobs && s.knobs !== st.shown) {
    st.shown = s.knobs;
    // Until the person edits them, the fields show what the server has.
    if (!st.edited) fill(refs, s.knobs);
  }
  const now = s.knobs ? knobsText(s.knobs) : t("proxy.waiting");
  setText(refs.knobsNow, `${t("proxy.in_force", { knobs: now })}${st.pending ? ` · ${t("proxy.applying")}` : ""}`);
  const proxying = s.state === "proxying";
  // Knobs can change only while the proxy runs: before, a change would fail
  // ("not running yet") and leave the fields showing knobs not in force.
  refs.form.querySelector("fieldset").disabled = !proxying;
  refs.connect.disabled = !proxying;
  refs.reset.disabled = !proxying;
  refs.close.disabled = s.final;
  setText(refs.close, s.closing && !s.final ? t("card.close_now") : t("card.close"));
  refs.close.title = s.closing && !s.final ? t("proxy.close_now_title") : "";
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
