// Saved payloads: a collection of named payloads, each with its format,
// line ending and target (TCP or UDP host:port), kept in this browser's
// localStorage and never sent to the server (there is no route for it).
// Send one with a click, or Alt+1 … Alt+9 for the first nine from anywhere
// on the page but a text field; as Packet Sender does, sending uses a
// socket already open to the target, or opens one (connect; or bind
// 0.0.0.0:0 / [::]:0) and sends once it is ready. Items can be renamed and
// edited, moved, sorted, deleted (with undo) and filtered; the collection
// is imported and exported as JSON (README, "Saved payloads").
//
// The file and the stored value have the same shape:
//   { "format": "socket-playground-payloads", "version": 1,
//     "payloads": [ { "name", "payload", "format", "eol", "target": { "proto", "host", "port" } } ] }

import { ParseError, byteCount, escapeBytes, parsePayload } from "../bytes.js";
import { $, h, setText } from "../dom.js";
import { msg, num, t, tn } from "../i18n.js";
import { joinHostPort } from "../store.js";
import { parseTemplate, templateEOL } from "../template.js";

/** The collection's file format and version, and where the browser keeps it. */
export const FILE_FORMAT = "socket-playground-payloads";
export const FILE_VERSION = 1;
export const STORAGE_KEY = "playground.payloads.v1";
const EXPORT_NAME = "socket-playground-payloads.json";

const MAX_ITEMS = 1000;
const MAX_NAME = 80;
const MAX_PAYLOAD = 1 << 20; // characters
const FORMATS = ["text", "hex", "escaped", "base64", "template"];
const EOLS = ["", "lf", "crlf"];
const ITEM_FIELDS = new Set(["name", "payload", "format", "eol", "target"]);
const TARGET_FIELDS = new Set(["proto", "host", "port"]);
const EOL_BYTES = { lf: "\n", crlf: "\r\n" };
// The formats' names, as the composer shows them.
const FORMAT_NAMES = { text: "composer.format.text", hex: "composer.format.hex", escaped: "composer.format.escaped", base64: "composer.format.base64", template: "composer.format.template" };
const FILTER_FROM = 7; // the filter shows once there are this many items
const SHORTCUTS = 9;

/** Why an item (or a file) is not a saved payload: a message key and its values. */
export class ItemError extends Error {
  constructor(key, vars = {}) {
    super(key);
    this.key = key;
    this.vars = vars;
  }

  /** The reason in the page's language now. */
  get text() {
    return t(this.key, this.vars);
  }
}

/**
 * validateItem checks one saved payload as the file spells it and returns
 * it in its own spelling ({ name, payload, format, eol, target }), or
 * throws an ItemError that says what is wrong.
 */
export function validateItem(x) {
  if (!x || typeof x !== "object" || Array.isArray(x)) throw new ItemError("payloads.bad.not_object");
  for (const k of Object.keys(x)) if (!ITEM_FIELDS.has(k)) throw new ItemError("payloads.bad.field", { field: k });
  if (typeof x.name !== "string" || !x.name.trim() || x.name.length > MAX_NAME) throw new ItemError("payloads.bad.name", { max: MAX_NAME });
  if (typeof x.payload !== "string" || x.payload.length > MAX_PAYLOAD) throw new ItemError("payloads.bad.payload", { max: num(MAX_PAYLOAD) });
  if (!FORMATS.includes(x.format)) throw new ItemError("payloads.bad.format", { format: String(x.format), known: FORMATS.join(", ") });
  const eol = x.eol ?? "";
  if (!EOLS.includes(eol)) throw new ItemError("payloads.bad.eol", { eol: String(eol) });
  let target = null;
  if (x.target !== undefined && x.target !== null) {
    const g = x.target;
    if (typeof g !== "object" || Array.isArray(g)) throw new ItemError("payloads.bad.target");
    for (const k of Object.keys(g)) if (!TARGET_FIELDS.has(k)) throw new ItemError("payloads.bad.target_field", { field: k });
    if (g.proto !== "tcp" && g.proto !== "udp") throw new ItemError("payloads.bad.proto", { proto: String(g.proto) });
    if (typeof g.host !== "string" || !g.host || g.host.length > 253 || /[\s/]/.test(g.host)) throw new ItemError("payloads.bad.host", { host: String(g.host) });
    if (!Number.isInteger(g.port) || g.port < 1 || g.port > 65535) throw new ItemError("payloads.bad.port", { port: String(g.port) });
    target = { proto: g.proto, host: g.host.replace(/^\[(.*)\]$/, "$1"), port: g.port };
  }
  const item = { name: x.name.trim(), payload: x.payload, format: x.format, eol, target };
  try {
    payloadOf(item);
  } catch (err) {
    if (err instanceof ParseError) throw new ItemError("payloads.bad.spelling", { format: t(FORMAT_NAMES[item.format]), why: err.message });
    throw err;
  }
  return item;
}

