// A socket card's toolkit part (docs/protocol.md §16.2, §16.3): its
// auto-reply rules — each with what it matches, what it replies and how
// many times it fired — a form to add one and a button to remove each;
// and the repeat running on it, with a Stop button. Everything shown comes
// from the log (toolkit.js), so it is there again after a reload.

import { ParseError, byteCount, parsePayload } from "../bytes.js";
import { matchText, spelledText } from "../describe.js";
import { h, setText } from "../dom.js";
import { msg, num, t, tn } from "../i18n.js";
import { parseTemplate } from "../template.js";
import { repeatRunning } from "../toolkit.js";

// The sockets that may have rules, and the states in which rules are added.
const KINDS = new Set(["tcp", "tcp-listener", "udp"]);
const OPEN = { tcp: ["established", "half-closed"], "tcp-listener": ["listening"], udp: ["bound", "created"] };

const MATCHES = [
  ["contains", "auto.match.contains"],
  ["equals", "auto.match.equals"],
  ["regex", "auto.match.regex"],
];
const PATTERN_FORMATS = [
  ["text", "composer.format.text"],
  ["hex", "composer.format.hex"],
  ["escaped", "composer.format.escaped"],
];
const REPLY_FORMATS = [...PATTERN_FORMATS, ["template", "composer.format.template"]];

/**
 * createToolkit builds the card's part; cards.actions.toolkit(s, header)
 * makes a request about s and returns its answer's promise,
 * cards.actions.announce(text) tells screen readers.
 */
export function createToolkit(cards, s, uid) {
  const refs = {};
  const select = (opts, label) => h("select", { "aria-label": label ? t(label) : undefined, i18nAttr: label ? { "aria-label": label } : undefined }, ...opts.map(([v, key]) => h("option", { value: v, i18n: key })));
  const field = (key, control, cls = "") => h("label", { class: `field ${cls}` }, h("span", { i18n: key }), control);

  // The repeat under way, or the last one.
  refs.repeatText = h("p", { class: "repeat-text" });
  refs.repeatStop = h("button", { type: "button", class: "btn small", i18n: "composer.stop", onclick: () => cards.actions.toolkit(s, { op: "stop" }).catch(() => {}) });
  refs.repeat = h("div", { class: "card-repeat", hidden: true }, refs.repeatText, refs.repeatStop);

  // Auto-reply.
  const headId = `auto-h-${uid}`;
  refs.count = h("span", { class: "hint auto-count" });
  refs.addBtn = h("button", { type: "button", class: "link disclosure", "aria-expanded": "false", onclick: () => toggle(refs) }, h("span", { class: "tri", "aria-hidden": "true" }), h("span", { i18n: "auto.add" }));
  refs.scope = h("p", { class: "hint auto-scope", hidden: true });
  refs.rules = h("ol", { class: "rules", "aria-labelledby": headId });
  refs.inherited = h("p", { class: "hint auto-inherited", hidden: true });
  refs.match = select(MATCHES);
  refs.pattern = h("input", { type: "text", autocomplete: "off", spellcheck: "false" });
  refs.patternFmt = select(PATTERN_FORMATS, "auto.pattern_format");
  refs.reply = h("input", { type: "text", autocomplete: "off", spellcheck: "false" });
  refs.replyFmt = select(REPLY_FORMATS, "auto.reply_format");
  refs.replyFmt.value = "escaped";
  refs.formError = h("p", { class: "error-text", role: "alert", hidden: true });
  refs.submit = h("button", { type: "submit", class: "btn small primary", i18n: "auto.submit" });
  refs.form = h(
    "form",
    { class: "rule-form", hidden: true, novalidate: true },
    h("div", { class: "rule-row" }, field("auto.when", refs.match, "rule-match")),
    h("div", { class: "rule-row" }, field("auto.pattern", refs.pattern, "grow"), refs.patternFmt),
    h("div", { class: "rule-row" }, field("auto.reply", refs.reply, "grow"), refs.replyFmt),
    refs.formError,
    h("div", { class: "rule-row end" }, refs.submit),
  );
  refs.form.addEventListener("submit", (e) => {
    e.preventDefault();
    addRule(cards, s, refs);
  });
  refs.form.addEventListener("input", () => {
    refs.formError.hidden = true;
    refs.pattern.removeAttribute("aria-invalid");
    refs.reply.removeAttribute("aria-invalid");
  });
  refs.form.addEventListener("keydown", (e) => {
    if (e.key === "Escape") {
      toggle(refs, false);
      refs.addBtn.focus();
    }
  });
  refs.auto = h(
    "div",
    { class: "auto", role: "group", "aria-labelledby": headId, hidden: true },
    h("div", { class: "auto-head" }, h("h4", { id: headId, i18n: "auto.heading" }), refs.count, refs.addBtn),
    refs.scope,
    refs.rules,
    refs.inherited,
    refs.form,
  );
  refs.box = h("div", { class: "card-toolkit" }, refs.repeat, refs.auto);
  return refs;
}

function toggle(refs, open = refs.form.hidden) {
  refs.form.hidden = !open;
  refs.addBtn.setAttribute("aria-expanded", String(open));
  if (open) refs.pattern.focus();
}

