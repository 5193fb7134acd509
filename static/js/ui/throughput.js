// The throughput chart on TCP and UDP cards: bytes per second received and
// sent over the last 60 s, in 250 ms buckets, with the flow-control stalls
// marked — times when sends waited (a send or sendto without its "sent",
// a repeat going as fast as flow control allows, the kernel's send queue
// holding bytes) while nothing went out. The counting is netkit.js's, on
// every event as it is applied; this file only draws.
//
// It stays cheap with many sockets and heavy traffic: drawing happens in an
// animation frame at most four times a second, only for charts on screen
// (an IntersectionObserver says which), and only when a chart's numbers or
// its window moved. Its time is the server's (the events' t): a replay's
// chart follows the replay's clock.

import { h, setText } from "../dom.js";
import { t } from "../i18n.js";
import { BUCKETS, BUCKET_US, SPAN_US, STALL_US, nowUS, rateText } from "../netkit.js";

// How often the visible charts are looked at, ms.
const TICK_MS = 250;

// How long one frame may spend painting charts, ms: the rest wait for the
// next frame, so that many charts never make one long task.
const FRAME_MS = 6;

/** Builds the chart part of a card. */
export function createThroughput(cards, s, uid) {
  const charts = Charts.for(cards.store);
  const refs = { s, charts, visible: false, drawn: null };
  refs.canvas = h("canvas", { class: "rate-canvas", "aria-hidden": "true", width: "300", height: "44" });
  refs.button = h("button", { type: "button", class: "rate-chart", onclick: () => charts.enlarge(refs) }, refs.canvas);
  refs.text = h("p", { class: "rate-text", id: `rate-${uid}` });
  refs.legend = h(
    "p",
    { class: "rate-legend", "aria-hidden": "true" },
    h("span", { class: "sw in" }),
    h("span", { i18n: "rate.received" }),
    h("span", { class: "sw out" }),
    h("span", { i18n: "rate.sent" }),
    h("span", { class: "sw stall" }),
    h("span", { i18n: "rate.stalled" }),
  );
  refs.box = h("div", { class: "rate", hidden: true, dataset: { field: "rate" } }, refs.button, h("div", { class: "rate-foot" }, refs.text, refs.legend));
  return refs;
}

/** Shows the chart on a card that has something to chart. */
export function updateThroughput(cards, s, refs) {
  const r = s.rates;
  const live = s.state === "established" || s.state === "half-closed" || s.state === "bound" || s.state === "handshaking";
  const show = !!r && (s.kind === "tcp" || s.kind === "udp") && (live || s.inBytes + s.outBytes > 0);
  if (show === !refs.box.hidden) return;
  refs.box.hidden = !show;
  if (show) refs.charts.add(refs);
  else refs.charts.remove(refs);
}

/**
 * drawNow draws every chart that needs it at once, and returns how many
 * were painted (for BenchmarkPageThroughput, netkit_page_test.go).
 */
export function drawNow() {
  return Charts.one ? Charts.one.draw(Infinity) : 0;
}

/** Charts: the page's charts, drawn together. */
class Charts {
  static for(store) {
    return (Charts.one ||= new Charts(store));
  }

  constructor(store) {
    this.store = store;
    this.all = new Set();
    this.colors = null;
    this.colorSig = "";
    this.pending = false;
    this.big = null; // the larger view: { dialog, refs (of the card shown), canvas, title }
    this.seen = new IntersectionObserver((entries) => {
      for (const e of entries) {
        const refs = e.target.rateRefs;
        if (!refs) continue;
        refs.visible = e.isIntersecting;
        if (refs.visible) refs.drawn = null; // its picture may be old
      }
      this.request();
    });
    this.sized = new ResizeObserver((entries) => {
      for (const e of entries) {
        const refs = e.target.rateRefs;
        if (refs) refs.drawn = null;
        if (this.big && e.target === this.big.canvas) this.big.drawn = null;
      }
      this.request();
    });
    // A probe whose computed colours are the theme's: canvas needs real colours.
    this.probe = h("span", { class: "rate-probe", "aria-hidden": "true" }, h("span", { class: "in" }), h("span", { class: "out" }), h("span", { class: "stall" }), h("span", { class: "grid" }), h("span", { class: "bg" }));
    document.body.append(this.probe);
    setInterval(() => this.request(), TICK_MS);
    document.addEventListener("langchange", () => {
      for (const refs of this.all) {
        refs.drawn = null;
        refs.said = null;
      }
      if (this.big) this.big.drawn = null;
      this.request();
    });
  }

