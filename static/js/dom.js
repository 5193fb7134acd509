// Small DOM helpers. Text goes in as text (textContent or text nodes), never
// as HTML: payloads from the network must not become markup.

import { t } from "./i18n.js";

/**
 * h("button", { class: "btn", type: "button", onclick: fn }, "Close") makes
 * an element. Props: class, text, dataset, aria-* and other attributes, and
 * on* listeners. Children are nodes or strings (as text nodes). A text that
 * never changes but for the language is given by its message key instead:
 * i18n: "card.close" (the text) and i18nAttr: { title: "card.step_title" }
 * (attributes); i18n.js's apply() re-renders them when the language changes.
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") el.className = v;
    else if (k === "text") el.textContent = v;
    else if (k === "i18n") {
      el.dataset.i18n = v;
      el.textContent = t(v);
    } else if (k === "i18nAttr") {
      el.dataset.i18nAttr = Object.entries(v).map(([attr, key]) => `${attr}:${key}`).join(";");
      for (const [attr, key] of Object.entries(v)) el.setAttribute(attr, t(key));
    } else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    el.append(typeof c === "string" ? document.createTextNode(c) : c);
  }
  return el;
}

/** Sets an element's text only when it changed (cheap updates every frame). */
export function setText(el, text) {
  if (el.textContent !== text) el.textContent = text;
}

export function $(id) {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page has no #${id}`);
  return el;
}

/** Copies text to the clipboard; falls back to a hidden textarea where the API is missing. */
export async function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    try {
      await navigator.clipboard.writeText(text);
      return;
    } catch {
      // fall through: permission refused, e.g. in a headless browser
    }
  }
  const ta = h("textarea", { class: "sr-only", "aria-hidden": "true" });
  ta.value = text;
  document.body.append(ta);
  ta.select();
  const ok = document.execCommand("copy");
  ta.remove();
  if (!ok) throw new Error(t("copy.refused"));
}

/** "10:31:02.123456" (local time with microseconds) from a µs timestamp. */
export function clock(us) {
  const d = new Date(Math.floor(us / 1000));
  const p = (n, w = 2) => String(n).padStart(w, "0");
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(Math.floor(us % 1e6), 6)}`;
}

/** "2026-11-24 10:31:02.123456" from a µs timestamp. */
export function dateTime(us) {
  const d = new Date(Math.floor(us / 1000));
  const p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${clock(us)}`;
}

/** "4.2 s", "3 min 05 s", "1 h 02 min" (in Korean "4.2초", "3분 05초", "1시간 02분"): an age. */
export function duration(ms) {
  const s = Math.floor(ms / 1000);
  if (s < 60) return t("time.s", { s: (ms / 1000).toFixed(ms < 10000 ? 1 : 0) });
  if (s < 3600) return t("time.min_s", { min: Math.floor(s / 60), s: String(s % 60).padStart(2, "0") });
  return t("time.h_min", { h: Math.floor(s / 3600), min: String(Math.floor(s / 60) % 60).padStart(2, "0") });
}