/**
 * payloadOf is what sending item carries: { template } for a template
 * (expanded by the server), else { bytes }. It throws a ParseError when the
 * payload does not spell bytes in its format.
 */
export function payloadOf(item) {
  if (item.format === "template") {
    const src = item.payload + templateEOL(item.eol);
    parseTemplate(src);
    return { template: src };
  }
  return { bytes: parsePayload(item.format, item.payload, EOL_BYTES[item.eol] || "") };
}

/**
 * readCollection reads a file's (or the store's) JSON value: { items,
 * problems }, the valid items and, for each one that is not, { index (from
 * 1), name, error }. A value that is not a collection at all throws an
 * ItemError.
 */
export function readCollection(doc) {
  if (!doc || typeof doc !== "object" || Array.isArray(doc) || doc.format !== FILE_FORMAT) throw new ItemError("payloads.bad.file_format", { format: FILE_FORMAT });
  if (doc.version !== FILE_VERSION) throw new ItemError("payloads.bad.version", { version: String(doc.version), want: FILE_VERSION });
  if (!Array.isArray(doc.payloads)) throw new ItemError("payloads.bad.no_list");
  const items = [];
  const problems = [];
  doc.payloads.forEach((x, i) => {
    try {
      items.push(validateItem(x));
    } catch (err) {
      if (!(err instanceof ItemError)) throw err;
      const name = x && typeof x === "object" && typeof x.name === "string" ? x.name : "";
      problems.push({ index: i + 1, name, error: err });
    }
  });
  return { items, problems };
}

/** The collection as a file (indented) or as kept (compact): the documented JSON, with items in order. */
export function collectionJSON(items, indent = 2) {
  return JSON.stringify({ format: FILE_FORMAT, version: FILE_VERSION, payloads: items.map(spell) }, null, indent) + (indent ? "\n" : "");
}

// spell is an item as the file spells it: no target is no field.
function spell(item) {
  const x = { name: item.name, payload: item.payload, format: item.format, eol: item.eol || "" };
  if (item.target) x.target = { proto: item.target.proto, host: item.target.host, port: item.target.port };
  return x;
}

// same is an item's identity for merging: everything it holds.
function same(item) {
  return JSON.stringify(spell(item));
}

/** Whether an element takes typed text, where Alt+digit types a character. */
function typing(el) {
  if (!el || !(el instanceof Element)) return false;
  if (el.isContentEditable || el.localName === "textarea") return true;
  if (el.localName !== "input") return false;
  return !["button", "checkbox", "radio", "submit", "reset", "file", "color", "range", "image"].includes(el.type);
}

// The family a target host's address is of: an IPv6 literal, or IPv4 (and names).
const family = (host) => (host.includes(":") ? "ip6" : "ip4");
const isLoopbackHost = (host) => /^127\./.test(host) || host === "::1" || host === "localhost";
// A socket's own address: "0.0.0.0:5", "[::]:5", "127.0.0.1:5", "[::1]:5".
const localFamily = (local) => (local.startsWith("[") ? "ip6" : "ip4");
const isWildcard = (local) => local.startsWith("0.0.0.0:") || local.startsWith("[::]:");
const isLoopbackLocal = (local) => local.startsWith("127.") || local.startsWith("[::1]:");

