// The connection indicator in the header, the banner that says what became
// of the session when the WebSocket dropped (with what the person can do
// about it), and the live region that reads new errors out to screen
// readers. The indicator and the banner are worded again when the language
// changes; what was read out is not.

import { $, h, setText } from "../dom.js";
import { msg, t } from "../i18n.js";

/** "1:43": minutes and seconds left. */
export function clockLeft(ms) {
  const s = Math.max(0, Math.ceil(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

export class Status {
  constructor(onReconnect) {
    this.box = $("conn");
    this.text = $("conn-text");
    this.reconnect = $("reconnect");
    this.retry = $("conn-retry"); // outside the live region: a countdown is not news
    this.banner = $("banner");
    this.bannerText = $("banner-text");
    this.bannerActions = $("banner-actions");
    this.announcer = $("announcer");
    this.watchState = document.getElementById("watch-state");
    this.countdown = 0;
    this.lastSay = 0;
    this.queued = [];
    this.actions = [];
    this.reconnect.addEventListener("click", onReconnect);
    $("banner-close").addEventListener("click", () => (this.banner.hidden = true));
    document.addEventListener("langchange", () => {
      if (this.last) this.show(this.last);
      setText(this.bannerText, msg(this.told));
      this.drawActions();
    });
  }

  /** Shows the connection's state (see Connection.onStatus). */
  show(s) {
    this.draw(s);
    // A watch page says it in its banner too.
    if (this.watchState) setText(this.watchState, s.state === "open" ? t("watch.live") : this.text.textContent);
  }

  draw(s) {
    this.last = s;
    clearInterval(this.countdown);
    this.box.dataset.state = s.state;
    this.box.dataset.role = s.role || "owner";
    this.reconnect.hidden = s.state !== "waiting";
    const away = s.graceUntil > 0 && (s.state === "waiting" || s.state === "connecting");
    this.retry.hidden = s.state !== "waiting" && !away;
    if (s.state === "open") {
      const session = s.session.slice(0, 8);
      setText(this.text, s.role === "watcher" ? t("status.watching", { session }) : t("status.connected", { session }));
      this.box.title = t("status.session", { session: s.session });
      return;
    }
    if (s.state === "connecting") {
      if (away) setText(this.text, t("status.resuming", { n: s.attempt + 1 }));
      else setText(this.text, s.attempt ? t("status.reconnecting", { n: s.attempt + 1 }) : t("status.connecting"));
    } else if (s.state === "ended") {
      setText(this.text, s.kind === "taken" ? t("status.taken") : s.kind === "none" ? t("status.not_connected") : s.code === 4004 ? t("status.link_closed") : t("status.ended"));
      this.box.title = s.reason || "";
      return;
    } else {
      setText(this.text, away ? t("status.away") : s.code ? t("status.disconnected_code", { code: s.code }) : t("status.disconnected"));
    }
    // The retry's countdown and, while an owner's page is away, how long
    // the server keeps its sockets open.
    const until = s.state === "waiting" ? (s.until ??= Date.now() + s.retryInMs) : 0; // kept, so a new language does not restart the count
    const tick = () => {
      const parts = [];
      if (away) {
        const left = s.graceUntil - Date.now();
        parts.push(left > 0 ? t("status.grace", { left: clockLeft(left) }) : t("status.grace_over"));
      }
      if (until) parts.push(t("status.retrying", { s: Math.max(0, Math.ceil((until - Date.now()) / 1000)) }));
      setText(this.retry, parts.join(" · "));
    };
    tick();
    this.countdown = setInterval(tick, 250);
  }

  /**
   * A message that stays until dismissed or replaced: a string, or a
   * function that words it (msg in i18n.js). actions are buttons shown
   * with it: { key (the message of its label), run, primary }. final: it
   * says the session is over (by default when there is something to do).
   */
  tell(text, actions = [], final = actions.length > 0) {
    this.told = text;
    this.actions = actions;
    setText(this.bannerText, msg(text));
    this.drawActions();
    this.banner.hidden = false;
    this.banner.dataset.final = String(final);
  }

  drawActions() {
    this.bannerActions.replaceChildren(
      ...this.actions.map((a) =>
        h("button", {
          type: "button",
          class: `btn small${a.primary ? " primary" : ""}`,
          text: t(a.key),
          onclick: () => a.run(),
        }),
      ),
    );
    this.bannerActions.hidden = this.actions.length === 0;
  }

  /** Reads a short message out to screen readers; bursts are merged, at most one a second. */
  say(text) {
    this.queued.push(text);
    const now = Date.now();
    const wait = Math.max(0, this.lastSay + 1000 - now);
    if (this.queued.length > 1) return;
    setTimeout(() => {
      const q = this.queued;
      this.queued = [];
      this.lastSay = Date.now();
      // Emptied first, so that the same message twice is read twice.
      this.announcer.textContent = "";
      setTimeout(() => (this.announcer.textContent = q.length === 1 ? q[0] : t("status.updates", { n: q.length, last: q[q.length - 1] })), 50);
    }, wait);
  }
}
