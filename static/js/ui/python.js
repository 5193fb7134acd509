// The Python tab: the session's calls as a script of Python's socket
// module (static/js/python.js), growing as the person works, with a copy
// button. It redraws at most once a frame, and only while it is shown.

import { $, copyText, setText } from "../dom.js";

export class PythonView {
  /** script: a PythonScript; announce(text) tells screen readers. */
  constructor(script, announce) {
    this.script = script;
    this.announce = announce;
    this.code = $("py-code");
    this.count = $("py-count");
    this.panel = $("python-view");
    this.shown = -1; // the script version on screen
    $("py-copy").addEventListener("click", () => this.copy());
  }

  /** Draws the script if it changed and the tab is shown. */
  render() {
    if (this.panel.hidden || this.shown === this.script.version) return;
    this.shown = this.script.version;
    const box = this.code;
    const atBottom = box.scrollTop + box.clientHeight >= box.scrollHeight - 4;
    const text = this.script.text();
    setText(box, text);
    const n = this.script.lines.length;
    setText(this.count, n ? `${n.toLocaleString("en-US")} ${n === 1 ? "line" : "lines"}` : "");
    if (atBottom) box.scrollTop = box.scrollHeight;
  }

  async copy() {
    try {
      await copyText(this.script.text());
      this.announce("Copied the Python script");
    } catch (err) {
      this.announce(`Could not copy: ${err.message}`);
    }
  }
}