export class Payloads {
  /**
   * io: { store, open(op, host, port) → Sock once it is ready,
   * send(sock, payload, dest) → the answer, composerSocket() → { sock,
   * dest } or null, load(item, sock), hosted() → boolean }. announce(text)
   * tells screen readers.
   */
  constructor(io, announce) {
    this.io = io;
    this.announce = announce;
    this.items = [];
    this.opening = new Map(); // "tcp:host:port" -> the promise of the socket being opened
    this.itemNews = new Map(); // an item -> what its last send did: { text(), bad }
    this.undo = null; // the items before the last delete or sort
    this.root = $("payloads");
    this.list = $("payloads-list");
    this.empty = $("payloads-empty");
    this.count = $("payloads-count");
    this.filterField = $("payloads-filter-field");
    this.filter = $("payloads-filter");
    this.file = $("payloads-file");
    this.news = $("payloads-news");
    this.newsText = $("payloads-news-text");
    this.undoBtn = $("payloads-undo");
    this.dialog = $("payload-dialog");
    this.form = $("payload-form");
    this.editing = -1; // the item the dialog edits, or -1: it saves a new one

    this.load();
    $("payloads-export").addEventListener("click", () => this.exportFile());
    $("payloads-import").addEventListener("click", () => this.file.click());
    $("payloads-sort").addEventListener("click", () => this.sort());
    $("payloads-news-close").addEventListener("click", () => this.say(null));
    this.undoBtn.addEventListener("click", () => this.restore());
    this.file.addEventListener("change", () => {
      const f = this.file.files && this.file.files[0];
      this.file.value = "";
      if (f) this.importFile(f);
    });
    this.filter.addEventListener("input", () => this.render());
    this.filter.addEventListener("keydown", (e) => {
      if (e.key === "Escape" && this.filter.value) {
        this.filter.value = "";
        this.render();
      }
    });
    // A collection file dropped on the panel is imported.
    this.root.addEventListener("dragover", (e) => {
      if (![...(e.dataTransfer?.types || [])].includes("Files")) return;
      e.preventDefault();
      this.root.classList.add("drop");
    });
    this.root.addEventListener("dragleave", (e) => {
      if (!this.root.contains(e.relatedTarget)) this.root.classList.remove("drop");
    });
    this.root.addEventListener("drop", (e) => {
      this.root.classList.remove("drop");
      const f = e.dataTransfer?.files?.[0];
      if (!f) return;
      e.preventDefault();
      this.importFile(f);
    });
    this.form.addEventListener("submit", (e) => {
      e.preventDefault();
      this.submitDialog();
    });
    this.form.addEventListener("input", () => this.checkDialog(false));
    $("pf-proto").addEventListener("change", () => this.targetFields());
    // Alt+1 … Alt+9: the first nine, from anywhere but a text field.
    document.addEventListener("keydown", (e) => {
      if (!e.altKey || e.ctrlKey || e.metaKey || e.shiftKey || e.repeat || e.defaultPrevented) return;
      const m = /^Digit([1-9])$/.exec(e.code || "") || /^([1-9])$/.exec(e.key || "");
      if (!m || typing(e.target)) return;
      const i = Number(m[1]) - 1;
      if (i >= this.items.length) return;
      e.preventDefault();
      this.send(this.items[i]);
    });
    // Another tab changed the collection.
    window.addEventListener("storage", (e) => {
      if (e.key !== STORAGE_KEY) return;
      this.load();
      this.render();
    });
    document.addEventListener("langchange", () => {
      this.render();
      if (this.newsWords) setText(this.newsText, msg(this.newsWords));
    });
    this.render();
  }

  // load reads the collection from localStorage. What cannot be read is
  // kept aside (STORAGE_KEY + ".unreadable") and said, never lost.
  load() {
    let raw = null;
    try {
      raw = localStorage.getItem(STORAGE_KEY);
    } catch {
      this.items = [];
      return;
    }
    if (raw === null) {
      this.items = [];
      return;
    }
    try {
      const { items, problems } = readCollection(JSON.parse(raw));
      this.items = items.slice(0, MAX_ITEMS);
      if (problems.length) {
        this.keepAside(raw);
        const n = problems.length;
        this.say(() => tn("payloads.unreadable_items", n, { key: `${STORAGE_KEY}.unreadable` }));
      }
    } catch (err) {
      this.items = [];
      this.keepAside(raw);
      const why = err instanceof ItemError ? err : null;
      this.say(() => t("payloads.unreadable", { why: why ? why.text : String(err.message), key: `${STORAGE_KEY}.unreadable` }));
    }
  }

