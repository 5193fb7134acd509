// The page's words. Every text the page shows comes from a message catalog
// (internal/learn/messages/<lang>/*.json): the server renders the page in
// one language and embeds its catalog as #messages; switching language
// fetches the other catalog and re-renders in place, so the session and
// its sockets carry on.
//
// Static markup names its message with data-i18n="key" (the text) and
// data-i18n-attr="aria-label:key;title:key2" (attributes), with the values
// of its {placeholders} in data-i18n-args (a JSON object); views that build
// their own DOM call t() and re-render on the "langchange" event.
//
// English needs a singular and a plural ("1 socket", "2 sockets"), Korean
// does not inflect: tn("x", n) picks "x.one" or "x.other" by n, and both
// languages have both keys. Numbers are written with num(), in the page's
// language.

const page = typeof document !== "undefined"; // false in a worker: no catalog there
const catalogs = new Map();
let lang = (page && document.documentElement.lang) || "en";
let messages = readEmbedded();
catalogs.set(lang, messages);

function readEmbedded() {
  if (!page) return {};
  const el = document.getElementById("messages");
  if (!el) return {};
  try {
    return JSON.parse(el.textContent);
  } catch {
    return {};
  }
}

/**
 * t("open.connected", { port: 7 }) returns the message for key in the page's
 * language with {port} replaced. A missing key returns the key itself (the
 * catalog tests keep that from happening).
 */
export function t(key, vars) {
  let s = messages[key];
  if (s === undefined) return key;
  if (vars) {
    for (const [k, v] of Object.entries(vars)) s = s.split(`{${k}}`).join(String(v));
  }
  return s;
}

/**
 * tn("timeline.events", 3) is t("timeline.events.other", { n: "3" }): the
 * message for a count, "….one" for 1 and "….other" otherwise, with {n} the
 * count written in the page's language.
 */
export function tn(key, n, vars) {
  return t(`${key}.${n === 1 ? "one" : "other"}`, { n: num(n), ...vars });
}

/** num(1234) is "1,234": a number written in the page's language. */
export function num(n) {
  return n.toLocaleString(lang);
}

/**
 * msg(x) is x's text now: x is a string, or a function that words a message
 * in the page's language each time it is called (for texts that stay on the
 * page and must follow a switch of language).
 */
export function msg(x) {
  return typeof x === "function" ? x() : (x ?? "");
}

/** has reports whether the catalog has key (for optional messages). */
export function has(key) {
  return Object.hasOwn(messages, key);
}

/** The page's language: "en" or "ko". */
export function currentLang() {
  return lang;
}

/** apply re-renders the data-i18n texts and attributes under root. */
export function apply(root = document) {
  for (const el of root.querySelectorAll("[data-i18n]")) {
    const s = t(el.dataset.i18n, args(el));
    if (el.textContent !== s) el.textContent = s;
  }
  for (const el of root.querySelectorAll("[data-i18n-attr]")) {
    for (const pair of el.dataset.i18nAttr.split(";")) {
      const [attr, key] = pair.split(":").map((x) => x.trim());
      if (attr && key) el.setAttribute(attr, t(key, args(el)));
    }
  }
}

// args reads an element's data-i18n-args: the values of its placeholders.
function args(el) {
  if (!el.dataset.i18nArgs) return undefined;
  try {
    return JSON.parse(el.dataset.i18nArgs);
  } catch {
    return undefined;
  }
}

/**
 * setLang switches the page to l: fetches its catalog (once), re-renders the
 * static texts, remembers the choice in a cookie for the next visit, and
 * tells the views with a "langchange" event on document.
 */
export async function setLang(l) {
  if (l === lang) return;
  let next = catalogs.get(l);
  if (!next) {
    const res = await fetch(`/i18n/${encodeURIComponent(l)}.json`, { cache: "no-cache" });
    if (!res.ok) throw new Error(t("lang.failed", { lang: l, status: res.status }));
    next = await res.json();
    catalogs.set(l, next);
  }
  lang = l;
  messages = next;
  document.documentElement.lang = l;
  document.cookie = `lang=${encodeURIComponent(l)}; path=/; max-age=31536000; samesite=lax`;
  apply(document);
  document.dispatchEvent(new CustomEvent("langchange", { detail: { lang: l } }));
}
