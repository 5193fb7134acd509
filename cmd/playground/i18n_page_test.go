package main

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/socketplayground/playground/internal/browsertest"
	"github.com/socketplayground/playground/internal/learn"
)

// TestPageKorean is the page for a Korean student: a browser that prefers
// Korean gets the page in Korean (<html lang="ko">, the controls named in
// Korean, no text of the page's own left in English with a socket of each
// kind open, and the Korean fits at 1280×800 and 768×1024); switching to English with the switcher
// happens in place, so the session and its socket carry on and the texts
// already drawn are worded again; a reload remembers the choice.
func TestPageKorean(t *testing.T) {
	en, ko := learn.Messages("en"), learn.Messages("ko")
	base, _ := startProgram(t, "-addr", "127.0.0.1:0", "-services", "free")
	p := &pageT{t: t, b: browsertest.Start(t, 150*time.Second), base: base}
	p.run(
		network.Enable(),
		network.SetExtraHTTPHeaders(network.Headers{"Accept-Language": "ko-KR,ko;q=0.9,en-US;q=0.8,en;q=0.7"}),
		chromedp.EmulateViewport(1280, 800),
		chromedp.Navigate(base+"/"),
	)
	status := q("status", ko["page.conn"])
	connected := p.waitText(status, `^`+regexp.QuoteMeta(strings.Split(ko["status.connected"], "{")[0]))
	if lang := p.eval(`document.documentElement.lang`); lang != "ko" {
		t.Fatalf(`Accept-Language: ko gives <html lang=%q>`, lang)
	}

	// The main controls, found by their Korean names.
	for _, c := range [][2]string{
		{"radio", "open.kind.connect"}, {"radio", "open.kind.listen"}, {"radio", "open.kind.bind"},
		{"radio", "open.kind.proxy"}, {"radio", "open.kind.socket"}, {"textbox", "open.host"},
		{"spinbutton", "open.port"}, {"button", "open.connect"}, {"textbox", "composer.message"},
		{"combobox", "composer.from"}, {"radio", "composer.format.hex"}, {"combobox", "composer.eol"},
		{"spinbutton", "composer.repeat"}, {"button", "composer.send"}, {"tab", "traffic.tab"},
		{"checkbox", "traffic.kind.data"}, {"button", "timeline.pause"}, {"button", "traffic.copy_text"},
		{"button", "theme.system"}, {"combobox", "lang.label"}, {"list", "traffic.events"},
	} {
		name := ko[c[1]]
		if name == "" || name == en[c[1]] || !hasHangul(name) {
			t.Errorf("%s: %q is not Korean", c[1], name)
			continue
		}
		p.run(browsertest.Wait(q(c[0], name)))
	}

	// A connection to the echo service, bytes both ways, an expanded event.
	p.run(browsertest.Click(q("button", "~echo TCP 127.0.0.1:")))
	koCard := q("article", "~소켓 1 ·")
	p.waitText(koCard, ko["state.established"])
	p.run(
		browsertest.Click(q("radio", ko["composer.format.text"])),
		browsertest.Fill(q("textbox", ko["composer.message"]), "안녕 hello"),
		browsertest.Press(q("textbox", ko["composer.message"]), "Enter"),
	)
	row := q("list", ko["traffic.events"], "button", "~소켓 1 수신 12바이트: 안녕 hello")
	p.run(browsertest.Click(row))
	p.waitText(koCard, `수신\s*12바이트, 읽기 1번`)
	// A server, a bad-network proxy and a socket in step mode: every kind
	// of card, with the kernel's view, the knobs and the calls.
	for i, c := range [][3]string{
		{"open.kind.listen", "open.listen", "state.listening"},
		{"open.kind.proxy", "open.proxy", "state.proxying"},
		{"open.kind.socket", "open.socket", "state.created"},
	} {
		p.run(browsertest.Click(q("radio", ko[c[0]])), browsertest.Click(q("button", ko[c[1]])))
		p.waitText(q("article", fmt.Sprintf("~소켓 %d ·", i+2)), ko[c[2]])
	}
	p.untranslated(en, ko)

	for _, size := range [][2]int64{{1280, 800}, {768, 1024}} {
		p.run(chromedp.EmulateViewport(size[0], size[1]))
		p.fits(fmt.Sprintf("ko %dx%d", size[0], size[1]))
		p.shotFull(fmt.Sprintf("i18n-ko-%dx%d", size[0], size[1]))
	}
	p.run(chromedp.EmulateViewport(1280, 800))

	// English, in place: the same session, the same socket, which still works.
	p.run(browsertest.Select(q("combobox", ko["lang.label"]), "English"))
	p.waitText(q("status", "Connection to the server"), `^Connected · session`)
	if lang := p.eval(`document.documentElement.lang`); lang != "en" {
		t.Errorf("after switching to English, <html lang=%q>", lang)
	}
	if now := p.text(q("status", "Connection to the server")); sessionOf(now) != sessionOf(connected) || sessionOf(now) == "" {
		t.Errorf("switching language changed the session: %q, then %q", connected, now)
	}
	enCard := card(1)
	p.waitText(enCard, `Received\s*12 bytes in 1 read\b`)
	// What was drawn before the switch is worded again: the card, the
	// timeline's rows (the expanded one too), the theme button.
	p.run(browsertest.Wait(q("list", "Events", "button", "~socket 1 received 12 bytes: 안녕 hello")))
	p.run(browsertest.Wait(q("group", "~Details: socket 1 received 12 bytes")))
	p.run(browsertest.Wait(q("button", "Theme: system")))
	// The expanded row paused the view: follow the newest again.
	p.run(browsertest.Click(q("button", "Resume")))
	p.send("Text", "after switch")
	p.run(browsertest.Wait(q("list", "Events", "button", "~socket 1 received 12 bytes: after switch")))
	p.waitText(enCard, `Received\s*24 bytes in 2 reads\b`)
	if left := p.hangul(); len(left) > 0 {
		t.Errorf("after switching to English, Korean is left on the page:\n%s", strings.Join(left, "\n"))
	}
	for _, size := range [][2]int64{{1280, 800}, {768, 1024}} {
		p.run(chromedp.EmulateViewport(size[0], size[1]))
		p.fits(fmt.Sprintf("en %dx%d", size[0], size[1]))
		p.shotFull(fmt.Sprintf("i18n-en-%dx%d", size[0], size[1]))
	}
	p.run(chromedp.EmulateViewport(1280, 800))

	// A reload remembers English (the cookie wins over Accept-Language),
	// and switching back to Korean fetches its catalog.
	p.run(chromedp.Reload())
	p.waitText(q("status", "Connection to the server"), `^Connected · session`)
	if lang := p.eval(`document.documentElement.lang`); lang != "en" {
		t.Errorf("after a reload, <html lang=%q>: the choice of English was not remembered", lang)
	}
	p.run(browsertest.Wait(q("button", "Connect")))
	p.run(browsertest.Select(q("combobox", "Language"), "한국어"))
	p.waitText(status, `^`+regexp.QuoteMeta(strings.Split(ko["status.connected"], "{")[0]))
	p.run(browsertest.Wait(q("button", ko["theme.system"])), browsertest.Wait(q("button", ko["open.connect"])))
	p.noProblems()
}