  keepAside(raw) {
    try {
      localStorage.setItem(`${STORAGE_KEY}.unreadable`, raw);
    } catch {
      // no room: it stays where it is until the collection is saved
    }
  }

  // store writes the collection to localStorage.
  store() {
    try {
      localStorage.setItem(STORAGE_KEY, collectionJSON(this.items, 0));
      return true;
    } catch (err) {
      this.say(() => t("payloads.not_kept", { why: err.message }), true);
      return false;
    }
  }

  /** Draws the list: the items that pass the filter, each with its shortcut. */
  render() {
    const n = this.items.length;
    setText(this.count, n ? tn("payloads.count", n) : "");
    this.empty.hidden = n > 0;
    this.filterField.hidden = n < FILTER_FROM && !this.filter.value;
    $("payloads-sort").disabled = n < 2;
    const q = this.filter.hidden ? "" : this.filter.value.trim().toLowerCase();
    const focused = document.activeElement && this.list.contains(document.activeElement) ? document.activeElement.dataset.focusKey : "";
    const rows = [];
    this.items.forEach((item, i) => {
      if (q && !`${item.name}\n${item.payload}\n${targetText(item.target)}`.toLowerCase().includes(q)) return;
      rows.push(this.row(item, i));
    });
    if (q && rows.length === 0) rows.push(h("li", { class: "hint payloads-none" }, t("payloads.no_match", { q: this.filter.value.trim() })));
    this.list.replaceChildren(...rows);
    if (focused) this.list.querySelector(`[data-focus-key="${CSS.escape(focused)}"]`)?.focus();
  }

  row(item, i) {
    const key = i < SHORTCUTS ? `Alt+${i + 1}` : "";
    const id = `payload-${i}`;
    const news = this.itemNews.get(item);
    const fk = (what) => `${what}:${i}`;
    const iconBtn = (what, label, text, onclick, disabled = false) =>
      h("button", { type: "button", class: `btn small icon p-${what}`, "aria-label": label, title: label, disabled, dataset: { focusKey: fk(what) }, onclick }, h("span", { "aria-hidden": "true" }, text));
    return h(
      "li",
      { class: `payload${news?.bad ? " bad" : ""}`, "aria-labelledby": id },
      h(
        "button",
        { type: "button", class: "btn small primary p-send", "aria-label": key ? t("payloads.send_key", { name: item.name, key }) : t("payloads.send_name", { name: item.name }), "aria-keyshortcuts": key || undefined, dataset: { focusKey: fk("send") }, onclick: () => this.send(item) },
        t("payloads.send"),
      ),
      h(
        "div",
        { class: "p-main" },
        h(
          "div",
          { class: "p-line" },
          h("button", { type: "button", id, class: "link p-name", title: t("payloads.load_title"), "aria-label": t("payloads.load", { name: item.name }), dataset: { focusKey: fk("name") }, onclick: () => this.loadItem(item) }, item.name),
          key ? h("kbd", { class: "p-key", "aria-hidden": "true" }, key) : null,
        ),
        h(
          "div",
          { class: "p-line p-about" },
          h("span", { class: "p-target" }, targetText(item.target)),
          h("span", { class: "p-fmt" }, formatText(item)),
          h("code", { class: "p-text", title: item.payload }, payloadText(item)),
        ),
        news ? h("p", { class: `p-news${news.bad ? " bad" : ""}` }, msg(news.text)) : null,
      ),
      h(
        "div",
        { class: "p-actions" },
        iconBtn("edit", t("payloads.edit", { name: item.name }), "✎", () => this.openDialog(i)),
        iconBtn("up", t("payloads.up", { name: item.name }), "↑", () => this.move(i, -1), i === 0),
        iconBtn("down", t("payloads.down", { name: item.name }), "↓", () => this.move(i, 1), i === this.items.length - 1),
        iconBtn("delete", t("payloads.delete", { name: item.name }), "✕", () => this.remove(i)),
      ),
    );
  }

