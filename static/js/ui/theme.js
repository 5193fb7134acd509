// The theme toggle: system → light → dark → system. The choice is kept in
// localStorage; theme-init.js applies it before the first paint.

import { $ } from "../dom.js";

const KEY = "playground.theme";
const ORDER = ["system", "light", "dark"];

export function themeToggle() {
  const btn = $("theme");
  const root = document.documentElement;
  const show = (t) => {
    btn.textContent = `Theme: ${t}`;
    if (t === "system") delete root.dataset.theme;
    else root.dataset.theme = t;
  };
  let cur = root.dataset.theme || "system";
  show(cur);
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