// eval returns what a JavaScript expression gives, as text.
func (p *pageT) eval(js string) string {
	p.t.Helper()
	var s string
	p.run(chromedp.Evaluate(js, &s))
	return s
}

// sessionOf is the session id in the connection indicator's text: its last word.
func sessionOf(status string) string {
	f := strings.Fields(status)
	if len(f) < 2 {
		return ""
	}
	return f[len(f)-1]
}

func hasHangul(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return unicode.Is(unicode.Hangul, r) })
}

// pageTextJS lists the texts of the page's own: every visible text node,
// and the aria-label, title and placeholder of every element. Left out:
// what is not the page's words — payloads and the server's messages (the
// timeline's details, an error's text, a state's reason, code) — and the
// parts other views own (the learning column, the Code tab), whose own
// tests check them.
const pageTextJS = `(() => {
  const skip = "#learn, #code-view, .tl-detail, .tl-more pre, .card-error, .state-help, code, pre, script, style, option";
  const out = new Set();
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    const el = node.parentElement;
    const text = node.textContent.trim();
    if (!text || el.closest(skip) || el.closest("[hidden]")) continue;
    const r = el.getBoundingClientRect();
    if (getComputedStyle(el).visibility === "hidden" || r.width === 0 || r.height === 0) continue;
    out.add(text);
  }
  for (const el of document.body.querySelectorAll("[aria-label], [title], [placeholder]")) {
    if (el.closest(skip) || el.closest(".tl-item")) continue; // a row's label carries its payload
    for (const a of ["aria-label", "title", "placeholder"]) {
      const v = el.getAttribute(a);
      if (v && v.trim()) out.add(v.trim());
    }
  }
  return [...out];
})()`

// numeric are the placeholders that stand for numbers.
var numeric = map[string]bool{"n": true, "s": true, "ms": true, "min": true, "max": true, "h": true, "at": true,
	"code": true, "gap": true, "sent": true, "keep": true, "live": true, "first": true, "last": true,
	"backlog": true, "child": true, "pct": true, "lines": true}

