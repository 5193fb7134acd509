// "Open a socket": TCP client, TCP server or UDP socket on a host and port,
// with defaults that work at once, and the built-in services' one-click
// buttons.

import { $, setText } from "../dom.js";
import { splitAddr } from "../protocol.js";

const KINDS = {
  connect: { button: "Connect", hint: "Connects to the address: the server there must be listening." },
  listen: { button: "Listen", hint: "Port 0 lets the kernel choose a free port; the card shows which." },
  bind: { button: "Bind", hint: "Port 0 lets the kernel choose a free port. A UDP socket sends datagrams to any address." },
};

export class Opener {
  /** open(op, host, port) makes the request and returns its promise. */
  constructor(open, services) {
    this.open = open;
    this.form = $("open-form");
    this.host = $("open-host");
    this.port = $("open-port");
    this.submit = $("open-submit");
    this.hint = $("open-hint");
    this.error = $("open-error");
    this.tcpEcho = services.find((s) => s.proto === "tcp");
    this.remembered = {}; // kind -> { host, port } the person typed
    this.kind = "connect";
    for (const r of this.form.elements.kind) r.addEventListener("change", () => this.setKind(this.form.elements.kind.value));
    this.form.addEventListener("submit", (e) => {
      e.preventDefault();
      this.go();
    });
    this.form.addEventListener("input", () => (this.error.hidden = true));
    this.setKind(this.form.elements.kind.value, true);
  }

  setKind(kind, first = false) {
    if (!first) this.remembered[this.kind] = { host: this.host.value, port: this.port.value };
    this.kind = kind;
    const k = KINDS[kind];
    setText(this.submit, k.button);
    const r = this.remembered[kind];
    if (r) {
      this.host.value = r.host;
      this.port.value = r.port;
    } else if (kind === "connect") {
      const echo = this.tcpEcho ? splitAddr(this.tcpEcho.addr) : null;
      this.host.value = echo ? echo.host : "127.0.0.1";
      this.port.value = echo ? String(echo.port) : "";
    } else {
      this.host.value = "127.0.0.1";
      this.port.value = "0";
    }
    this.port.min = kind === "connect" ? "1" : "0";
    const echoHint = kind === "connect" && this.tcpEcho && this.port.value === String(splitAddr(this.tcpEcho.addr).port) ? " The default is the TCP echo service, which sends back every byte." : "";
    setText(this.hint, k.hint + echoHint);
  }

  async go() {
    const host = this.host.value.trim();
    const port = Number(this.port.value);
    const min = this.kind === "connect" ? 1 : 0;
    if (!host) return this.fail("Enter a host: an IP address such as 127.0.0.1 or ::1, or a name such as localhost.", this.host);
    if (!Number.isInteger(port) || port < min || port > 65535 || this.port.value.trim() === "") {
      return this.fail(`The port must be a whole number from ${min} to 65535.`, this.port);
    }
    this.error.hidden = true;
    try {
      await this.open(this.kind, host, port);
    } catch (err) {
      // A failure with a socket shows on its card; one without (a limit) shows here.
      if (!err.event || !err.event.sock) this.fail(err.message);
    }
  }

  fail(message, field) {
    setText(this.error, message);
    this.error.hidden = false;
    if (field) {
      field.setAttribute("aria-invalid", "true");
      field.focus();
      field.addEventListener("input", () => field.removeAttribute("aria-invalid"), { once: true });
    }
  }
}
