// The connection indicator in the header, the banner that says what became
// of the session when the WebSocket dropped, and the live region that reads
// new errors out to screen readers. The indicator and the banner are worded
// again when the language changes; what was read out is not.

import { $, setText } from "../dom.js";
import { msg, t } from "../i18n.js";

export class Status {
  constructor(onReconnect) {
    this.box = $("conn");
    this.text = $("conn-text");
    this.reconnect = $("reconnect");
    this.retry = $("conn-retry"); // outside the live region: a countdown is not news
    this.banner = $("banner");
    this.bannerText = $("banner-text");
    this.announcer = $("announcer");
    this.countdown = 0;
    this.lastSay = 0;
    this.queued = [];
    this.reconnect.addEventListener("click", onReconnect);
    $("banner-close").addEventListener("click", () => (this.banner.hidden = true));
    document.addEventListener("langchange", () => {
      if (this.last) this.show(this.last);
      setText(this.bannerText, msg(this.told));
    });
  }

  /** Shows the connection's state (see Connection.onStatus). */
  show(s) {
    this.last = s;
    clearInterval(this.countdown);
    this.box.dataset.state = s.state;
    this.reconnect.hidden = s.state !== "waiting" && s.state !== "ended";
    this.retry.hidden = s.state !== "waiting";
    if (s.state === "open") {
      setText(this.text, t("status.connected", { session: s.session.slice(0, 8) }));
      this.box.title = t("status.session", { session: s.session });
    } else if (s.state === "connecting") {
      setText(this.text, s.attempt ? t("status.reconnecting", { n: s.attempt + 1 }) : t("status.connecting"));
    } else if (s.state === "ended") {
      setText(this.text, t("status.ended"));
      this.box.title = s.reason || "";
    } else {
      setText(this.text, s.code ? t("status.disconnected_code", { code: s.code }) : t("status.disconnected"));
      const until = (s.until ??= Date.now() + s.retryInMs); // kept, so a new language does not restart the count
      const tick = () => {
        const left = Math.max(0, Math.ceil((until - Date.now()) / 1000));
        setText(this.retry, t("status.retrying", { s: left }));
      };
      tick();
      this.countdown = setInterval(tick, 250);
    }
  }

  /** A message that stays until dismissed or replaced: a string, or a function that words it (msg in i18n.js). */
  tell(text) {
    this.told = text;
    setText(this.bannerText, msg(text));
    this.banner.hidden = false;
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