  add(refs) {
    this.all.add(refs);
    refs.box.rateRefs = refs;
    refs.canvas.rateRefs = refs;
    this.seen.observe(refs.box);
    this.sized.observe(refs.canvas);
    refs.drawn = null;
    this.request();
  }

  remove(refs) {
    this.all.delete(refs);
    this.seen.unobserve(refs.box);
    this.sized.unobserve(refs.canvas);
    refs.visible = false;
  }

  request() {
    if (this.pending || (this.all.size === 0 && !this.big?.dialog.open)) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      if (this.draw(FRAME_MS) < 0) this.request(); // more to paint, in the next frame
    });
  }

  themeColors() {
    const cs = [...this.probe.children].map((e) => getComputedStyle(e).color);
    const sig = cs.join();
    if (sig !== this.colorSig) {
      this.colorSig = sig;
      this.colors = { in: cs[0], out: cs[1], stall: cs[2], grid: cs[3], bg: cs[4] };
      for (const refs of this.all) refs.drawn = null;
      if (this.big) this.big.drawn = null;
    }
    return this.colors;
  }

  // draw paints the charts whose picture is old, for at most budget ms;
  // it returns how many it painted, or -1 if some are left for later.
  draw(budget) {
    let painted = 0;
    const start = performance.now();
    const now = nowUS(this.store);
    const colors = this.themeColors();
    const bucket = Math.floor(now / BUCKET_US);
    for (const refs of this.all) {
      if (!refs.box.isConnected) {
        this.remove(refs); // its card was removed
        continue;
      }
      if (refs.box.hidden) continue;
      const r = refs.s.rates;
      const stall = stallNow(r, now);
      // Nothing moved: the same numbers, and the window slid over nothing.
      const quiet = r.lastT < now - SPAN_US - BUCKET_US && !stall;
      const d = refs.drawn;
      if (d && d.version === r.version && (d.bucket === bucket || (quiet && d.quiet))) continue;
      // The words are kept true on every card (a few setText); the
      // picture is drawn only where it can be seen.
      const text = rateLine(r, now, stall);
      if (text !== refs.said) {
        refs.said = text;
        setText(refs.text, text);
        refs.button.setAttribute("aria-label", t("rate.label", { n: refs.s.id, text }));
        refs.button.title = t("rate.enlarge");
      }
      if (!refs.visible) continue;
      if (painted > 0 && performance.now() - start > budget) return -1;
      refs.drawn = { version: r.version, bucket, quiet };
      paint(refs.canvas, r, now, colors, false);
      painted++;
    }
    const big = this.big;
    if (big && big.dialog.open) {
      const r = big.refs.s.rates;
      if (!big.drawn || big.drawn.version !== r.version || big.drawn.bucket !== bucket) {
        big.drawn = { version: r.version, bucket };
        const text = rateLine(r, now, stallNow(r, now));
        setText(big.text, text);
        setText(big.title, t("rate.big_title", { n: big.refs.s.id }));
        paint(big.canvas, r, now, colors, true);
      }
    }
    return painted;
  }

  /** Shows one socket's chart larger, in a dialog. */
  enlarge(refs) {
    if (!this.big) {
      const title = h("h2", { id: "rate-big-h" });
      const canvas = h("canvas", { class: "rate-big-canvas", width: "720", height: "240", role: "img", "aria-labelledby": "rate-big-h rate-big-text" });
      const text = h("p", { class: "rate-text", id: "rate-big-text" });
      const close = h("button", { type: "button", class: "btn small ghost", i18n: "share.close" });
      const legend = refs.legend.cloneNode(true);
      const dialog = h("dialog", { class: "rate-dialog", "aria-labelledby": "rate-big-h" }, h("div", { class: "pop-head" }, title, close), canvas, h("div", { class: "rate-foot" }, text, legend), h("p", { class: "hint", i18n: "rate.about" }));
      close.addEventListener("click", () => dialog.close());
      dialog.addEventListener("click", (e) => {
        if (e.target === dialog) dialog.close(); // a click on the backdrop
      });
      document.body.append(dialog);
      this.big = { dialog, canvas, title, text, refs, drawn: null };
      this.sized.observe(canvas);
    }
    this.big.refs = refs;
    this.big.drawn = null;
    setText(this.big.title, t("rate.big_title", { n: refs.s.id }));
    this.big.returnTo = refs.button;
    this.big.dialog.addEventListener("close", () => refs.button.isConnected && refs.button.focus(), { once: true });
    this.big.dialog.showModal();
    this.request();
  }
}

