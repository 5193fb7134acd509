// Multicast and broadcast (docs/protocol.md §16.5) on a UDP socket's card,
// folded under "Multicast and broadcast": join a group on an interface (the
// interfaces are the hello's), the groups joined with a Leave each, and the
// sending options — SO_BROADCAST, IP_MULTICAST_TTL, IP_MULTICAST_LOOP and
// IP_MULTICAST_IF — each one setsockopt. In hosted mode the server refuses
// all of it: the controls are shown disabled, with the reason.

import { h, setText } from "../dom.js";
import { msg, t } from "../i18n.js";
import { disclosure } from "./tlsinfo.js";

// isGroup says whether text is a multicast address of the family: IPv4
// 224.0.0.0/4 (224–239.x.x.x), IPv6 ff00::/8.
function isGroup(text, v6) {
  if (v6) return /^ff[0-9a-f]{2}:[0-9a-f:]*$/i.test(text);
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  return !!m && m.slice(1).every((x) => Number(x) <= 255) && Number(m[1]) >= 224 && Number(m[1]) <= 239;
}

// v6 says whether a socket is IPv6, from its address ("[::1]:5000").
const isV6 = (s) => (s.local || "").startsWith("[") || s.family === "ip6";

// hosted says whether the session runs in hosted mode, which refuses multicast and broadcast.
const hosted = (cards) => !!(cards.store.hello && cards.store.hello.mode === "hosted");

