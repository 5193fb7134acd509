// The connection indicator in the header, the banner that says what became
// of the session when the WebSocket dropped, and the live region that reads
// new errors out to screen readers.

import { $, setText } from "../dom.js";

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
  }

  /** Shows the connection's state (see Connection.onStatus). */
  show(s) {
    clearInterval(this.countdown);
    this.box.dataset.state = s.state;
    this.reconnect.hidden = s.state !== "waiting" && s.state !== "ended";
    this.retry.hidden = s.state !== "waiting";
    if (s.state === "open") {
      setText(this.text, `Connected · session ${s.session.slice(0, 8)}`);
      this.box.title = `session ${s.session}`;
    } else if (s.state === "connecting") {
      setText(this.text, s.attempt ? `Reconnecting (attempt ${s.attempt + 1})…` : "Connecting to the server…");
    } else if (s.state === "ended") {
      setText(this.text, "Session ended");
      this.box.title = s.reason || "";
    } else {
      setText(this.text, `Disconnected${s.code ? ` (${s.code})` : ""}`);
      const until = Date.now() + s.retryInMs;
      const tick = () => {
        const left = Math.max(0, Math.ceil((until - Date.now()) / 1000));
        setText(this.retry, `retrying in ${left} s`);
      };
      tick();
      this.countdown = setInterval(tick, 250);
    }
  }

  /** A message that stays until dismissed or replaced. */
  tell(text) {
    setText(this.bannerText, text);
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
      setTimeout(() => (this.announcer.textContent = q.length === 1 ? q[0] : `${q.length} updates. Last: ${q[q.length - 1]}`), 50);
    }, wait);
  }
}