// addRule checks the form as the server would, then asks for the rule.
async function addRule(cards, s, refs) {
  const bad = (input, text) => {
    input.setAttribute("aria-invalid", "true");
    refs.formError.hidden = false;
    setText(refs.formError, text);
    input.focus();
  };
  const pf = refs.patternFmt.value;
  const rf = refs.replyFmt.value;
  try {
    if (parsePayload(pf, refs.pattern.value).length === 0) return bad(refs.pattern, t("auto.need_pattern"));
  } catch (err) {
    if (err instanceof ParseError) return bad(refs.pattern, t("auto.bad_pattern", { why: err.message }));
    throw err;
  }
  try {
    if (rf === "template") parseTemplate(refs.reply.value);
    else parsePayload(rf, refs.reply.value);
  } catch (err) {
    if (err instanceof ParseError) return bad(refs.reply, t("auto.bad_reply", { why: err.message }));
    throw err;
  }
  const header = { op: "respond", match: refs.match.value, pattern: { [pf]: refs.pattern.value }, reply: { [rf]: refs.reply.value } };
  refs.submit.disabled = true;
  try {
    const res = await cards.actions.toolkit(s, header);
    refs.pattern.value = "";
    refs.reply.value = "";
    toggle(refs, false);
    refs.addBtn.focus();
    cards.actions.announce(t("auto.added", { rule: res.rule || "?", n: s.id }));
  } catch (err) {
    refs.formError.hidden = false;
    setText(refs.formError, err.message);
  } finally {
    refs.submit.disabled = false;
  }
}

/** updateToolkit shows what the log says of s's rules and repeat. */
export function updateToolkit(cards, s, refs) {
  const live = s.epoch === cards.store.epoch && !s.final;
  updateRepeat(s, refs, live);
  const rules = s.rules ? [...s.rules.values()] : [];
  const parent = s.parent ? cards.store.get(s.parent, s.epoch) : null;
  const inherited = parent && parent.rules ? parent.rules.size : 0;
  const canAdd = live && KINDS.has(s.kind) && (OPEN[s.kind] || []).includes(s.state);
  refs.auto.hidden = !(canAdd || rules.length > 0);
  if (refs.auto.hidden) return;
  setText(refs.count, rules.length ? tn("auto.count", rules.length) : "");
  refs.addBtn.hidden = !canAdd;
  if (!canAdd && !refs.form.hidden) toggle(refs, false);
  refs.scope.hidden = s.kind !== "tcp-listener";
  if (!refs.scope.hidden) setText(refs.scope, t("auto.listener_scope"));
  refs.inherited.hidden = !inherited;
  if (inherited) setText(refs.inherited, tn("auto.inherited", inherited, { parent: s.parent }));
  // The list is drawn again only when it changed; the focus stays on its button.
  const sig = `${cards.store.epoch === s.epoch}:${live}:${rules.map((r) => `${r.rule}/${r.fired}`).join(",")}`;
  if (sig === refs.sig && refs.lang === document.documentElement.lang) return;
  refs.sig = sig;
  refs.lang = document.documentElement.lang;
  const focused = refs.rules.contains(document.activeElement) ? document.activeElement.dataset.rule : "";
  refs.rules.replaceChildren(
    ...rules.map((r) =>
      h(
        "li",
        { class: "rule" },
        h("span", { class: "rule-n", "aria-hidden": "true" }, String(r.rule)),
        h(
          "span",
          { class: "rule-text" },
          h("span", { class: "sr-only" }, t("auto.rule_n", { rule: r.rule })),
          t("auto.rule_text", { when: matchText(r.match, r.pattern), reply: spelledText(r.reply) }),
          h("span", { class: "rule-fired" }, r.fired ? tn("auto.fired", r.fired) : t("auto.not_fired")),
        ),
        live
          ? h("button", {
              type: "button",
              class: "btn small ghost rule-remove",
              dataset: { rule: String(r.rule) },
              "aria-label": t("auto.remove", { rule: r.rule }),
              title: t("auto.remove", { rule: r.rule }),
              onclick: () => removeRule(cards, s, refs, r.rule),
            }, t("auto.remove_short"))
          : null,
      ),
    ),
  );
  if (focused) (refs.rules.querySelector(`[data-rule="${focused}"]`) || refs.addBtn).focus();
}

async function removeRule(cards, s, refs, rule) {
  try {
    await cards.actions.toolkit(s, { op: "unrespond", rule });
    if (!refs.rules.contains(document.activeElement)) refs.addBtn.focus();
    cards.actions.announce(t("auto.removed", { rule, n: s.id }));
  } catch {
    // the error is on the card and in the timeline
  }
}

function updateRepeat(s, refs, live) {
  const r = s.repeat;
  refs.repeat.hidden = !r;
  if (!r) return;
  const running = repeatRunning(s) && live;
  refs.repeatStop.hidden = !running;
  refs.repeat.classList.toggle("running", running);
  let text;
  if (running) text = r.count ? t("auto.repeat_running", { sent: num(r.sent), n: num(r.count), bytes: byteCount(r.bytes) }) : t("auto.repeat_endless", { sent: num(r.sent), bytes: byteCount(r.bytes) });
  else if (r.state === "done") text = t("auto.repeat_done", { sent: num(r.sent), bytes: byteCount(r.bytes) });
  else if (r.state === "failed") text = t("auto.repeat_failed", { sent: num(r.sent), why: r.message });
  else if (r.state === "stopped") text = t("auto.repeat_stopped", { sent: num(r.sent), bytes: byteCount(r.bytes) });
  else text = t("auto.repeat_failed", { sent: num(r.sent), why: msg(s.reason) || t("auto.repeat_ended") });
  setText(refs.repeatText, text);
}
