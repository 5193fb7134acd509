package main

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"

	"github.com/socketplayground/playground/internal/browsertest"
	"github.com/socketplayground/playground/internal/learn"
)

// The learning column (issue 6): guided lessons done as a learner does them,
// in Korean, through the page's own controls; an error explained on a card
// with its cause linked; concepts that light up the page. Controls are found
// by role and accessible name, and the names come from the catalogs, so the
// tests follow the words when they change.

// learnPage is a tab on the playground in one language, with its catalog.
type learnPage struct {
	*pageT
	m learn.Catalog
}

// openPageIn opens the playground in lang (?lang=) and waits until it is
// connected.
func openPageIn(t *testing.T, base, lang string) *learnPage {
	t.Helper()
	p := &pageT{t: t, b: browsertest.Start(t, 120*time.Second), base: base}
	lp := &learnPage{pageT: p, m: learn.Messages(lang)}
	p.run(
		chromedp.EmulateViewport(1280, 800),
		chromedp.Navigate(base+"/?lang="+lang),
	)
	lp.waitConnected()
	return lp
}

// T is the page's text for key, with its {placeholders} filled from args.
func (p *learnPage) T(key string, args ...any) string {
	p.t.Helper()
	if _, ok := p.m[key]; !ok {
		p.t.Fatalf("the catalog has no %q", key)
	}
	return p.m.T(key, args...)
}

// before is the text of key up to its first placeholder: a prefix to match.
func (p *learnPage) before(key string) string {
	s := p.T(key)
	if i := strings.Index(s, "{"); i >= 0 {
		s = s[:i]
	}
	return s
}

func (p *learnPage) waitConnected() {
	p.t.Helper()
	p.waitText(q("status", p.T("page.conn")), regexp.QuoteMeta(p.before("status.connected")))
}

// column is the learning column, or a target inside it.
func (p *learnPage) column(more ...string) browsertest.Target {
	return q(append([]string{"complementary", p.T("learn.title")}, more...)...)
}

// card is the card of socket n.
func (p *learnPage) card(n int, more ...string) browsertest.Target {
	title := strings.TrimSpace(p.T("card.title", "n", n, "kind", ""))
	return q(append([]string{"article", "~" + title}, more...)...)
}

// hover moves the mouse over the middle of target.
func (p *learnPage) hover(target browsertest.Target) {
	p.t.Helper()
	var box []float64
	p.run(
		browsertest.Focus(target),
		chromedp.Evaluate(`(() => { const e = document.activeElement; e.scrollIntoView({ block: "nearest" }); const r = e.getBoundingClientRect(); return [r.left + r.width / 2, r.top + r.height / 2]; })()`, &box),
	)
	p.run(chromedp.ActionFunc(func(ctx context.Context) error {
		return input.DispatchMouseEvent(input.MouseMoved, box[0], box[1]).Do(ctx)
	}))
}

// unhover moves the mouse to the page's top left corner, over nothing.
func (p *learnPage) unhover() {
	p.run(
		chromedp.Evaluate(`document.activeElement.blur()`, nil),
		chromedp.ActionFunc(func(ctx context.Context) error { return input.DispatchMouseEvent(input.MouseMoved, 1, 1).Do(ctx) }),
	)
}

// lit counts the elements a concept has lit up that match selector.
func (p *learnPage) lit(selector string) int {
	var n int
	p.run(chromedp.Evaluate(fmt.Sprintf(`document.querySelectorAll(%q).length`, selector), &n))
	return n
}