// stallNow is the stall going on at now: { from (µs), queue (bytes) }, or null.
function stallNow(r, now) {
  const from = r.stallFrom();
  return from && now - from >= STALL_US ? { from, queue: r.sendQ } : null;
}

// rateLine: "↓ 12.3 MB/s ↑ 0 B/s", with the stall going on, or the stalls
// of the last minute.
function rateLine(r, now, stall) {
  const { down, up } = r.rate(now);
  let text = `↓ ${rateText(down)} ↑ ${rateText(up)}`;
  if (stall) {
    const s = ((now - stall.from) / 1e6).toFixed(1);
    text += ` · ${stall.queue ? t("rate.stall_queue", { s, queue: rateBytes(stall.queue) }) : t("rate.stall_now", { s })}`;
  } else {
    const n = r.stalls.filter(([, to]) => to > now - SPAN_US).length;
    if (n) text += ` · ${t(n === 1 ? "rate.stalls.one" : "rate.stalls.other", { n })}`;
  }
  return text;
}

// rateBytes: "2.5 MB" (the send queue).
function rateBytes(n) {
  return rateText(n).replace("/s", "");
}

// paint draws a chart on canvas: received as a filled area, sent as a line
// over a lighter fill, stalls as hatched bands with a bar along the bottom.
// big adds the axes' labels.
function paint(canvas, r, now, colors, big) {
  const dpr = window.devicePixelRatio || 1;
  const cssW = canvas.clientWidth || Number(canvas.getAttribute("width"));
  const cssH = canvas.clientHeight || Number(canvas.getAttribute("height"));
  const W = Math.max(1, Math.round(cssW * dpr));
  const H = Math.max(1, Math.round(cssH * dpr));
  if (canvas.width !== W) canvas.width = W;
  if (canvas.height !== H) canvas.height = H;
  const ctx = canvas.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, cssW, cssH);
  const pad = big ? { l: 64, r: 8, t: 10, b: 22 } : { l: 0, r: 0, t: 3, b: 4 };
  const w = cssW - pad.l - pad.r;
  const hh = cssH - pad.t - pad.b;
  const last = Math.floor(now / BUCKET_US) - 1; // the newest complete bucket
  const first = last - (BUCKETS - 2);
  const per = 1_000_000 / BUCKET_US; // buckets per second: bytes → bytes per second
  // Each point is the rate over the second that ends with its bucket (a
  // moving sum of per buckets), as the words say it: bursts of a few reads
  // a second draw a rate, not a comb.
  const smooth = (arr) => {
    const out = new Float64Array(last - first + 1);
    let sum = 0;
    for (let b = first - per + 1; b < first; b++) sum += r.at(arr, b);
    for (let b = first; b <= last; b++) {
      sum += r.at(arr, b) - r.at(arr, b - per);
      out[b - first] = Math.max(0, sum);
    }
    return out;
  };
  const down = smooth(r.in);
  const up = smooth(r.out);
  let max = 0;
  for (let i = 0; i < down.length; i++) max = Math.max(max, down[i], up[i]);
  const top = nice(Math.max(max, 1000));
  const x = (b) => pad.l + ((b - first + 1) / (last - first + 1)) * w; // the end of bucket b
  const y = (v) => pad.t + hh - (v * hh) / top;

  // The half-way line (the baseline is drawn last, over the series' zeros).
  ctx.strokeStyle = withAlpha(colors.grid, 0.5);
  ctx.lineWidth = 1;
  ctx.setLineDash([2, 3]);
  ctx.beginPath();
  ctx.moveTo(pad.l, Math.round(pad.t + hh / 2) + 0.5);
  ctx.lineTo(pad.l + w, Math.round(pad.t + hh / 2) + 0.5);
  ctx.stroke();
  ctx.setLineDash([]);

  // Stalls: the ones that ended, and the one going on.
  const spans = r.stalls.map(([a, b]) => [a, b]);
  const from = r.stallFrom();
  if (from && now - from >= STALL_US) spans.push([from, now]);
  const tx = (us) => pad.l + ((us / BUCKET_US - first) / (last - first + 1)) * w;
  for (const [a, b] of spans) {
    const x0 = Math.max(pad.l, tx(a));
    const x1 = Math.min(pad.l + w, tx(b));
    if (x1 <= x0) continue;
    ctx.fillStyle = withAlpha(colors.stall, 0.1);
    ctx.fillRect(x0, pad.t, x1 - x0, hh);
    ctx.fillStyle = hatch(ctx, colors.stall, dpr);
    ctx.fillRect(x0, pad.t, x1 - x0, hh);
  }

  // A series as a line through its points, filled below.
  const series = (vals, color, fill) => {
    ctx.beginPath();
    ctx.moveTo(x(first - 1), y(0));
    for (let i = 0; i < vals.length; i++) ctx.lineTo(x(first + i), y(vals[i]));
    ctx.lineTo(x(last), y(0));
    ctx.fillStyle = withAlpha(color, fill);
    ctx.fill();
    ctx.strokeStyle = color;
    ctx.lineWidth = big ? 1.8 : 1.4;
    ctx.lineJoin = "round";
    ctx.stroke();
  };
  series(down, colors.in, 0.3);
  series(up, colors.out, 0.18);
  ctx.strokeStyle = colors.grid;
  ctx.lineWidth = 1;
  ctx.beginPath();
  ctx.moveTo(pad.l, Math.round(pad.t + hh) + 0.5);
  ctx.lineTo(pad.l + w, Math.round(pad.t + hh) + 0.5);
  ctx.stroke();
  // Each stall's bar along the bottom, over everything: seen at a glance.
  ctx.fillStyle = colors.stall;
  for (const [a, b] of spans) {
    const x0 = Math.max(pad.l, tx(a));
    const x1 = Math.min(pad.l + w, tx(b));
    if (x1 > x0) ctx.fillRect(x0, pad.t + hh - (big ? 4 : 3), x1 - x0, big ? 4 : 3);
  }

  // The scale: what the top of the chart is, in its corner.
  if (!big && max > 0) {
    ctx.font = "10px system-ui, sans-serif";
    ctx.textBaseline = "top";
    ctx.textAlign = "left";
    const label = rateText(top);
    ctx.fillStyle = withAlpha(colors.bg, 0.8);
    ctx.fillRect(pad.l + 2, pad.t, ctx.measureText(label).width + 6, 12);
    ctx.fillStyle = colors.grid;
    ctx.fillText(label, pad.l + 5, pad.t + 1);
  }

  if (big) {
    ctx.fillStyle = colors.grid;
    ctx.font = "11px system-ui, sans-serif";
    ctx.textBaseline = "middle";
    ctx.textAlign = "right";
    ctx.fillText(rateText(top), pad.l - 6, pad.t + 4);
    ctx.fillText(rateText(top / 2), pad.l - 6, pad.t + hh / 2);
    ctx.fillText("0", pad.l - 6, pad.t + hh);
    ctx.textBaseline = "top";
    for (const s of [60, 45, 30, 15, 0]) {
      ctx.textAlign = s === 60 ? "left" : s === 0 ? "right" : "center";
      ctx.fillText(s ? t("rate.ago", { s }) : t("rate.now"), pad.l + w * (1 - s / 60), pad.t + hh + 6);
    }
  }
}

