// The theme toggle: system → light → dark → system. The choice is kept in
// localStorage; theme-init.js applies it before the first paint. The
// button says the theme in the page's language.

import { $ } from "../dom.js";
import { t } from "../i18n.js";

// The button's text for each theme.
const NAMES = {
  system: () => t("theme.system"),
  light: () => t("theme.light"),
  dark: () => t("theme.dark"),
};

const KEY = "playground.theme";
const ORDER = ["system", "light", "dark"];

export function themeToggle() {
  const btn = $("theme");
  const root = document.documentElement;
  const show = (theme) => {
    btn.textContent = NAMES[theme]();
    if (theme === "system") delete root.dataset.theme;
    else root.dataset.theme = theme;
  };
  let cur = root.dataset.theme || "system";
  show(cur);
  document.addEventListener("langchange", () => show(cur));
  btn.addEventListener("click", () => {
    cur = ORDER[(ORDER.indexOf(cur) + 1) % ORDER.length];
    try {
      if (cur === "system") localStorage.removeItem(KEY);
      else localStorage.setItem(KEY, cur);
    } catch {
      // not kept, but applied
    }
    show(cur);
  });
}