  /**
   * say shows news about the collection under it (a function words it in
   * the page's language); null hides it. undoable offers Undo.
   */
  say(words, bad = false, undoable = false) {
    this.newsWords = words;
    this.news.hidden = !words;
    this.news.classList.toggle("bad", !!bad);
    this.undoBtn.hidden = !undoable;
    if (!undoable) this.undo = null;
    if (!words) return;
    setText(this.newsText, msg(words));
    this.announce(msg(words));
  }

  // sayList shows news with a list of lines under it (an import's problems).
  sayList(words, lines) {
    this.say(words, lines.length > 0);
    if (!lines.length) return;
    this.newsText.append(h("ul", { class: "payloads-problems" }, ...lines.map((l) => h("li", {}, l))));
  }

  /** Offers to save what the composer holds (its snapshot()): the dialog opens to name it. */
  saveFromComposer(snap) {
    this.openDialog(-1, { name: "", payload: snap.payload, format: snap.format, eol: snap.eol, target: snap.target });
  }

  // openDialog opens the dialog on item i (-1: a new one, filled from draft).
  openDialog(i, draft) {
    this.editing = i;
    const item = i >= 0 ? this.items[i] : draft;
    const f = this.form.elements;
    f.name.value = item.name;
    f.payload.value = item.payload;
    f.format.value = item.format;
    f.eol.value = item.eol || "";
    f.proto.value = item.target ? item.target.proto : "";
    f.host.value = item.target ? item.target.host : "";
    f.port.value = item.target ? String(item.target.port) : "";
    const heading = $("payload-dialog-h");
    heading.dataset.i18n = i >= 0 ? "payloads.edit_heading" : "payloads.save_heading";
    setText(heading, t(heading.dataset.i18n));
    $("pf-error").hidden = true;
    this.targetFields();
    this.dialog.showPopover();
    f.name.focus();
    f.name.select();
  }

  targetFields() {
    const none = !$("pf-proto").value;
    for (const id of ["pf-host", "pf-port"]) $(id).disabled = none;
    $("pf-target-hint").hidden = !none;
  }

  // dialogItem reads the dialog; it throws an ItemError when it is wrong.
  dialogItem() {
    const f = this.form.elements;
    const x = { name: f.name.value, payload: f.payload.value, format: f.format.value, eol: f.eol.value };
    if (f.proto.value) {
      const port = Number(f.port.value);
      x.target = { proto: f.proto.value, host: f.host.value.trim(), port: f.port.value.trim() === "" ? NaN : port };
    }
    return validateItem(x);
  }

  checkDialog(show) {
    const err = $("pf-error");
    try {
      this.dialogItem();
      err.hidden = true;
      return true;
    } catch (e) {
      if (!(e instanceof ItemError)) throw e;
      if (show || !err.hidden) {
        err.hidden = false;
        setText(err, e.text);
      }
      return false;
    }
  }

  submitDialog() {
    if (!this.checkDialog(true)) {
      this.form.querySelector("[aria-invalid], input, textarea")?.focus();
      return;
    }
    const item = this.dialogItem();
    if (this.editing >= 0) {
      const old = this.items[this.editing];
      if (!old) return;
      this.items[this.editing] = item;
      this.itemNews.delete(old);
      this.store();
      this.say(() => t("payloads.updated", { name: item.name }));
    } else {
      const dup = this.items.find((x) => same(x) === same(item));
      if (dup) {
        this.dialog.hidePopover();
        this.say(() => t("payloads.already", { name: dup.name }));
        return;
      }
      if (this.items.length >= MAX_ITEMS) {
        setText($("pf-error"), t("payloads.full", { max: num(MAX_ITEMS) }));
        $("pf-error").hidden = false;
        return;
      }
      this.items.push(item);
      this.store();
      const i = this.items.length;
      this.say(() => (i <= SHORTCUTS ? t("payloads.saved_key", { name: item.name, key: `Alt+${i}` }) : t("payloads.saved", { name: item.name })));
    }
    this.dialog.hidePopover();
    this.render();
  }