// hatch is a pattern of thin diagonal lines in color, for stalls (as the
// legend's swatch), made once per colour and pixel ratio.
const hatches = new Map();
function hatch(ctx, color, dpr) {
  const key = `${color} ${dpr}`;
  let p = hatches.get(key);
  if (!p) {
    const n = Math.round(6 * dpr);
    const c = document.createElement("canvas");
    c.width = c.height = n;
    const g = c.getContext("2d");
    g.strokeStyle = withAlpha(color, 0.45);
    g.lineWidth = Math.max(1, dpr);
    g.beginPath();
    for (const o of [-n, 0, n]) {
      g.moveTo(o, n);
      g.lineTo(o + n, 0);
    }
    g.stroke();
    p = ctx.createPattern(c, "repeat");
    p.setTransform(new DOMMatrix().scale(1 / dpr));
    hatches.set(key, p);
  }
  return p;
}

// nice rounds a scale up to 1, 2 or 5 times a power of ten.
function nice(v) {
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (v <= m * p) return m * p;
  return 10 * p;
}

// withAlpha makes "rgb(1, 2, 3)" (a computed colour) translucent.
function withAlpha(color, a) {
  const m = /rgba?\(([^)]+)\)/.exec(color);
  if (!m) return color;
  const [r, g, b] = m[1].split(/[\s,/]+/).filter(Boolean);
  return `rgba(${r}, ${g}, ${b}, ${a})`;
}