// waitLit waits until lit(selector) satisfies ok.
func (p *learnPage) waitLit(selector string, ok func(int) bool, what string) {
	p.t.Helper()
	n := 0
	for range 200 {
		if n = p.lit(selector); ok(n) {
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
	p.shot("failure-" + p.t.Name())
	p.t.Fatalf("%s: %d elements match %s", what, n, selector)
}

// TestLearnErrorCard: a connect refused by a closed loopback port gets a
// card in the learning column, in Korean: what ECONNREFUSED means, the call
// that caused it (a link that shows it in the traffic view) and what to
// try; the card can be dismissed.
func TestLearnErrorCard(t *testing.T) {
	base, _ := startProgram(t, "-addr", "127.0.0.1:0", "-services", "free")
	p := openPageIn(t, base, "ko")
	port := closedPort(t)
	p.run(
		browsertest.Click(q("radio", p.T("open.kind.connect"))),
		browsertest.Fill(q("textbox", p.T("open.host")), "127.0.0.1"),
		browsertest.Fill(q("spinbutton", p.T("open.port")), port),
		browsertest.Click(q("button", p.T("open.connect"))),
	)
	title := "ECONNREFUSED · " + p.T("error.errno.ECONNREFUSED.title")
	errCard := p.column("article", title)
	s := p.waitText(errCard, regexp.QuoteMeta(p.T("error.errno.ECONNREFUSED.means")))
	cause := p.T("learn.cause.call_addr_sock", "op", "connect", "addr", "127.0.0.1:"+port, "sock", 1)
	for _, want := range []string{p.T("error.errno.ECONNREFUSED.try"), cause} {
		if !strings.Contains(s, want) {
			t.Errorf("the error card does not say %q: %q", want, s)
		}
	}
	// The server's own words are one click away.
	p.run(browsertest.Click(p.column("article", title, "button", p.T("learn.error.server_said"))))
	p.waitText(errCard, regexp.QuoteMeta("connect 127.0.0.1:"+port+": connection refused"))
	p.shot("learn-error-card-ko")

	// The cause is a link to the call, in the traffic view: its row opens.
	p.run(browsertest.Click(p.column("article", title, "button", p.T("learn.error.show", "what", cause))))
	p.waitLit(`#tl-list .tl-item.t-call .tl-row[aria-expanded="true"]`, func(n int) bool { return n == 1 }, "the cause link opens the call in the traffic view")

	p.run(
		browsertest.Click(p.column("article", title, "button", p.T("learn.error.dismiss_named", "what", title))),
		browsertest.WaitGone(errCard),
	)
	p.noProblems()
	p.b.Stop()

	// The playground's own refusal, in hosted mode: its card says it was the
	// policy, and what is allowed instead.
	hosted, _ := startProgram(t, "-addr", "127.0.0.1:0", "-services", "free", "-mode", "hosted", "-pool", "24210-24219")
	h := openPageIn(t, hosted, "ko")
	h.allow(`policy`)
	h.open("", "127.0.0.1", port)
	policy := h.column("article", h.T("error.code.policy.title"))
	s = h.waitText(policy, regexp.QuoteMeta(h.T("error.code.policy.means")))
	for _, want := range []string{h.T("error.code.policy.try_target"), h.T("learn.cause.call_addr_sock", "op", "connect", "addr", "127.0.0.1:"+port, "sock", 1)} {
		if !strings.Contains(s, want) {
			t.Errorf("the policy card does not say %q: %q", want, s)
		}
	}
	h.shot("learn-error-policy-ko")
	h.noProblems()
}

// TestLearnConcepts: pointing at a concept's term lights up the live part of
// the page that shows it — an endpoint, the address fields of a socket's
// card — and the light goes when the pointer does; the keyboard does the
// same, and pressing a term keeps it lit.
func TestLearnConcepts(t *testing.T) {
	base, _ := startProgram(t, "-addr", "127.0.0.1:0", "-services", "free")
	p := openPageIn(t, base, "ko")
	p.run(browsertest.Click(q("button", "~echo TCP 127.0.0.1:")))
	p.waitText(p.card(1), regexp.QuoteMeta(p.T("state.established")))
	p.run(browsertest.Click(p.column("tab", p.T("learn.tab.concepts"))))

	term := p.column("button", p.T("concept.endpoint.term"))
	// The Local and Remote rows of socket 1's card: two terms and two values.
	const addrs = `#cards .sock-card .facts > .learn-hl`
	p.hover(term)
	p.waitLit(addrs, func(n int) bool { return n >= 4 }, "hovering over the endpoint")
	if s := p.text(p.column("listitem", "~"+p.T("concept.endpoint.term"))); !strings.Contains(s, p.before("learn.concept.lit.other")) {
		t.Errorf("the concept does not say what lit up: %q", s)
	}
	p.unhover()
	p.waitLit(".learn-hl", func(n int) bool { return n == 0 }, "after the pointer left")

	// Pressed, it stays lit after the focus leaves.
	p.run(browsertest.Click(term))
	p.unhover()
	p.waitLit(addrs, func(n int) bool { return n >= 4 }, "a pressed term")
	time.Sleep(400 * time.Millisecond) // the smooth scroll to what is lit
	p.shot("learn-concept-ko")
	p.run(browsertest.Click(term))
	p.unhover()
	p.waitLit(".learn-hl", func(n int) bool { return n == 0 }, "after pressing again")

	// A concept with nothing on the page says what would show it.
	p.hover(p.column("button", p.T("concept.datagram.term")))
	p.waitText(p.column("listitem", "~"+p.T("concept.datagram.term")), regexp.QuoteMeta(p.T("concept.datagram.none")))
	p.noProblems()
}

// TestLearnLooks saves the learning column at 1280×800 and 1440×900 in both
// languages, open and folded, and checks that it leaves the traffic view
// usable and the page no wider than the window.
func TestLearnLooks(t *testing.T) {
	base, _ := startProgram(t, "-addr", "127.0.0.1:0", "-services", "free")
	for _, lang := range []string{"en", "ko"} {
		p := openPageIn(t, base, lang)
		p.run(browsertest.Click(q("button", "~echo TCP 127.0.0.1:")))
		p.open(lang, "127.0.0.1", closedPort(t))
		p.run(browsertest.Wait(p.column("article", "~ECONNREFUSED")))
		for _, size := range [][2]int64{{1280, 800}, {1440, 900}, {1024, 768}, {768, 1024}} {
			var overflow, traffic int
			p.run(
				chromedp.EmulateViewport(size[0], size[1]),
				chromedp.Evaluate(`document.documentElement.scrollWidth - document.documentElement.clientWidth`, &overflow),
				chromedp.Evaluate(`document.getElementById("tl-scroll").clientHeight`, &traffic),
			)
			if overflow > 0 {
				t.Errorf("%s at %dx%d: the page is %d px wider than the window", lang, size[0], size[1], overflow)
			}
			if traffic < 200 {
				t.Errorf("%s at %dx%d: the traffic list is %d px high", lang, size[0], size[1], traffic)
			}
			p.shot(fmt.Sprintf("learn-%s-%dx%d", lang, size[0], size[1]))
		}
		p.run(chromedp.EmulateViewport(1280, 800))
		p.run(browsertest.Click(p.column("button", p.T("learn.hide"))))
		// Folded to a rail, its button says what it opens.
		p.run(browsertest.Wait(p.column("button", p.T("learn.show_rail"))))
		p.shot(fmt.Sprintf("learn-%s-folded", lang))
		p.run(browsertest.Click(p.column("button", p.T("learn.show_rail"))))
		// Every text of the column meets WCAG AA contrast in both themes: a
		// lesson with a hint shown, the concepts with one of them lit.
		p.run(browsertest.Click(p.column("button", "~"+p.T("lesson.endpoint.title"))))
		p.run(browsertest.Click(p.column("button", p.T("learn.lesson.hint_first", "n", 2))))
		p.contrast(lang + " lesson")
		p.run(browsertest.Click(p.column("tab", p.T("learn.tab.concepts"))))
		p.run(browsertest.Click(p.column("button", p.T("concept.endpoint.term"))))
		p.contrast(lang + " concepts")
		p.shot(fmt.Sprintf("learn-%s-concepts", lang))
		if lang == "en" {
			// Switched to Korean in place, the column speaks Korean too: its
			// tabs, the concepts, the error card.
			ko := learn.Messages("ko")
			p.run(browsertest.Select(q("combobox", p.T("lang.label")), "한국어"))
			col := func(more ...string) browsertest.Target {
				return q(append([]string{"complementary", ko.T("learn.title")}, more...)...)
			}
			p.run(
				browsertest.Wait(col("tab", ko.T("learn.tab.concepts"))),
				browsertest.Wait(col("button", ko.T("concept.endpoint.term"))),
				browsertest.Wait(col("article", "~ECONNREFUSED · "+ko.T("error.errno.ECONNREFUSED.title"))),
			)
			p.waitText(col("listitem", ko.T("concept.endpoint.term")), regexp.QuoteMeta(ko.T("concept.endpoint.text")))
		}
		p.noProblems()
		p.b.Stop()
	}
}

// contrast checks the contrast of every visible text in the light and the
// dark theme (contrastJS, browser_test.go).
func (p *learnPage) contrast(what string) {
	p.t.Helper()
	for _, theme := range []string{"light", "dark"} {
		var low []string
		p.run(
			chromedp.Evaluate(`document.documentElement.dataset.theme = "`+theme+`"`, nil),
			chromedp.Evaluate(contrastJS, &low),
		)
		if len(low) > 0 {
			p.t.Errorf("%s, %s theme: text below WCAG AA contrast:\n%s", what, theme, strings.Join(low, "\n"))
		}
	}
	p.run(chromedp.Evaluate(`delete document.documentElement.dataset.theme`, nil))
}

// open opens a TCP client with the "Open a socket" form, in the page's language.
func (p *learnPage) open(_, host, port string) {
	p.t.Helper()
	p.run(
		browsertest.Click(q("radio", p.T("open.kind.connect"))),
		browsertest.Fill(q("textbox", p.T("open.host")), host),
		browsertest.Fill(q("spinbutton", p.T("open.port")), port),
		browsertest.Click(q("button", p.T("open.connect"))),
	)
}

// step is step n (from 1) of the lesson shown in the learning column, or
// a target inside it.
func (p *learnPage) step(id string, n int, more ...string) browsertest.Target {
	text := []rune(p.T(fmt.Sprintf("lesson.%s.step%d", id, n)))
	return p.column(append([]string{"list", p.T("learn.lesson.steps"), "listitem", "~" + string(text[:min(len(text), 30)])}, more...)...)
}

// todo and done match the start of a step's text: its number or tick, and
// what it says to a screen reader.
func (p *learnPage) todo() string { return `^\d+ ` + regexp.QuoteMeta(p.T("learn.lesson.sr_todo")) }
func (p *learnPage) done() string { return `^✓ ` + regexp.QuoteMeta(p.T("learn.lesson.sr_done")) }

// stepDone waits until step n of lesson id is ticked off, and returns what
// the step says the learner did.
func (p *learnPage) stepDone(id string, n int) string {
	p.t.Helper()
	s := p.waitText(p.step(id, n), p.done())
	if !strings.Contains(s, p.T("learn.lesson.did")) {
		p.t.Errorf("lesson %s step %d is done but does not say what did it: %q", id, n, s)
	}
	return s
}

// stepOpen checks that step n of lesson id is not ticked off.
func (p *learnPage) stepOpen(id string, n int) {
	p.t.Helper()
	if s := p.text(p.step(id, n)); !regexp.MustCompile(p.todo()).MatchString(s) {
		p.t.Errorf("lesson %s step %d is ticked off too early: %q", id, n, s)
	}
}

// answer types an answer to step n of lesson id in the lesson's answer box
// and presses its button.
func (p *learnPage) answer(id string, n int, role, value string) {
	p.t.Helper()
	p.run(
		browsertest.Fill(p.step(id, n, role, p.T(fmt.Sprintf("lesson.%s.step%d.ask", id, n))), value),
		browsertest.Click(p.step(id, n, "button", p.T("learn.lesson.check"))),
	)
}

// localPort reads the port of socket n's local address from its card.
func (p *learnPage) localPort(n int) string {
	p.t.Helper()
	re := regexp.QuoteMeta(p.T("card.local")) + `\s*\S+:(\d+)`
	s := p.waitText(p.card(n), re)
	return regexp.MustCompile(re).FindStringSubmatch(s)[1]
}

// call makes step call op on socket n's card with (name, value) arguments
// (Python's names: host, port, backlog), and presses its button.
func (p *learnPage) call(n int, op string, args ...string) {
	p.t.Helper()
	for i := 0; i < len(args); i += 2 {
		role := "spinbutton"
		if args[i] == "host" {
			role = "textbox"
		}
		p.run(browsertest.Fill(p.card(n, "form", op+"()", role, args[i]), args[i+1]))
	}
	p.run(browsertest.Click(p.card(n, "form", op+"()", "button", op+"()")))
}

// TestLearnLessons does lessons 1–4 as a Korean student would, with the
// page in Korean and only its own controls: the opener's "Step by step:
// socket()", the calls on the cards, a TCP server and its "Connect a
// client", the echo service's button, the composer and each lesson's answer
// box. Each step is ticked off when, and only when, it is done, with what
// did it; a wrong answer is told; each lesson ends marked done, with its
// explanation. A reload keeps the progress; Restart clears it.
func TestLearnLessons(t *testing.T) {
	base, _ := startProgram(t, "-addr", "127.0.0.1:0", "-services", "free")
	p := openPageIn(t, base, "ko")
	start := func(id string) {
		p.t.Helper()
		p.run(browsertest.Click(p.column("button", "~"+p.T("lesson."+id+".title"))))
		p.run(browsertest.Click(p.column("button", p.T("learn.lesson.start"))))
		p.waitText(p.column("heading", p.T("learn.lesson.numbered", "n", lessonNumber(id), "title", p.T("lesson."+id+".title"))), ".")
		p.waitText(p.step(id, 1), p.todo())
	}
	passed := func(id string) {
		p.t.Helper()
		explain := []rune(p.T("lesson." + id + ".explain"))
		p.waitText(p.column("region", p.T("learn.lesson.explain")), regexp.QuoteMeta(string(explain[:min(len(explain), 30)])))
	}

	// 1. An endpoint: socket(), bind() to port 0, listen(), and the port.
	start("endpoint")
	p.run(
		browsertest.Click(q("radio", p.T("open.kind.socket"))),
		browsertest.Click(q("button", p.T("open.socket"))),
	)
	p.waitText(p.card(1), regexp.QuoteMeta("bind()"))
	p.stepOpen("endpoint", 1)
	// Hints come one at a time.
	p.run(browsertest.Click(p.step("endpoint", 1, "button", p.T("learn.lesson.hint_first", "n", 2))))
	p.waitText(p.step("endpoint", 1), regexp.QuoteMeta(p.T("lesson.endpoint.step1.hint1")))
	if s := p.text(p.step("endpoint", 1)); strings.Contains(s, p.T("lesson.endpoint.step1.hint2")) {
		t.Errorf("the second hint shows before it is asked for: %q", s)
	}
	p.run(browsertest.Wait(p.step("endpoint", 1, "button", p.T("learn.lesson.hint_more", "k", 2, "n", 2))))
	p.call(1, "bind", "host", "127.0.0.1", "port", "0")
	did := p.stepDone("endpoint", 1)
	port := p.localPort(1)
	if !strings.Contains(did, "127.0.0.1:"+port) {
		t.Errorf("step 1 does not say what bound the socket: %q", did)
	}
	p.stepOpen("endpoint", 2)
	p.call(1, "listen")
	did = p.stepDone("endpoint", 2)
	// What did the step is a link to its event in the traffic view.
	what := did[strings.LastIndex(did, p.T("learn.lesson.did"))+len(p.T("learn.lesson.did")):]
	p.run(browsertest.Click(p.step("endpoint", 2, "button", strings.TrimSpace(what))))
	p.waitLit(`#tl-list .tl-item .tl-row[aria-expanded="true"]`, func(n int) bool { return n >= 1 }, "the evidence link opens its event in the traffic view")
	// A wrong port is told as wrong, and ticks nothing off.
	p.answer("endpoint", 3, "spinbutton", "1")
	p.waitText(p.step("endpoint", 3), regexp.QuoteMeta(p.T("learn.lesson.answer_wrong", "answer", "1")))
	p.stepOpen("endpoint", 3)
	p.answer("endpoint", 3, "spinbutton", port)
	p.stepDone("endpoint", 3)
	passed("endpoint")
	p.shot("learn-lesson-done-ko")
	p.contrast("a finished lesson")

	// 2. The handshake: a second step socket connects to the listener,
	// which does not accept; the connection waits in its queue.
	p.run(browsertest.Click(p.column("button", p.T("learn.lesson.next", "title", p.T("learn.lesson.numbered", "n", 2, "title", p.T("lesson.handshake.title"))))))
	p.waitText(p.step("handshake", 1), p.todo())
	p.run(
		browsertest.Click(q("radio", p.T("open.kind.socket"))),
		browsertest.Click(q("button", p.T("open.socket"))),
	)
	p.call(2, "connect", "host", "127.0.0.1", "port", port)
	p.stepDone("handshake", 1)
	p.stepDone("handshake", 2)
	p.answer("handshake", 3, "spinbutton", p.localPort(2))
	p.stepDone("handshake", 3)
	passed("handshake")

	// 3. accept(): a live TCP server accepts two clients by itself. (This
	// one is opened from the list.)
	p.run(browsertest.Click(p.column("button", p.T("learn.lesson.back"))))
	start("accept")
	p.run(
		browsertest.Click(q("radio", p.T("open.kind.listen"))),
		browsertest.Fill(q("textbox", p.T("open.host")), "127.0.0.1"),
		browsertest.Fill(q("spinbutton", p.T("open.port")), "0"),
		browsertest.Click(q("button", p.T("open.listen"))),
	)
	p.waitText(p.card(3), regexp.QuoteMeta(p.T("state.listening")))
	p.run(browsertest.Click(p.card(3, "button", p.T("card.connect"))))
	p.stepDone("accept", 1)
	p.stepOpen("accept", 2)
	p.run(browsertest.Click(p.card(3, "button", p.T("card.connect"))))
	p.stepDone("accept", 2)
	p.answer("accept", 3, "spinbutton", "3")
	p.stepDone("accept", 3)
	passed("accept")

	// 4. Bytes: 안녕 to the echo is six bytes, the first EC.
	p.run(browsertest.Click(p.column("button", p.T("learn.lesson.next", "title", p.T("learn.lesson.numbered", "n", 4, "title", p.T("lesson.bytes.title"))))))
	p.waitText(p.step("bytes", 1), p.todo())
	p.run(browsertest.Click(q("button", "~echo TCP 127.0.0.1:")))
	p.waitText(p.card(8), regexp.QuoteMeta(p.T("state.established")))
	p.run(
		browsertest.Click(q("radio", p.T("composer.format.text"))),
		browsertest.Fill(q("textbox", p.T("composer.message")), "안녕"),
		browsertest.Press(q("textbox", p.T("composer.message")), "Enter"),
	)
	p.stepDone("bytes", 1)
	p.stepDone("bytes", 2)
	p.answer("bytes", 3, "spinbutton", "6")
	p.stepDone("bytes", 3)
	p.answer("bytes", 4, "textbox", "EC")
	p.stepDone("bytes", 4)
	passed("bytes")

	// The list says all four are done; so does a reloaded page.
	checkDone := func(when string) {
		p.t.Helper()
		for _, id := range []string{"endpoint", "handshake", "accept", "bytes"} {
			if s := p.text(p.column("button", "~"+p.T("lesson."+id+".title"))); !strings.Contains(s, p.T("learn.lesson.status_done")) {
				t.Errorf("%s: lesson %s is not marked done in the list: %q", when, id, s)
			}
		}
	}
	p.run(browsertest.Click(p.column("button", p.T("learn.lesson.back"))))
	checkDone("after the lessons")
	p.run(chromedp.Reload())
	p.waitConnected()
	checkDone("after a reload")

	// A finished lesson shows what the learner did, after the reload too.
	p.run(browsertest.Click(p.column("button", "~"+p.T("lesson.endpoint.title"))))
	if s := p.stepDone("endpoint", 1); !strings.Contains(s, "127.0.0.1:"+port) {
		t.Errorf("after a reload, lesson 1 does not say what the learner did: %q", s)
	}
	passed("endpoint")
	p.shot("learn-lesson-reloaded-ko")

	// Restart starts it afresh.
	p.run(browsertest.Click(p.column("button", p.T("learn.lesson.again"))))
	p.waitText(p.step("endpoint", 1), p.todo())
	p.run(browsertest.Click(p.column("button", p.T("learn.lesson.back"))))
	if s := p.text(p.column("button", "~"+p.T("lesson.endpoint.title"))); strings.Contains(s, p.T("learn.lesson.status_done")) {
		t.Errorf("after Restart, lesson 1 is still marked done: %q", s)
	}

	// A lesson under way when the playground is opened afresh (a reload
	// comes back to the same session, docs/protocol.md §15.2) starts again
	// in the new session, and says why.
	p.run(chromedp.Navigate(p.base + "/" + p.eval(`location.search`)))
	p.waitConnected()
	p.waitText(p.column(), regexp.QuoteMeta(p.T("learn.lesson.welcome_back")))
	p.waitText(p.step("endpoint", 1), p.todo())
	p.run(
		browsertest.Click(q("radio", p.T("open.kind.listen"))),
		browsertest.Fill(q("spinbutton", p.T("open.port")), "0"),
		browsertest.Click(q("button", p.T("open.listen"))),
	)
	p.stepDone("endpoint", 1)
	p.stepDone("endpoint", 2)
	p.noProblems()
}

// lessonNumber is a lesson's place in the list, from 1.
func lessonNumber(id string) int {
	for i, l := range learn.All() {
		if l.ID == id {
			return i + 1
		}
	}
	return 0
}