  move(i, by) {
    const j = i + by;
    if (j < 0 || j >= this.items.length) return;
    [this.items[i], this.items[j]] = [this.items[j], this.items[i]];
    this.store();
    this.render();
    const what = by < 0 ? "up" : "down";
    // The focus follows the item, on the same button (or the other one at an end).
    const b = this.list.querySelector(`[data-focus-key="${what}:${j}"]`);
    (b && !b.disabled ? b : this.list.querySelector(`[data-focus-key="${what === "up" ? "down" : "up"}:${j}"]`))?.focus();
    const name = this.items[j].name;
    this.announce(t("payloads.moved", { name, n: j + 1 }));
  }

  remove(i) {
    const item = this.items[i];
    if (!item) return;
    const before = this.items.slice();
    this.items.splice(i, 1);
    this.itemNews.delete(item);
    this.store();
    this.render();
    // The focus goes to the next item's Send, or to the heading when none is left.
    const next = this.list.querySelector(`[data-focus-key="send:${Math.min(i, this.items.length - 1)}"]`);
    if (next) next.focus();
    else {
      const head = $("payloads-h");
      head.tabIndex = -1;
      head.focus();
    }
    this.say(() => t("payloads.deleted", { name: item.name }), false, true);
    this.undo = before;
  }

  sort() {
    const before = this.items.slice();
    this.items.sort((a, b) => a.name.localeCompare(b.name, undefined, { numeric: true, sensitivity: "base" }));
    this.store();
    this.render();
    this.say(() => t("payloads.sorted"), false, true);
    this.undo = before;
  }

  restore() {
    if (!this.undo) return;
    this.items = this.undo;
    this.undo = null;
    this.store();
    this.render();
    this.say(() => t("payloads.restored"));
  }

  loadItem(item) {
    const found = item.target ? this.findSocket(item.target) : null;
    this.io.load(item, found);
    this.announce(t("payloads.loaded", { name: item.name }));
  }