/** Builds the multicast part of a UDP card. cards.actions.call(s, header) makes a request. */
export function createMulticast(cards, s, uid) {
  const refs = { ifaceSig: "", groupsSig: "" };
  const id = (x) => `mc-${x}-${uid}`;
  const call = (header) => cards.actions.call(s, header);

  // Join: a group, an interface, the button.
  refs.group = h("input", { type: "text", id: id("group"), autocomplete: "off", spellcheck: "false", class: "mc-group" });
  refs.iface = h("select", { id: id("iface") });
  refs.join = h("button", { type: "submit", class: "btn small", i18n: "mcast.join" });
  refs.problem = h("p", { class: "error-text mc-problem", role: "alert", hidden: true });
  refs.joinForm = h(
    "form",
    { class: "mc-join", novalidate: true, i18nAttr: { "aria-label": "mcast.join_label" } },
    h("label", { class: "field" }, h("span", { i18n: "mcast.group" }), refs.group),
    h("label", { class: "field" }, h("span", { i18n: "mcast.iface" }), refs.iface),
    refs.join,
  );
  refs.joinForm.addEventListener("submit", (e) => {
    e.preventDefault();
    const group = refs.group.value.trim();
    if (!isGroup(group, isV6(s))) {
      refs.problemText = () => t(isV6(s) ? "mcast.bad_group6" : "mcast.bad_group4", { group });
      setText(refs.problem, msg(refs.problemText));
      refs.problem.hidden = false;
      refs.group.setAttribute("aria-invalid", "true");
      refs.group.focus();
      return;
    }
    const header = { op: "join", group };
    if (refs.iface.value) header.iface = refs.iface.value;
    call(header);
  });
  refs.group.addEventListener("input", () => {
    refs.problem.hidden = true;
    refs.problemText = null;
    refs.group.removeAttribute("aria-invalid");
  });

  // The groups joined.
  refs.groupsH = h("h4", { id: id("groups-h"), i18n: "mcast.groups" });
  refs.none = h("p", { class: "hint", i18n: "mcast.none" });
  refs.groups = h("ul", { class: "mc-groups", "aria-labelledby": id("groups-h") });

  // The sending options: a grid of name | control, each name the label of
  // its control, what it does as the control's description.
  const hint = (key, x) => h("span", { class: "hint mc-hint", id: id(`${x}-hint`), i18n: key });
  const name = (x, text) => h("label", { for: id(x), class: "mc-name" }, h("code", { text }));
  refs.broadcast = h("input", { type: "checkbox", id: id("broadcast"), "aria-describedby": id("broadcast-hint") });
  refs.broadcast.addEventListener("change", () => call({ op: "setsockopt", option: "SO_BROADCAST", value: refs.broadcast.checked ? 1 : 0 }));
  refs.loop = h("input", { type: "checkbox", id: id("loop"), checked: true, "aria-describedby": id("loop-hint") });
  refs.loop.addEventListener("change", () => call({ op: "setsockopt", option: "IP_MULTICAST_LOOP", value: refs.loop.checked ? 1 : 0 }));
  refs.ttl = h("input", { type: "number", id: id("ttl"), min: "0", max: "255", value: "1", class: "num", inputmode: "numeric", "aria-describedby": id("ttl-hint") });
  refs.ttlSet = h("button", { type: "submit", class: "btn small", i18n: "mcast.set", i18nAttr: { "aria-label": "mcast.set_ttl" } });
  refs.ttlForm = h("form", { class: "mc-opt", novalidate: true }, refs.ttl, refs.ttlSet);
  refs.ttlForm.addEventListener("submit", (e) => {
    e.preventDefault();
    const n = Number(refs.ttl.value);
    if (refs.ttl.value.trim() === "" || !Number.isInteger(n) || n < 0 || n > 255) {
      refs.problemText = () => t("mcast.bad_ttl");
      setText(refs.problem, msg(refs.problemText));
      refs.problem.hidden = false;
      refs.ttl.setAttribute("aria-invalid", "true");
      refs.ttl.focus();
      return;
    }
    refs.ttl.removeAttribute("aria-invalid");
    refs.problem.hidden = true;
    call({ op: "setsockopt", option: "IP_MULTICAST_TTL", value: n });
  });
  refs.ifOut = h("select", { id: id("if"), "aria-describedby": id("if-hint") });
  refs.ifSet = h("button", { type: "submit", class: "btn small", i18n: "mcast.set", i18nAttr: { "aria-label": "mcast.set_if" } });
  refs.ifForm = h("form", { class: "mc-opt", novalidate: true }, refs.ifOut, refs.ifSet);
  refs.ifForm.addEventListener("submit", (e) => {
    e.preventDefault();
    call({ op: "setsockopt", option: "IP_MULTICAST_IF", iface: refs.ifOut.value });
  });
  const bName = name("broadcast", "SO_BROADCAST");
  const tName = name("ttl", "IP_MULTICAST_TTL");
  const lName = name("loop", "IP_MULTICAST_LOOP");
  const iName = name("if", "IP_MULTICAST_IF");
  refs.ttlName = tName.firstChild;
  refs.loopName = lName.firstChild;
  refs.ifName = iName.firstChild;
  const cell = (titleKey, ...kids) => h("div", { class: kids[0].type === "checkbox" ? "mc-cell check" : "mc-cell", i18nAttr: { title: titleKey } }, ...kids);
  refs.opts = h(
    "div",
    { class: "mc-opts", role: "group", "aria-labelledby": id("sending-h") },
    h("h4", { id: id("sending-h"), i18n: "mcast.sending" }),
    bName,
    cell("mcast.broadcast_title", refs.broadcast, hint("mcast.broadcast_hint", "broadcast")),
    tName,
    cell("mcast.ttl_title", refs.ttlForm, hint("mcast.ttl_hint", "ttl")),
    lName,
    cell("mcast.loop_title", refs.loop, hint("mcast.loop_hint", "loop")),
    iName,
    cell("mcast.if_title", refs.ifForm, hint("mcast.if_hint", "if")),
  );
  refs.hosted = h("p", { class: "mc-hosted", hidden: true, i18n: "mcast.hosted" });
  refs.summary = h("span", { class: "hint mc-count" });
  refs.controls = h("fieldset", { class: "mc-controls" }, h("legend", { class: "sr-only", i18n: "mcast.heading" }), refs.joinForm, refs.problem, refs.opts);
  refs.box = disclosure(h("span", {}, h("span", { i18n: "mcast.heading" }), " ", refs.summary), h("div", { class: "mc-body" }, refs.hosted, refs.groupsH, refs.none, refs.groups, refs.controls), `mc-${uid}`, "mcast");
  refs.box.hidden = true;
  refs.leave = (g) => {
    const header = { op: "leave", group: g.group };
    if (g.iface) header.iface = g.iface;
    call(header);
  };
  return refs;
}

