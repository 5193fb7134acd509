// Tabs: the WAI-ARIA tabs pattern for the traffic column's views.

/**
 * Tabs makes a role=tablist work as WAI-ARIA's tabs pattern: click or
 * arrow keys choose a tab; its panel shows, the others hide. onShow(id)
 * runs after a tab's panel is shown.
 */
export class Tabs {
  constructor(list, onShow) {
    this.tabs = [...list.querySelectorAll('[role="tab"]')];
    this.onShow = onShow;
    for (const t of this.tabs) {
      t.addEventListener("click", () => this.select(t));
      t.addEventListener("keydown", (e) => {
        const i = this.tabs.indexOf(t);
        let j = -1;
        if (e.key === "ArrowRight") j = (i + 1) % this.tabs.length;
        else if (e.key === "ArrowLeft") j = (i - 1 + this.tabs.length) % this.tabs.length;
        else if (e.key === "Home") j = 0;
        else if (e.key === "End") j = this.tabs.length - 1;
        if (j < 0) return;
        e.preventDefault();
        this.select(this.tabs[j]);
        this.tabs[j].focus();
      });
    }
  }

  select(tab) {
    for (const t of this.tabs) {
      const on = t === tab;
      t.setAttribute("aria-selected", String(on));
      t.tabIndex = on ? 0 : -1;
      document.getElementById(t.getAttribute("aria-controls")).hidden = !on;
    }
    this.onShow(tab.id);
  }
}
