// The concept guide: each idea of the lessons in a few sentences, in the
// page's language. Pointing at a term (hover, or keyboard focus) lights up
// the live part of the page that shows it; pressing it keeps the light on
// and scrolls there. Each concept links to the lessons that practise it.

import { h, setText } from "../dom.js";
import { has, t, tn } from "../i18n.js";

export class Concepts {
  /**
   * ids: the concepts in order; lessonsOf(id): the ids of the lessons that
   * use a concept; openLesson(id); highlighter (learn-highlight.js); title(id)
   * and numbered(id) name a lesson.
   */
  constructor({ ids, lessonsOf, openLesson, highlighter, numbered }) {
    this.ids = ids.filter((id) => has(`concept.${id}.term`));
    this.lessonsOf = lessonsOf;
    this.openLesson = openLesson;
    this.hl = highlighter;
    this.numbered = numbered;
    this.items = new Map(); // id -> { li, term, where }
    this.el = h("div", { class: "concepts" });
    this.build();
  }

  build() {
    this.items.clear();
    const list = h("ul", { class: "concept-list" });
    for (const id of this.ids) {
      const textId = `concept-${id}-text`;
      const term = h("button", { type: "button", id: `concept-${id}-term`, class: "concept-term", "aria-pressed": "false", "aria-describedby": textId, dataset: { concept: id }, text: t(`concept.${id}.term`) });
      const where = h("p", { class: "concept-where", hidden: true });
      const lessons = this.lessonsOf(id);
      const links = lessons.length
        ? h(
            "div",
            { class: "concept-lessons" },
            h("p", { id: `concept-${id}-lessons`, text: t("learn.concept.lessons") }),
            h("ul", { "aria-labelledby": `concept-${id}-lessons` }, ...lessons.map((l) => h("li", {}, h("button", { type: "button", class: "link", onclick: () => this.openLesson(l), text: this.numbered(l) })))),
          )
        : null;
      const li = h("li", { class: "concept", id: `concept-${id}`, "aria-labelledby": `concept-${id}-term` }, h("h4", {}, term), h("p", { class: "concept-text", id: textId, text: t(`concept.${id}.text`) }), where, links);
      const on = () => this.light(id);
      const off = () => this.unlight(id);
      term.addEventListener("mouseenter", on);
      term.addEventListener("focus", on);
      term.addEventListener("mouseleave", off);
      term.addEventListener("blur", off);
      term.addEventListener("click", () => this.pin(id));
      list.append(li);
      this.items.set(id, { li, term, where });
    }
    this.el.replaceChildren(h("p", { class: "hint concept-intro", text: t("learn.concept.intro") }), list);
  }

  // light shows where concept id is on the page, and says how much lit up.
  light(id) {
    const lit = this.hl.show(id);
    const it = this.items.get(id);
    setText(it.where, lit.length ? tn("learn.concept.lit", lit.length) : t(has(`concept.${id}.none`) ? `concept.${id}.none` : "learn.concept.none"));
    it.where.hidden = false;
    it.li.classList.add("lit");
    return lit;
  }

  unlight(id) {
    const it = this.items.get(id);
    if (this.hl.pinned === id) return;
    it.where.hidden = true;
    it.li.classList.remove("lit");
    this.hl.clear();
  }

  pin(id) {
    const was = this.hl.pinned;
    if (was && was !== id) {
      const w = this.items.get(was);
      w.term.setAttribute("aria-pressed", "false");
      w.where.hidden = true;
      w.li.classList.remove("lit");
    }
    const on = this.hl.pin(id);
    this.items.get(id).term.setAttribute("aria-pressed", String(on));
    const lit = on ? this.light(id) : [];
    if (lit.length) lit[0].scrollIntoView({ block: "center", behavior: "smooth" });
  }

  /** Scrolls to concept id and lights it, as a link from a lesson does. */
  focus(id) {
    const it = this.items.get(id);
    if (!it) return;
    it.li.scrollIntoView({ block: "nearest" });
    it.term.focus(); // lights it
  }

  /** The page changed: the lit parts may have come or gone. */
  refresh() {
    const id = this.hl.id;
    if (!id) return;
    const lit = this.hl.find(id);
    if (lit.length !== this.hl.lit.length || lit.some((el, i) => el !== this.hl.lit[i])) this.light(id);
  }

  relang() {
    const pinned = this.hl.pinned;
    this.hl.pinned = "";
    this.hl.clear();
    this.build();
    if (pinned) this.pin(pinned);
  }
}
