// "Open a socket": TCP client, TCP server, UDP socket or bad-network proxy
// on a host and port, with defaults that work at once, or a socket in step
// mode (socket() alone: its card then has the calls); and the built-in
// services' one-click buttons.

import { $, setText } from "../dom.js";
import { msg, t } from "../i18n.js";
import { splitAddr } from "../protocol.js";
import { TLSOption } from "./tlsinfo.js";

// Each kind's submit button and hint.
const KINDS = {
  connect: { button: () => t("open.connect"), hint: () => t("open.hint.connect") },
  listen: { button: () => t("open.listen"), hint: () => t("open.hint.listen") },
  bind: { button: () => t("open.bind"), hint: () => t("open.hint.bind") },
  proxy: { button: () => t("open.proxy"), hint: () => t("open.hint.proxy") },
  socket: { button: () => t("open.socket"), hint: () => t("open.hint.socket") },
};

export class Opener {
  /**
   * open(op, host, port, extra) makes the request and returns its promise;
   * extra is { proto, target_host, target_port } for a proxy.
   */
  constructor(open, services) {
    this.open = open;
    this.form = $("open-form");
    this.host = $("open-host");
    this.port = $("open-port");
    this.hostLabel = $("open-host-label");
    this.portLabel = $("open-port-label");
    this.proxyFields = $("proxy-fields");
    this.proto = $("open-proto");
    this.targetHost = $("open-target-host");
    this.targetPort = $("open-target-port");
    this.submit = $("open-submit");
    this.hint = $("open-hint");
    this.type = $("open-type");
    this.family = $("open-family");
    this.stepFields = [...this.form.querySelectorAll(".step-field")];
    this.addrFields = [...this.form.querySelectorAll(".addr-field")];
    this.error = $("open-error");
    this.tls = new TLSOption(this.form, this.host); // a connect's TLS option (SNI, verify, ALPN)
    const echo = (proto) => services.find((s) => s.proto === proto && s.name === "echo") || services.find((s) => s.proto === proto);
    this.tcpEcho = echo("tcp");
    this.udpEcho = echo("udp");
    this.targetTouched = false; // the person typed a target: switching protocol keeps it
    this.remembered = {}; // kind -> { host, port } the person typed
    this.kind = "connect";
    for (const r of this.form.elements.kind) r.addEventListener("change", () => this.setKind(this.form.elements.kind.value));
    this.form.addEventListener("submit", (e) => {
      e.preventDefault();
      this.go();
    });
    this.form.addEventListener("input", () => (this.error.hidden = true));
    for (const f of [this.targetHost, this.targetPort]) {
      f.addEventListener("input", () => {
        this.targetTouched = true;
        this.setHint();
      });
    }
    this.proto.addEventListener("change", () => {
      if (!this.targetTouched) this.defaultTarget();
      this.setHint();
    });
    this.defaultTarget();
    this.setKind(this.form.elements.kind.value, true);
    document.addEventListener("langchange", () => {
      this.label();
      if (!this.error.hidden) setText(this.error, msg(this.errorText));
    });
  }

  // defaultTarget points the proxy at the echo service of its protocol.
  defaultTarget() {
    const svc = this.proto.value === "udp" ? this.udpEcho : this.tcpEcho;
    const a = svc ? splitAddr(svc.addr) : null;
    this.targetHost.value = a ? a.host : "127.0.0.1";
    this.targetPort.value = a ? String(a.port) : "";
  }

  setKind(kind, first = false) {
    if (!first && this.kind !== "socket") this.remembered[this.kind] = { host: this.host.value, port: this.port.value };
    this.kind = kind;
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
    const proxy = kind === "proxy";
    this.proxyFields.hidden = !proxy;
    const step = kind === "socket";
    for (const f of this.stepFields) f.hidden = !step;
    for (const f of this.addrFields) f.hidden = step;
    this.submit.parentElement.classList.toggle("step-kind", step);
    this.label();
  }

  // label words the form for its kind: the button, the address labels, the hint.
  label() {
    const proxy = this.kind === "proxy";
    setText(this.submit, KINDS[this.kind].button());
    setText(this.hostLabel, proxy ? t("open.listen_host") : t("open.host"));
    setText(this.portLabel, proxy ? t("open.listen_port") : t("open.port"));
    this.setHint();
  }

  setHint() {
    let text = KINDS[this.kind].hint();
    if (this.kind === "connect" && this.tcpEcho && this.port.value === String(splitAddr(this.tcpEcho.addr).port)) {
      text += ` ${t("open.hint.default_echo")}`;
    } else if (this.kind === "proxy" && !this.targetTouched && (this.proto.value === "udp" ? this.udpEcho : this.tcpEcho)) {
      text += ` ${t("open.hint.default_target", { proto: this.proto.value.toUpperCase() })}`;
    }
    setText(this.hint, text);
  }

  async go() {
    if (this.kind === "socket") {
      this.error.hidden = true;
      try {
        await this.open("socket", "", 0, { type: this.type.value, family: this.family.value });
      } catch (err) {
        if (!err.event || !err.event.sock) this.fail(err.message);
      }
      return;
    }
    const host = this.host.value.trim();
    const port = Number(this.port.value);
    const min = this.kind === "connect" ? 1 : 0;
    if (!host) return this.fail(() => t("open.need_host"), this.host);
    if (!Number.isInteger(port) || port < min || port > 65535 || this.port.value.trim() === "") {
      return this.fail(() => t("open.bad_port", { min }), this.port);
    }
    let extra;
    if (this.kind === "proxy") {
      const th = this.targetHost.value.trim();
      const tp = Number(this.targetPort.value);
      if (!th) return this.fail(() => t("open.need_target_host"), this.targetHost);
      if (!Number.isInteger(tp) || tp < 1 || tp > 65535 || this.targetPort.value.trim() === "") {
        return this.fail(() => t("open.bad_target_port"), this.targetPort);
      }
      extra = { proto: this.proto.value, target_host: th, target_port: tp };
    }
    if (this.kind === "connect") {
      const { tls, problem, field } = this.tls.read();
      if (problem) return this.fail(problem, field);
      if (tls) extra = { tls };
    }
    this.error.hidden = true;
    try {
      await this.open(this.kind, host, port, extra);
    } catch (err) {
      // A failure with a socket shows on its card; one without (a limit) shows here.
      if (!err.event || !err.event.sock) this.fail(err.message);
    }
  }

  /** Shows why nothing was opened: message is a string or a function that words it (msg in i18n.js). */
  fail(message, field) {
    this.errorText = message;
    setText(this.error, msg(message));
    this.error.hidden = false;
    if (field) {
      field.setAttribute("aria-invalid", "true");
      field.focus();
      field.addEventListener("input", () => field.removeAttribute("aria-invalid"), { once: true });
    }
  }
}