  exportFile() {
    const blob = new Blob([collectionJSON(this.items)], { type: "application/json" });
    const url = URL.createObjectURL(blob);
    const a = h("a", { href: url, download: EXPORT_NAME, hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
    const n = this.items.length;
    this.say(() => tn("payloads.exported", n, { file: EXPORT_NAME }));
  }

  /** Imports a collection file: its valid items are added, the ones already here are not, and the bad ones are named with why. */
  async importFile(file) {
    let doc;
    try {
      doc = JSON.parse(await file.text());
    } catch (err) {
      this.say(() => t("payloads.import_not_json", { file: file.name, why: err.message }), true);
      return;
    }
    let read;
    try {
      read = readCollection(doc);
    } catch (err) {
      if (!(err instanceof ItemError)) throw err;
      this.say(() => t("payloads.import_failed", { file: file.name, why: err.text }), true);
      return;
    }
    const have = new Set(this.items.map(same));
    let added = 0;
    let dups = 0;
    let full = 0;
    for (const item of read.items) {
      const k = same(item);
      if (have.has(k)) {
        dups++;
        continue;
      }
      if (this.items.length >= MAX_ITEMS) {
        full++;
        continue;
      }
      have.add(k);
      this.items.push(item);
      added++;
    }
    if (added) this.store();
    this.render();
    const name = file.name;
    const problems = read.problems.map((p) => (p.name ? t("payloads.bad_item_named", { n: p.index, name: p.name, why: p.error.text }) : t("payloads.bad_item", { n: p.index, why: p.error.text })));
    const words = () => {
      const parts = [tn("payloads.imported", added, { file: name })];
      if (dups) parts.push(tn("payloads.import_dups", dups));
      if (full) parts.push(tn("payloads.import_full", full, { max: num(MAX_ITEMS) }));
      if (problems.length) parts.push(tn("payloads.import_bad", problems.length));
      return parts.join(" ");
    };
    this.sayList(words, problems);
  }

  /**
   * findSocket is an open socket to target that can send now: a TCP
   * connection to host:port; a bound UDP socket of its family (one bound
   * to loopback only for a loopback target). The newest such.
   */
  findSocket(target) {
    const { store } = this.io;
    const hp = joinHostPort(target.host, target.port);
    let found = null;
    for (const s of store.sockets.values()) {
      if (s.epoch !== store.epoch || s.step || !s.canSend) continue;
      if (target.proto === "tcp") {
        if (s.kind === "tcp" && (s.target === hp || s.remote === hp)) found = s;
      } else if (s.kind === "udp" && s.local && localFamily(s.local) === family(target.host)) {
        if (isWildcard(s.local) || (isLoopbackLocal(s.local) && isLoopbackHost(target.host))) found = s;
      }
    }
    return found;
  }

  // socketFor finds or opens the socket to send item from: { sock, dest }.
  async socketFor(item) {
    const g = item.target;
    if (!g) {
      const c = this.io.composerSocket();
      if (!c) throw new Error(t("payloads.no_socket"));
      if (c.sock.kind === "udp" && !c.dest) throw new Error(t("payloads.no_dest"));
      return c;
    }
    const dest = g.proto === "udp" ? { host: g.host, port: g.port } : null;
    const found = this.findSocket(g);
    if (found) return { sock: found, dest };
    const key = g.proto === "tcp" ? `tcp:${joinHostPort(g.host, g.port)}` : `udp:${family(g.host)}`;
    let p = this.opening.get(key);
    if (!p) {
      if (g.proto === "tcp") p = this.io.open("connect", g.host, g.port);
      else {
        const v6 = family(g.host) === "ip6";
        // Hosted mode binds on loopback only.
        const host = this.io.hosted() ? (v6 ? "::1" : "127.0.0.1") : v6 ? "::" : "0.0.0.0";
        p = this.io.open("bind", host, 0);
      }
      this.opening.set(key, p);
      p.finally(() => this.opening.delete(key)).catch(() => {});
    }
    const sock = await p;
    if (!sock) throw new Error(t("payloads.no_socket"));
    return { sock, dest };
  }

  /** Sends item: from a socket open to its target, or one opened for it. */
  async send(item) {
    const tell = (text, bad = false) => {
      this.itemNews.set(item, { text, bad });
      this.render();
    };
    let payload;
    try {
      payload = payloadOf(item);
    } catch (err) {
      tell(() => t("payloads.not_sent", { why: err.message }), true);
      this.announce(t("payloads.not_sent", { why: err.message }));
      return;
    }
    if (item.target && !this.findSocket(item.target)) {
      const to = targetText(item.target);
      tell(() => (item.target.proto === "tcp" ? t("payloads.connecting", { to }) : t("payloads.binding")));
    }
    try {
      const { sock, dest } = await this.socketFor(item);
      const res = await this.io.send(sock, payload, dest);
      const n = res && res.len !== undefined ? res.len : payload.bytes ? payload.bytes.length : 0;
      const id = sock.id;
      tell(() => t("payloads.sent", { bytes: byteCount(n), n: id }));
      this.announce(t("payloads.sent_named", { name: item.name, bytes: byteCount(n), n: id }));
    } catch (err) {
      const why = err.message;
      tell(() => t("payloads.not_sent", { why }), true);
      this.announce(t("payloads.not_sent_named", { name: item.name, why }));
    }
  }
}

/** "TCP 127.0.0.1:7007", "UDP [::1]:9", or "the composer's socket". */
export function targetText(target) {
  if (!target) return t("payloads.no_target");
  return `${target.proto.toUpperCase()} ${joinHostPort(target.host, target.port)}`;
}

// formatText: "Template · CRLF".
function formatText(item) {
  const f = t(FORMAT_NAMES[item.format]);
  return item.eol ? `${f} + ${item.eol.toUpperCase()}` : f;
}

// payloadText is the payload on one line: text shown with escapes, the
// other spellings as typed.
function payloadText(item) {
  const max = 80;
  let s = item.format === "text" ? escapeBytes(new TextEncoder().encode(item.payload.slice(0, max * 2)), max) : item.payload.replace(/\s+/g, " ");
  if (s.length > max) s = `${s.slice(0, max)}…`;
  return s || t("payloads.empty_payload");
}
