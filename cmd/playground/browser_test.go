package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/socketplayground/playground/internal/browsertest"
	"github.com/socketplayground/playground/internal/session"
)

// TestPageLooks checks what a person sees before doing anything, and what
// no screenshot shows: the services are listed under the strict CSP with no
// page errors, every visible text meets WCAG AA contrast in both themes
// (with cards, traffic and an error on screen), the theme toggle works and
// the controls are reachable by keyboard with a visible focus.
func TestPageLooks(t *testing.T) {
	base, _ := startProgram(t, "-addr", "127.0.0.1:0", "-services", "free")
	p := openPage(t, base)
	var services int
	p.run(browsertest.Count(q("button", "~Connect echo TCP"), &services))
	if services < 1 {
		t.Errorf("no one-click button for the TCP echo service")
	}

	// Something of everything on screen: a connection, bytes both ways,
	// an expanded event, a failed connection.
	p.run(browsertest.Click(q("button", "~Connect echo TCP 127.0.0.1:")))
	p.waitText(card(1), `established`)
	p.send("Text", "hello 안녕")
	p.run(browsertest.Click(q("list", "Events", "button", "~socket 1 received 12 bytes")))
	p.open("TCP client", "127.0.0.1", closedPort(t))
	p.waitText(card(2), `failed`)

	for _, theme := range []string{"system", "light", "dark"} {
		var got string
		p.run(browsertest.Text(q("button", "~Theme:"), &got))
		if got != "Theme: "+theme {
			t.Fatalf("the theme button says %q, want %q", got, "Theme: "+theme)
		}
		var low []string
		p.run(chromedp.Evaluate(contrastJS, &low))
		if len(low) > 0 {
			t.Errorf("theme %s: text below WCAG AA contrast:\n%s", theme, strings.Join(low, "\n"))
		}
		p.shot("00-theme-" + theme)
		p.run(browsertest.Click(q("button", "~Theme:")))
	}

	// A tablet, upright and sideways, and a 1280px laptop: nothing wider
	// than the screen.
	for _, size := range [][2]int64{{768, 1024}, {1024, 768}, {1280, 800}} {
		var overflow, traffic int
		p.run(
			chromedp.EmulateViewport(size[0], size[1]),
			chromedp.Evaluate(`document.documentElement.scrollWidth - document.documentElement.clientWidth`, &overflow),
			chromedp.Evaluate(`document.getElementById("tl-scroll").clientHeight`, &traffic),
		)
		if overflow > 0 {
			t.Errorf("at %dx%d the page is %d px wider than the window", size[0], size[1], overflow)
		}
		t.Logf("%dx%d: traffic list %d px", size[0], size[1], traffic)
		if traffic < 200 {
			t.Errorf("at %dx%d the traffic list is %d px high", size[0], size[1], traffic)
		}
		p.shotFull(fmt.Sprintf("00-size-%dx%d", size[0], size[1]))
	}

	// Keyboard: Tab from the top reaches the main controls, each with a
	// visible focus ring.
	// Start from the top: the skip link is the first stop.
	p.run(chromedp.Evaluate(`document.activeElement.blur(); window.scrollTo(0, 0); document.querySelector(".skip").focus()`, nil))
	want := []string{"theme", "open-host", "open-port", "open-submit", "payload", "tl-follow", "tl-clear"}
	reached := map[string]bool{}
	for range 200 {
		p.run(chromedp.ActionFunc(func(ctx context.Context) error {
			if err := input.DispatchKeyEvent(input.KeyDown).WithKey("Tab").WithCode("Tab").WithWindowsVirtualKeyCode(9).Do(ctx); err != nil {
				return err
			}
			return input.DispatchKeyEvent(input.KeyUp).WithKey("Tab").WithCode("Tab").WithWindowsVirtualKeyCode(9).Do(ctx)
		}))
		var f struct {
			ID      string `json:"id"`
			Outline string `json:"outline"`
			Tag     string `json:"tag"`
		}
		p.run(chromedp.Evaluate(`(() => { const e = document.activeElement; const s = getComputedStyle(e); return { id: e.id || e.textContent.trim().slice(0, 30), outline: s.outlineStyle + " " + s.outlineWidth, tag: e.tagName }; })()`, &f))
		reached[f.ID] = true
		if !slices.ContainsFunc(want, func(id string) bool { return !reached[id] }) {
			break
		}
		if f.Tag != "BODY" && (strings.HasPrefix(f.Outline, "none") || strings.HasSuffix(f.Outline, " 0px")) {
			t.Errorf("%s %q has focus but no visible focus ring (%s)", f.Tag, f.ID, f.Outline)
		}
	}
	for _, id := range want {
		if !reached[id] {
			t.Errorf("Tab never reached #%s; reached %v", id, reached)
		}
	}
	p.noProblems()
}