/** Brings the multicast part of a card up to date. */
export function updateMulticast(cards, s, refs) {
  const show = s.kind === "udp" && (!s.final || (s.groups && s.groups.size > 0)) && s.state !== "opening" && s.state !== "";
  refs.box.hidden = !show;
  if (!show) return;
  const v6 = isV6(s);
  const live = !s.final && s.epoch === cards.store.epoch;
  const refused = hosted(cards);
  refs.hosted.hidden = !refused;
  refs.controls.disabled = refused || !live;
  refs.controls.hidden = !live;
  refs.group.placeholder = v6 ? "ff12::1234" : "239.255.0.1";
  // IPv6 sockets take the same requests; the kernel's options are IPv6's.
  setText(refs.ttlName, v6 ? "IPV6_MULTICAST_HOPS" : "IP_MULTICAST_TTL");
  setText(refs.loopName, v6 ? "IPV6_MULTICAST_LOOP" : "IP_MULTICAST_LOOP");
  setText(refs.ifName, v6 ? "IPV6_MULTICAST_IF" : "IP_MULTICAST_IF");

  // The interfaces, from the hello: (the kernel's choice), then each one up.
  const ifaces = ((cards.store.hello && cards.store.hello.interfaces) || []).filter((i) => !i.flags || i.flags.includes("up"));
  const sig = `${ifaces.map((i) => `${i.name} ${(i.addrs || []).join(",")}`).join(";")}|${t("mcast.kernel_choice")}`;
  if (sig !== refs.ifaceSig) {
    refs.ifaceSig = sig;
    for (const sel of [refs.iface, refs.ifOut]) {
      const cur = sel.value;
      sel.replaceChildren(h("option", { value: "" }, t("mcast.kernel_choice")), ...ifaces.map((i) => h("option", { value: i.name }, ifaceLabel(i))));
      sel.value = cur;
    }
  }

  // What the socket's options are now, as the server read them back.
  const o = s.options;
  if (o.SO_BROADCAST !== undefined) refs.broadcast.checked = o.SO_BROADCAST !== 0;
  if (o.IP_MULTICAST_LOOP !== undefined) refs.loop.checked = o.IP_MULTICAST_LOOP !== 0;
  if (o.IP_MULTICAST_TTL !== undefined && document.activeElement !== refs.ttl && refs.seenTTL !== o.IP_MULTICAST_TTL) {
    refs.seenTTL = o.IP_MULTICAST_TTL;
    refs.ttl.value = String(o.IP_MULTICAST_TTL);
  }
  if (o.IP_MULTICAST_IF !== undefined && refs.seenIF !== o.IP_MULTICAST_IF) {
    refs.seenIF = o.IP_MULTICAST_IF;
    refs.ifOut.value = o.IP_MULTICAST_IF;
  }

  const groups = s.groups ? [...s.groups.values()] : [];
  setText(refs.summary, groups.length ? t("mcast.count", { n: groups.length }) : "");
  refs.none.hidden = groups.length > 0;
  const gsig = `${groups.map((g) => `${g.group} ${g.iface}`).join(";")}|${live}|${t("mcast.leave")}`;
  if (gsig !== refs.groupsSig) {
    refs.groupsSig = gsig;
    const had = refs.groups.contains(document.activeElement);
    refs.groups.replaceChildren(
      ...groups.map((g) => {
        const where = g.iface ? t("mcast.on", { group: g.group, iface: g.iface }) : g.group;
        return h(
          "li",
          {},
          h("code", { text: where }),
          live ? h("button", { type: "button", class: "btn small ghost", "aria-label": t("mcast.leave_named", { group: where }), onclick: () => refs.leave(g) }, t("mcast.leave")) : null,
        );
      }),
    );
    // The focus was on a Leave that went with its group: the next one, or the group field.
    if (had && !refs.groups.contains(document.activeElement)) (refs.groups.querySelector("button") || refs.group).focus();
  }
  if (refs.problemText) setText(refs.problem, msg(refs.problemText));
}

// ifaceLabel: "lo (127.0.0.1, ::1)".
function ifaceLabel(i) {
  const addrs = (i.addrs || []).map((a) => a.replace(/\/\d+$/, ""));
  return addrs.length ? `${i.name} (${addrs.slice(0, 2).join(", ")}${addrs.length > 2 ? ", …" : ""})` : i.name;
}