// untranslated fails the test for each text of the page's own that is an
// English message (exactly, or with its placeholders filled) whose Korean
// differs, or that runs three English words together.
func (p *pageT) untranslated(en, ko learn.Catalog) {
	p.t.Helper()
	var texts []string
	p.run(chromedp.Evaluate(pageTextJS, &texts))
	if len(texts) < 50 {
		p.t.Fatalf("found only %d texts on the page: %q", len(texts), texts)
	}
	type message struct {
		key string
		re  *regexp.Regexp
	}
	var messages []message
	word := regexp.MustCompile(`[A-Za-z]{3,}`)
	placeholder := regexp.MustCompile(`\{[a-z_0-9]+\}`)
	for k, e := range en {
		if ko[k] == e {
			continue // the same in both: a name (Socket Playground, SOCK_STREAM)
		}
		// Worth matching only with words of its own beside its placeholders.
		if !word.MatchString(placeholder.ReplaceAllString(e, "")) {
			continue
		}
		var pat strings.Builder
		last := 0
		for _, m := range placeholder.FindAllStringIndex(e, -1) {
			pat.WriteString(regexp.QuoteMeta(e[last:m[0]]))
			if numeric[e[m[0]+1:m[1]-1]] {
				pat.WriteString(`[\d.,]+`) // "socket {n}" is "socket 3", not "socket ✓"
			} else {
				pat.WriteString(`.+`)
			}
			last = m[1]
		}
		pat.WriteString(regexp.QuoteMeta(e[last:]))
		messages = append(messages, message{k, regexp.MustCompile(`^` + pat.String() + `$`)})
	}
	english := regexp.MustCompile(`\b[A-Za-z]{2,}(?:[ ,'’-]+[A-Za-z]{2,}){2,}\b`)
	korean := map[string]bool{}
	for _, v := range ko {
		korean[v] = true
	}
	var bad []string
	for _, s := range texts {
		if korean[s] {
			continue // the Korean message itself ("Socket Playground" is the same in both)
		}
		for _, m := range messages {
			if m.re.MatchString(s) {
				bad = append(bad, fmt.Sprintf("%q is the English of %s", s, m.key))
				break
			}
		}
		if w := english.FindString(s); w != "" {
			bad = append(bad, fmt.Sprintf("%q has English words: %q", s, w))
		}
	}
	if len(bad) > 0 {
		p.shot("failure-untranslated")
		p.t.Errorf("the Korean page has English of its own:\n%s", strings.Join(bad, "\n"))
	}
}

// hangul lists the texts of the page's own that are in Korean.
func (p *pageT) hangul() []string {
	p.t.Helper()
	var texts []string
	p.run(chromedp.Evaluate(pageTextJS, &texts))
	var out []string
	for _, s := range texts {
		if hasHangul(s) && !strings.Contains(s, "안녕") && s != "한국어" {
			out = append(out, s) // 안녕: the payload sent; 한국어: the switcher's own name
		}
	}
	return out
}

// fitsJS lists what does not fit: the page wider than the window, and
// controls, badges and labels whose text is cut (wider or taller than
// their box).
const fitsJS = `(() => {
  const out = [];
  const doc = document.documentElement;
  if (doc.scrollWidth > doc.clientWidth) out.push("the page is " + (doc.scrollWidth - doc.clientWidth) + " px wider than the window");
  const sel = "button, .btn, .badge, .pill, legend, label > span, summary, h1, h2, h3, h4, dt, .tabs [role=tab], .field > span, .hint";
  for (const el of document.querySelectorAll(sel)) {
    if (el.closest("[hidden], .sr-only, #learn, #code-view, .tl-item, .service-about") || !el.textContent.trim()) continue;
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) continue;
    const cs = getComputedStyle(el);
    if (cs.overflow === "visible" && cs.overflowX === "visible" && cs.textOverflow !== "ellipsis") {
      // Drawn past its box? Compare with its parent's box.
      const pr = el.parentElement.getBoundingClientRect();
      if (r.right > pr.right + 1 && getComputedStyle(el.parentElement).overflowX !== "visible") out.push("past its box: " + el.tagName + "." + el.className + " " + JSON.stringify(el.textContent.trim().slice(0, 40)));
      continue;
    }
    if (el.scrollWidth > el.clientWidth + 1 || el.scrollHeight > el.clientHeight + 2) {
      out.push("cut: " + el.tagName + "." + el.className + " " + JSON.stringify(el.textContent.trim().slice(0, 40)) + " (" + el.scrollWidth + "x" + el.scrollHeight + " in " + el.clientWidth + "x" + el.clientHeight + ")");
    }
  }
  return out;
})()`

// fits fails the test for what does not fit on screen now.
func (p *pageT) fits(what string) {
	p.t.Helper()
	var cut []string
	p.run(chromedp.Evaluate(fitsJS, &cut))
	if len(cut) > 0 {
		p.t.Errorf("%s: text does not fit:\n%s", what, strings.Join(cut, "\n"))
	}
}