// contrastJS lists every visible text whose colour, against the background
// it is drawn on, is below WCAG AA: 4.5:1, or 3:1 for large text. Disabled
// controls are exempt, as WCAG says.
const contrastJS = `(() => {
  const parse = (c) => {
    const m = c.match(/rgba?\(([^)]+)\)/);
    if (!m) return null;
    const p = m[1].split(/[\s,\/]+/).filter(Boolean).map(Number);
    return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 };
  };
  const mix = (top, a, under) => ({ r: top.r * a + under.r * (1 - a), g: top.g * a + under.g * (1 - a), b: top.b * a + under.b * (1 - a) });
  const lum = ({ r, g, b }) => {
    const f = (v) => ((v /= 255) <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4));
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const background = (el) => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c && c.a > 0) {
        layers.push(c);
        if (c.a >= 1) break;
      }
    }
    let base = { r: 255, g: 255, b: 255 };
    for (let i = layers.length - 1; i >= 0; i--) base = mix(layers[i], layers[i].a, base);
    return base;
  };
  const low = [];
  const seen = new Set();
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    const el = node.parentElement;
    if (!node.textContent.trim() || seen.has(el)) continue;
    seen.add(el);
    if (el.closest("[hidden], .sr-only, option, script, :disabled")) continue;
    const cs = getComputedStyle(el);
    const r = el.getBoundingClientRect();
    if (cs.visibility === "hidden" || r.width === 0 || r.height === 0) continue;
    let opacity = 1;
    for (let e = el; e; e = e.parentElement) opacity *= Number(getComputedStyle(e).opacity);
    const bg = background(el);
    const c = parse(cs.color);
    const fg = mix(c, c.a * opacity, bg);
    const l1 = lum(fg), l2 = lum(bg);
    const ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
    const size = parseFloat(cs.fontSize);
    const large = size >= 24 || (Number(cs.fontWeight) >= 700 && size >= 18.66);
    if (ratio < (large ? 3 : 4.5)) low.push(ratio.toFixed(2) + ":1 " + el.tagName.toLowerCase() + "." + el.className + " " + JSON.stringify(node.textContent.trim().slice(0, 40)));
  }
  return low;
})()`

// TestPagePayloadRules checks that the composer's hex and escape rules
// (static/js/bytes.js) are the server's (internal/session): for the same
// input, the same bytes or an error in both. What the preview shows is then
// what the protocol's own spellings would send.
func TestPagePayloadRules(t *testing.T) {
	base, _ := startProgram(t, "-addr", "127.0.0.1:0", "-services", "none")
	p := openPage(t, base)
	inputs := []string{"", " ", "00", "0", "000", "0g", "48 65 6C\n6c 6f", "\t0a\r\n0D ", "0x41", "ff FF", "안", `\r\n\t\0\\`, `\x41\x4a\x4A`, `\x4`, `\x4g`, `\`, `a\`, `\q`, `\u0041`, "héllo 안녕", `\\x41`, `\x00\xff`}
	rnd := rand.New(rand.NewPCG(1, 2))
	alphabet := []rune("0123456789abcdefABCDEF xXgz\\\\\\rnt0q\n\t안é")
	for range 3000 {
		n := rnd.IntN(12)
		r := make([]rune, n)
		for i := range r {
			r[i] = alphabet[rnd.IntN(len(alphabet))]
		}
		inputs = append(inputs, string(r))
	}
	type result struct {
		Hex     *string `json:"hex"` // the bytes in hex, or nil for an error
		Escaped *string `json:"escaped"`
	}
	var got []result
	in, _ := json.Marshal(inputs)
	js := `(async () => {
		const src = [...document.scripts].find(s => s.src.endsWith("/js/app.js")).src.replace("/app.js", "/bytes.js");
		const b = await import(src);
		const run = (f, s) => { try { return b.hex(f(s)); } catch (e) { if (!(e instanceof b.ParseError)) throw e; return null; } };
		return ` + string(in) + `.map(s => ({ hex: run(b.parseHex, s), escaped: run(b.parseEscaped, s) }));
	})()`
	p.run(chromedp.Evaluate(js, &got, func(e *runtime.EvaluateParams) *runtime.EvaluateParams { return e.WithAwaitPromise(true) }))
	if len(got) != len(inputs) {
		t.Fatalf("got %d results for %d inputs", len(got), len(inputs))
	}
	spaced := func(b []byte) *string {
		s := make([]string, len(b))
		for i, c := range b {
			s[i] = fmt.Sprintf("%02x", c)
		}
		j := strings.Join(s, " ")
		return &j
	}
	show := func(s *string) string {
		if s == nil {
			return "error"
		}
		return *s
	}
	bad := 0
	for i, s := range inputs {
		var wantHex, wantEsc *string
		if b, err := session.DecodeHex(s); err == nil {
			wantHex = spaced(b)
		}
		if b, err := session.DecodeEscaped(s); err == nil {
			wantEsc = spaced(b)
		}
		if show(wantHex) != show(got[i].Hex) || show(wantEsc) != show(got[i].Escaped) {
			bad++
			if bad <= 10 {
				t.Errorf("%q: hex: server %s, page %s; escaped: server %s, page %s", s, show(wantHex), show(got[i].Hex), show(wantEsc), show(got[i].Escaped))
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d inputs disagree", bad, len(inputs))
	}
}
