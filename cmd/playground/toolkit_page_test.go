package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"

	"github.com/socketplayground/playground/internal/browsertest"
	"github.com/socketplayground/playground/internal/learn"
	"github.com/socketplayground/playground/internal/session"
)

// The engineer's toolkit on the page (issue 9): saved payloads
// (static/js/ui/payloads.js), templates and the server's repeat in the
// composer (ui/composer.js, template.js) and auto-reply rules on a card
// (ui/responders.js), all over real sockets on loopback.

// tkRule adds an auto-reply rule on socket n's card through its form.
func (p *pageT) tkRule(n int, match, patternFmt, pattern, replyFmt, reply string) {
	p.t.Helper()
	p.run(
		browsertest.Click(card(n, "button", "Add a rule")),
		browsertest.Select(card(n, "combobox", "When received bytes"), match),
		browsertest.Fill(card(n, "textbox", "Pattern"), pattern),
		browsertest.Select(card(n, "combobox", "Pattern format"), patternFmt),
		browsertest.Fill(card(n, "textbox", "Reply"), reply),
		browsertest.Select(card(n, "combobox", "Reply format"), replyFmt),
		browsertest.Click(card(n, "button", "Add rule")),
	)
}

// tkSave saves what the composer holds as a payload named name, with a
// target (proto "" for none), through the Save… dialog.
func (p *pageT) tkSave(name, proto, host, port string) {
	p.t.Helper()
	dlg := func(roleName ...string) browsertest.Target {
		return q(append([]string{"dialog", "Save a payload"}, roleName...)...)
	}
	label := map[string]string{"": "None", "tcp": "TCP", "udp": "UDP"}[proto]
	p.run(
		browsertest.Click(q("button", "Save…")),
		browsertest.Fill(dlg("textbox", "Name"), name),
		browsertest.Select(dlg("combobox", "Protocol"), label),
	)
	if proto != "" {
		p.run(browsertest.Fill(dlg("textbox", "Host"), host), browsertest.Fill(dlg("spinbutton", "Port"), port))
	}
	p.run(browsertest.Click(dlg("button", "Save")), browsertest.WaitGone(q("dialog", "Save a payload")))
}

// tkNews is what the collection says of what was done to it.
var tkNews = q("status", "News of the saved payloads")

// tkReload reloads the page and waits until it is back in its session.
func (p *pageT) tkReload() {
	p.t.Helper()
	p.run(chromedp.Reload())
	p.waitText(q("status", "Connection to the server"), `Connected · session`)
}

// tkStored reads the saved payloads as the browser keeps them.
func (p *pageT) tkStored() (doc struct {
	Format   string            `json:"format"`
	Version  int               `json:"version"`
	Payloads []json.RawMessage `json:"payloads"`
}) {
	p.t.Helper()
	raw := p.eval(`localStorage.getItem("playground.payloads.v1") || "null"`)
	if err := json.Unmarshal([]byte(raw), &doc); err != nil {
		p.t.Fatalf("the stored collection is not JSON: %v\n%s", err, raw)
	}
	return doc
}

// TestPagePayloads is the test: a payload saved with its target,
// the page reloaded, the payload sent from the collection with a click and
// with Alt+1, and the reply of an auto-reply rule seen.
func TestPagePayloads(t *testing.T) {
	base, _ := startProgram(t, "-addr", "127.0.0.1:0", "-services", "none")
	p := openPage(t, base)

	// A server whose rule answers PING with PONG and the firing's number.
	p.open("TCP server", "127.0.0.1", "0")
	port := p.localPort(1)
	p.tkRule(1, "contain", "Text", "PING", "Template", `PONG {{counter}}\r\n`)
	p.waitText(card(1), `Rule 1: when it contains "PING", reply template "PONG \{\{counter\}\}\\r\\n"\s*not fired yet`)
	if s := p.text(card(1)); !strings.Contains(s, "Rules here apply to every connection this server accepts") {
		t.Errorf("the listener's card does not say its rules apply to its connections: %q", s)
	}

	// Save "PING" + CRLF, aimed at the server.
	p.run(
		browsertest.Click(q("radio", "Text")),
		browsertest.Select(q("combobox", "Line ending"), `\r\n (CRLF)`),
		browsertest.Fill(q("textbox", "Message"), "PING"),
	)
	p.tkSave("ping the server", "tcp", "127.0.0.1", port)
	p.waitText(tkNews, `Saved ping the server: send it with Alt\+1`)
	p.run(browsertest.Wait(q("list", "Saved payloads", "button", "Send ping the server (Alt+1)")))
	p.shot("tk-01-saved")

	p.tkReload()
	p.waitText(card(1), `listening`)
	p.waitText(card(1), `Rule 1: when it contains "PING"`)
	send := q("list", "Saved payloads", "button", "Send ping the server (Alt+1)")
	if s := p.text(q("list", "Saved payloads")); !strings.Contains(s, "TCP 127.0.0.1:"+port) || !strings.Contains(s, "Text + CRLF") {
		t.Errorf("after the reload the saved payload reads %q", s)
	}

	// A click: no connection to the server yet, so one is made, then sent on.
	p.run(browsertest.Click(send))
	p.waitText(card(2), `established`)
	p.run(browsertest.Wait(q("list", "Events", "button", `~socket 2 received 8 bytes: PONG 1\r\n`)))
	p.run(browsertest.Wait(q("list", "Events", "button", `~auto-reply rule 1 (contains "PING") of socket 1 → send template "PONG {{counter}}\r\n"`)))
	p.waitText(q("list", "Saved payloads"), `Sent 6 bytes from socket 2`)

	// Alt+1 from outside any text field: the same connection again.
	p.run(browsertest.Press(q("button", "~Theme:"), "1", "Alt"))
	p.run(browsertest.Wait(q("list", "Events", "button", `~socket 2 received 8 bytes: PONG 2\r\n`)))
	p.waitText(card(2), `Sent\s*12 bytes in 2 sends`)
	p.waitText(card(1), `fired 2 times`)
	// In the message box Alt+1 is typing, not a shortcut (which would have
	// kept the 1 from being typed).
	var typed string
	p.run(browsertest.Fill(q("textbox", "Message"), ""), browsertest.Press(q("textbox", "Message"), "1", "Alt"), browsertest.Value(q("textbox", "Message"), &typed))
	if typed != "1" {
		t.Errorf("Alt+1 in the message box left %q in it, want 1", typed)
	}
	var cards int
	p.run(browsertest.Count(q("article", "~Socket 4 ·"), &cards))
	if cards != 0 {
		t.Errorf("sending twice opened another connection")
	}

	// The collection is the browser's own, in the documented format.
	doc := p.tkStored()
	if doc.Format != "socket-playground-payloads" || doc.Version != 1 || len(doc.Payloads) != 1 {
		t.Fatalf("the stored collection is %+v", doc)
	}
	want := `{"name":"ping the server","payload":"PING","format":"text","eol":"crlf","target":{"proto":"tcp","host":"127.0.0.1","port":` + port + `}}`
	if got := string(doc.Payloads[0]); got != want {
		t.Errorf("stored item %s, want %s", got, want)
	}
	p.shot("tk-02-sent")
	p.noProblems()
}

// TestPagePayloadsLooks puts everything of the toolkit on screen — saved
// payloads, a template's preview and its help, auto-reply rules, a
// running repeat — and checks, in both themes, that its text meets WCAG AA
// contrast and that nothing is wider than the window, from a phone to a
// wide screen; the screenshots are artifacts.
func TestPagePayloadsLooks(t *testing.T) {
	base, _ := startProgram(t, "-addr", "127.0.0.1:0", "-services", "free")
	p := openPage(t, base)
	p.open("TCP server", "127.0.0.1", "0")
	port := p.localPort(1)
	p.tkRule(1, "contain", "Text", "PING", "Text with escapes", `PONG\r\n`)
	p.tkRule(1, "match the regex", "Text", `GET /\S*`, "Template", `HTTP/1.0 200 OK\r\n\r\n{{time}}`)
	p.run(browsertest.Click(card(1, "button", "Connect a client")))
	p.waitText(card(2), `established`)
	for i, m := range []struct{ format, text, name string }{
		{"Text", "PING", "ping"},
		{"Hex", "de ad be ef", "deadbeef_with_a_long_name_to_see_it_cut_short"},
		{"Template", `seq {{counter u16}} at {{time clock}}`, "sequenced"},
		{"Text with escapes", `GET / HTTP/1.0\r\n\r\n`, "http get"},
	} {
		p.run(browsertest.Click(q("radio", m.format)), browsertest.Fill(q("textbox", "Message"), m.text))
		p.tkSave(m.name, []string{"tcp", "", "udp", "tcp"}[i], "127.0.0.1", port)
	}
	// A repeat that runs until it is stopped, and the template's help.
	p.run(
		browsertest.Click(q("radio", "Template")),
		browsertest.Fill(q("textbox", "Message"), `tick {{counter}}\n`),
		browsertest.Fill(q("spinbutton", "Repeat"), "0"),
		browsertest.Fill(q("spinbutton", "Every (ms)"), "200"),
		browsertest.Click(q("button", "Send")),
	)
	p.waitText(q("status", "Send progress"), `sent \(until you stop it\)`)
	p.run(
		browsertest.Fill(q("textbox", "Message"), `PING {{counter}}`),
		browsertest.Click(q("button", "Placeholders")),
		browsertest.Click(card(3, "button", "Add a rule")),
	)
	for _, theme := range []string{"light", "dark"} {
		p.run(chromedp.Evaluate(`document.documentElement.dataset.theme = "`+theme+`"`, nil))
		var low []string
		p.run(chromedp.Evaluate(contrastJS, &low))
		if len(low) > 0 {
			t.Errorf("theme %s: text below WCAG AA contrast:\n%s", theme, strings.Join(low, "\n"))
		}
		for _, size := range [][2]int64{{390, 844}, {768, 1024}, {1280, 800}, {1920, 1080}} {
			var overflow int
			var wide []string
			p.run(
				chromedp.EmulateViewport(size[0], size[1]),
				chromedp.Evaluate(`document.documentElement.scrollWidth - document.documentElement.clientWidth`, &overflow),
				chromedp.Evaluate(tkWideJS, &wide),
			)
			// The traffic view's columns need a tablet's width; the
			// toolkit's parts fit a phone's.
			if overflow > 0 && size[0] >= 768 || len(wide) > 0 {
				t.Errorf("at %dx%d the page is %d px wider than the window; too wide:\n%s", size[0], size[1], overflow, strings.Join(wide, "\n"))
			}
			p.shotFull(fmt.Sprintf("tk-looks-%s-%d", theme, size[0]))
			if size[0] < 900 {
				// One column: the composer and the collection, in the window.
				p.run(chromedp.Evaluate(`document.getElementById("composer").scrollIntoView()`, nil))
				p.shot(fmt.Sprintf("tk-looks-%s-%d-composer", theme, size[0]))
			}
		}
		p.run(chromedp.EmulateViewport(1280, 800))
		p.shot("tk-looks-" + theme)
	}
	// The dialog that saves a payload, on a laptop and on a phone.
	p.run(browsertest.Click(q("button", "Save…")), browsertest.Wait(q("dialog", "Save a payload")))
	for _, theme := range []string{"light", "dark"} {
		p.run(chromedp.Evaluate(`document.documentElement.dataset.theme = "`+theme+`"`, nil))
		var low []string
		p.run(chromedp.Evaluate(contrastJS, &low))
		if len(low) > 0 {
			t.Errorf("theme %s, the dialog open: text below WCAG AA contrast:\n%s", theme, strings.Join(low, "\n"))
		}
		for _, size := range [][2]int64{{390, 844}, {1280, 800}} {
			p.run(chromedp.EmulateViewport(size[0], size[1]))
			p.shot(fmt.Sprintf("tk-dialog-%s-%d", theme, size[0]))
		}
	}
	p.run(browsertest.Press(q("dialog", "Save a payload", "textbox", "Name"), "Escape"), browsertest.WaitGone(q("dialog", "Save a payload")))
	p.run(chromedp.EmulateViewport(1280, 800))
	p.run(chromedp.Evaluate(`delete document.documentElement.dataset.theme`, nil))
	// In Korean, every word of the toolkit's own is Korean.
	p.setLang("ko")
	p.tkUntranslated(learn.Messages("en"), learn.Messages("ko"))
	p.shot("tk-looks-ko")
	p.run(chromedp.EmulateViewport(768, 1024))
	p.shotFull("tk-looks-ko-768")
	p.run(chromedp.EmulateViewport(1280, 800))
	p.setLang("en")
	p.run(browsertest.Click(q("region", "Send", "button", "Stop")))
	p.waitText(q("status", "Send progress"), `^Stopped after \d+`)
	p.noProblems()
}

// tkWideJS lists the innermost visible elements of the toolkit's parts
// (the composer, the saved payloads, a card's rules and repeat) that reach
// past the window's right edge.
const tkWideJS = `(() => {
  const w = document.documentElement.clientWidth;
  const out = [];
  for (const el of document.querySelectorAll(".composer *, #payloads *, .card-toolkit *")) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.right <= w + 1) continue;
    if ([...el.children].some((c) => c.getBoundingClientRect().right > w + 1)) continue;
    out.push(el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + "." + String(el.className).replace(/ /g, ".") + " right=" + Math.round(r.right));
    if (out.length > 15) break;
  }
  return out;
})()`

// tkUpload hands a file to the collection's file chooser (#payloads-file),
// as choosing it in the dialog would.
func (p *pageT) tkUpload(path string) {
	p.t.Helper()
	p.run(chooseFile("payloads-file", path))
}

// tkDrop drops the file at path on the collection, as dragging it there
// from a file manager does.
func (p *pageT) tkDrop(path string) {
	p.t.Helper()
	var r struct{ X, Y float64 }
	p.run(chromedp.Evaluate(`(() => { const e = document.getElementById("payloads"); e.scrollIntoView({ block: "center" }); const r = e.getBoundingClientRect(); return { X: r.left + r.width / 2, Y: r.top + r.height / 2 }; })()`, &r))
	data := &input.DragData{Files: []string{path}, DragOperationsMask: 1}
	p.run(chromedp.ActionFunc(func(ctx context.Context) error {
		for _, typ := range []input.DispatchDragEventType{input.DragEnter, input.DragOver, input.Drop} {
			if err := input.DispatchDragEvent(typ, r.X, r.Y, data).Do(ctx); err != nil {
				return err
			}
		}
		return nil
	}))
}

// tkDownloaded waits for the file name in dir, reads it and removes it.
func (p *pageT) tkDownloaded(dir, name string) []byte {
	p.t.Helper()
	path := filepath.Join(dir, name)
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(25 * time.Millisecond) {
		if b, err := os.ReadFile(path); err == nil && len(b) > 0 {
			os.Remove(path)
			return b
		}
	}
	entries, _ := os.ReadDir(dir)
	p.t.Fatalf("no %s was saved; the download folder has %v; page errors: %q", name, entries, p.b.Problems())
	return nil
}

// tkNames reads the collection's names, in order, from its Send buttons.
func (p *pageT) tkNames() string {
	p.t.Helper()
	return p.eval(`[...document.querySelectorAll("#payloads-list .p-name")].map((b) => b.textContent).join(" | ")`)
}

// TestPagePayloadsImportExport: the collection exported (empty, then
// full) as the documented JSON, imported back (a file chosen, or dropped
// on the panel) with items already saved and items that are wrong (each
// named with why), and
// managed: renamed, moved, sorted, deleted with undo, filtered; and
// storage that cannot be read is said and kept aside, not lost.
func TestPagePayloadsImportExport(t *testing.T) {
	base, _ := startProgram(t, "-addr", "127.0.0.1:0", "-services", "none")
	p := openPage(t, base)
	dir := t.TempDir()
	p.run(browser.SetDownloadBehavior(browser.SetDownloadBehaviorBehaviorAllow).WithDownloadPath(dir))
	region := func(roleName ...string) browsertest.Target {
		return q(append([]string{"region", "Saved payloads"}, roleName...)...)
	}
	const file = "socket-playground-payloads.json"
	const empty = `{"format":"socket-playground-payloads","version":1,"payloads":[]}`
	compact := func(b []byte) string {
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatalf("not JSON: %v\n%s", err, b)
		}
		c, _ := json.Marshal(v)
		return string(c)
	}

	// An empty collection exports as an empty list.
	p.run(browsertest.Click(region("button", "Export saved payloads")))
	if got := compact(p.tkDownloaded(dir, file)); got != compact([]byte(empty)) {
		t.Errorf("the empty collection exports as %s, want %s", got, empty)
	}
	p.waitText(tkNews, `Exported 0 payloads to `+file)

	// One saved by hand, then a file with it again, two new ones and three
	// that are wrong.
	p.run(browsertest.Click(q("radio", "Text")), browsertest.Fill(q("textbox", "Message"), "hello"))
	p.tkSave("hello", "", "", "")
	in := filepath.Join(dir, "in.json")
	os.WriteFile(in, []byte(`{"format":"socket-playground-payloads","version":1,"payloads":[
		{"name":"hello","payload":"hello","format":"text","eol":""},
		{"name":"echo udp","payload":"00 ff","format":"hex","target":{"proto":"udp","host":"::1","port":7}},
		{"name":"bad port","payload":"x","format":"text","target":{"proto":"tcp","host":"127.0.0.1","port":70000}},
		{"name":"bad hex","payload":"0g","format":"hex"},
		{"name":"tpl","payload":"n={{counter}}","format":"template","eol":"crlf"},
		"not an object"
	]}`), 0o644)
	p.tkUpload(in)
	news := p.waitText(tkNews, `Imported 2 payloads from in\.json`)
	for _, want := range []string{
		"1 was saved already and is not repeated.",
		"3 items are wrong and were not imported:",
		`item 3 (“bad port”): the target's "port" must be a whole number from 1 to 65535, not 70000`,
		`item 4 (“bad hex”): its payload is not valid Hex: "g" at character 2 is not a hex digit`,
		`item 6: it is not a JSON object`,
	} {
		if !strings.Contains(news, want) {
			t.Errorf("the import's news %q does not say %q", news, want)
		}
	}
	if got := p.tkNames(); got != "hello | echo udp | tpl" {
		t.Errorf("after the import the collection is %q", got)
	}
	p.shot("tk-03-imported")

	// Export, empty the collection, import the export: the same again;
	// twice: nothing new.
	p.run(browsertest.Click(region("button", "Export saved payloads")))
	out := p.tkDownloaded(dir, file)
	want := `{"format":"socket-playground-payloads","version":1,"payloads":[` +
		`{"eol":"","format":"text","name":"hello","payload":"hello"},` +
		`{"eol":"","format":"hex","name":"echo udp","payload":"00 ff","target":{"host":"::1","port":7,"proto":"udp"}},` +
		`{"eol":"crlf","format":"template","name":"tpl","payload":"n={{counter}}"}]}`
	want = compact([]byte(want))
	if got := compact(out); got != want {
		t.Errorf("the export is\n%s\nwant\n%s", got, want)
	}
	for _, name := range []string{"hello", "echo udp", "tpl"} {
		p.run(browsertest.Click(region("button", "Delete "+name)))
	}
	p.waitText(region(), `Nothing saved yet`)
	again := filepath.Join(dir, "again.json")
	os.WriteFile(again, out, 0o644)
	p.tkUpload(again)
	p.waitText(tkNews, `^Imported 3 payloads from again\.json\.`)
	p.tkUpload(again)
	p.waitText(tkNews, `^Imported 0 payloads from again\.json\. 3 were saved already and are not repeated\.`)
	if got := compact([]byte(p.eval(`localStorage.getItem("playground.payloads.v1")`))); got != want {
		t.Errorf("kept after the round trip:\n%s\nwant\n%s", got, want)
	}

	// Files that are not collections.
	for _, c := range []struct{ body, news string }{
		{`{"payloads": [`, `not\.json is not JSON \(.*\): nothing was imported\.`},
		{`{"format":"something else","version":1,"payloads":[]}`, `not\.json is not a collection of saved payloads: its "format" must be "socket-playground-payloads"\. Nothing was imported\.`},
		{`{"format":"socket-playground-payloads","version":2,"payloads":[]}`, `its "version" is 2; this page reads version 1`},
	} {
		f := filepath.Join(dir, "not.json")
		os.WriteFile(f, []byte(c.body), 0o644)
		p.tkUpload(f)
		p.waitText(tkNews, c.news)
	}

	// Edit: a new name; the shortcut follows the place in the list.
	p.run(
		browsertest.Click(region("button", "Edit or rename tpl")),
		browsertest.Fill(q("dialog", "Edit a saved payload", "textbox", "Name"), "counter line"),
		browsertest.Click(q("dialog", "Edit a saved payload", "button", "Save")),
	)
	p.waitText(tkNews, `Saved the changes to counter line`)
	p.run(browsertest.Click(region("button", "Move counter line up")))
	p.run(browsertest.Wait(region("button", "Send counter line (Alt+2)")))
	if got := p.tkNames(); got != "hello | counter line | echo udp" {
		t.Errorf("after moving up the collection is %q", got)
	}
	p.run(browsertest.Click(region("button", "Sort A–Z")))
	if got := p.tkNames(); got != "counter line | echo udp | hello" {
		t.Errorf("sorted, the collection is %q", got)
	}
	p.run(browsertest.Click(region("button", "Undo")))
	p.waitText(tkNews, `Put back as it was`)
	p.run(browsertest.Click(region("button", "Delete echo udp")), browsertest.Click(region("button", "Undo")))
	if got := p.tkNames(); got != "hello | counter line | echo udp" {
		t.Errorf("after undoing, the collection is %q", got)
	}

	// Many: a filter shows, and narrows the list.
	var more []string
	for i := range 5 {
		more = append(more, fmt.Sprintf(`{"name":"item %d","payload":"%d","format":"text"}`, i, i))
	}
	f := filepath.Join(dir, "more.json")
	os.WriteFile(f, []byte(`{"format":"socket-playground-payloads","version":1,"payloads":[`+strings.Join(more, ",")+`]}`), 0o644)
	p.tkDrop(f) // dropped on the collection, not chosen
	p.waitText(tkNews, `Imported 5 payloads from more\.json`)
	p.run(browsertest.Fill(region("searchbox", "Filter"), "udp"))
	if got := p.tkNames(); got != "echo udp" {
		t.Errorf("filtered by udp, the list shows %q", got)
	}
	p.run(browsertest.Fill(region("searchbox", "Filter"), "nothing like it"))
	p.waitText(region(), `No saved payload matches “nothing like it”`)
	p.run(browsertest.Fill(region("searchbox", "Filter"), ""))

	// Storage the page cannot read: said, kept aside, and the page works.
	p.run(chromedp.Evaluate(`localStorage.setItem("playground.payloads.v1", "{oops")`, nil))
	p.tkReload()
	p.waitText(tkNews, `The saved payloads could not be read \(.*\)\. Nothing was lost: the stored text is kept as playground\.payloads\.v1\.unreadable`)
	if got := p.eval(`localStorage.getItem("playground.payloads.v1.unreadable")`); got != "{oops" {
		t.Errorf("the unreadable collection was kept as %q", got)
	}
	p.noProblems()
}

// tkPeer is a TCP peer on loopback that reads everything one connection
// sends.
type tkPeer struct {
	port string
	got  chan []byte // every read, in order
}

func tkStartPeer(t *testing.T) *tkPeer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	pr := &tkPeer{port: fmt.Sprint(ln.Addr().(*net.TCPAddr).Port), got: make(chan []byte, 1<<16)}
	done := make(chan struct{})
	t.Cleanup(func() {
		ln.Close()
		<-done
	})
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		go func() { <-t.Context().Done(); c.Close() }()
		buf := make([]byte, 64<<10)
		for {
			n, err := c.Read(buf)
			if n > 0 {
				pr.got <- append([]byte(nil), buf[:n]...)
			}
			if err != nil {
				return
			}
		}
	}()
	return pr
}

// read returns the next n bytes the peer received.
func (pr *tkPeer) read(t *testing.T, n int) []byte {
	t.Helper()
	var b []byte
	timeout := time.After(15 * time.Second)
	for len(b) < n {
		select {
		case c := <-pr.got:
			b = append(b, c...)
		case <-timeout:
			t.Fatalf("the peer got %d bytes, want %d: %q", len(b), n, b)
		}
	}
	if len(b) > n {
		t.Fatalf("the peer got %d bytes, want %d: %q", len(b), n, b)
	}
	return b
}

// tkLines is "word 1\n" … "word n\n".
func tkLines(word string, n int) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "%s %d\n", word, i)
	}
	return b.String()
}

// TestPageRepeat: a template's preview and help in the composer, then the
// server's repeat of it: N numbered lines, byte for byte at a peer of the
// test's, with the live count reaching N; and repeats until stopped,
// stopped from the composer, and from the card after a reload.
func TestPageRepeat(t *testing.T) {
	base, _ := startProgram(t, "-addr", "127.0.0.1:0", "-services", "none")
	peer := tkStartPeer(t)
	p := openPage(t, base)
	p.open("TCP client", "127.0.0.1", peer.port)
	p.waitText(card(1), `established`)
	msg, preview, progress := q("textbox", "Message"), q("status", "Bytes to send"), q("status", "Send progress")

	// The preview is the first send, or what is wrong.
	p.run(
		browsertest.Click(q("radio", "Template")),
		browsertest.Select(q("combobox", "Line ending"), `\n (LF)`),
		browsertest.Fill(msg, "line {{counter}}"),
	)
	p.waitText(preview, `^First send: 7 bytes: 6c 69 6e 65 20 31 0a$`)
	p.run(browsertest.Fill(msg, "line {{count}}"))
	p.waitText(preview, `^Cannot send: \{\{count\}\} at character 6: unknown placeholder "count" \(known: counter, time, random\)$`)
	p.run(browsertest.Fill(msg, `{{counter u16 from=258}}\x7b\x7b`))
	p.waitText(preview, `^First send: 5 bytes: 01 02 7b 7b 0a$`)
	// The help lists the placeholders; one is put where the caret is.
	p.run(browsertest.Fill(msg, "n="), browsertest.Click(q("button", "Placeholders")))
	p.run(browsertest.Click(q("region", "Placeholders", "button", "Insert {{counter hex}}")))
	var v string
	p.run(browsertest.Value(msg, &v))
	if v != "n={{counter hex}}" {
		t.Errorf("after inserting, the message is %q", v)
	}
	p.run(browsertest.Press(q("region", "Placeholders", "button", "Insert {{time}}"), "Escape"), browsertest.WaitGone(q("region", "Placeholders")))

	// 200 numbered lines, as fast as flow control allows.
	const n = 200
	want := tkLines("line", n)
	p.run(
		browsertest.Fill(msg, "line {{counter}}"),
		browsertest.Fill(q("spinbutton", "Repeat"), fmt.Sprint(n)),
		browsertest.Fill(q("spinbutton", "Every (ms)"), "0"),
		browsertest.Click(q("button", "Send")),
	)
	p.waitText(progress, fmt.Sprintf(`^All %d sent · %s bytes$`, n, tkCommas(len(want))))
	if got := string(peer.read(t, len(want))); got != want {
		t.Errorf("the peer got %q…, want %q…", got[:min(len(got), 40)], want[:40])
	}
	p.waitText(card(1), fmt.Sprintf(`Repeat done: all %d sent · %s bytes`, n, tkCommas(len(want))))
	p.waitText(card(1), fmt.Sprintf(`Sent\s*%s bytes in %d sends`, tkCommas(len(want)), n))
	p.run(browsertest.Wait(q("list", "Events", "button", fmt.Sprintf("~socket 1 sent 9 bytes (send %d of a repeat)", n))))
	p.run(browsertest.Wait(q("list", "Events", "button", fmt.Sprintf(`~socket 1 repeat done: %d sends done, %s bytes in all`, n, tkCommas(len(want))))))

	// Bytes, not a template: the page knows what each send carries.
	p.run(
		browsertest.Click(q("radio", "Hex")),
		browsertest.Fill(msg, "2e 2e"),
		browsertest.Fill(q("spinbutton", "Repeat"), "5"),
		browsertest.Click(q("button", "Send")),
	)
	p.waitText(progress, `^All 5 sent · 15 bytes$`)
	if got := string(peer.read(t, 15)); got != strings.Repeat("..\n", 5) {
		t.Errorf("the peer got %q, want ..\\n five times", got)
	}
	p.run(browsertest.Wait(q("list", "Events", "button", `~socket 1 sent 3 bytes (send 5 of a repeat): ..\n`)))

	// Until stopped, every 20 ms: stopped from the composer.
	p.run(
		browsertest.Click(q("radio", "Template")),
		browsertest.Fill(msg, "tick {{counter}}"),
		browsertest.Fill(q("spinbutton", "Repeat"), "0"),
		browsertest.Fill(q("spinbutton", "Every (ms)"), "20"),
		browsertest.Click(q("button", "Send")),
	)
	p.waitText(progress, `^([3-9]|\d\d+) sent \(until you stop it\)`)
	p.run(browsertest.Click(q("region", "Send", "button", "Stop")))
	s := p.waitText(progress, `^Stopped after \d+ · [\d,]+ bytes$`)
	var k int
	fmt.Sscanf(s, "Stopped after %d", &k)
	if got, want := string(peer.read(t, len(tkLines("tick", k)))), tkLines("tick", k); got != want {
		t.Errorf("the peer got %q, want %q", got, want)
	}
	p.run(browsertest.Wait(q("list", "Events", "button", fmt.Sprintf("~socket 1 repeat done: stopped by you, after %d sends", k))))

	// Until stopped again; it runs on the server, so a reload finds it
	// under way, and the card stops it.
	p.run(browsertest.Fill(msg, "tock {{counter}}"), browsertest.Click(q("button", "Send")))
	p.waitText(card(1), `Repeating until stopped: ([2-9]|\d\d+) sent`)
	p.tkReload()
	p.waitText(card(1), `Repeating until stopped: \d+ sent`)
	p.waitText(progress, `sent \(until you stop it\)`)
	p.run(browsertest.Click(card(1, "button", "Stop")))
	s = p.waitText(card(1), `Repeat stopped after \d+ · `)
	fmt.Sscanf(s[strings.Index(s, "Repeat stopped after"):], "Repeat stopped after %d", &k)
	if got, want := string(peer.read(t, len(tkLines("tock", k)))), tkLines("tock", k); got != want {
		t.Errorf("the peer got %q, want %q", got, want)
	}

	// The session's log, to replay below.
	id, key := p.owned()
	_, log := get(t, base+"/session/"+id+"/log.jsonl?key="+key)

	// The Code tab has the repeats too.
	p.run(browsertest.Click(q("tab", "Code")))
	code := p.waitText(q("region", "Your calls in Python and Go"), `tock`)
	if !strings.Contains(code, "for k in range(1, 201):") {
		t.Errorf("the Code tab has no loop for the 200 lines: %.600s", code)
	}
	p.noProblems()

	// The recording replays, its repeats and their ends included.
	f := filepath.Join(t.TempDir(), "repeat.jsonl")
	if err := os.WriteFile(f, []byte(log), 0o644); err != nil {
		t.Fatal(err)
	}
	rp := openReplay(t, base, "en", 1280, 800)
	rp.upload(f)
	rp.run(browsertest.Select(q("combobox", rp.T("replay.speed")), rp.T("replay.instant")))
	rp.waitAt(strings.Count(strings.TrimSpace(log), "\n"))
	rp.waitText(card(1), fmt.Sprintf(`Repeat stopped after %d · `, k))
	rp.run(browsertest.Wait(q("list", "Events", "button", fmt.Sprintf("~socket 1 repeat done: stopped by you, after %d sends", k))))
	rp.noProblems()
}

// tkCommas writes n as the page does in English: 1,692.
func tkCommas(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// TestPageResponder: an auto-reply rule added through a UDP socket's card,
// fired only by what it matches, each firing counted and in the timeline
// linked to the datagram it answered; a rule the server refuses; and the
// rule removed, after which nothing is answered. Then a saved payload for
// a UDP target of a family no socket has, sent from a socket the page binds
// for it; and the recording of it all, replayed.
func TestPageResponder(t *testing.T) {
	base, _ := startProgram(t, "-addr", "127.0.0.1:0", "-services", "none")
	p := openPage(t, base)
	p.open("UDP socket", "127.0.0.1", "0")
	a := p.localPort(1)
	p.open("UDP socket", "127.0.0.1", "0")
	b := p.localPort(2)

	p.tkRule(1, "equal", "Hex", "70 69 6e 67", "Text", "pong")
	p.waitText(card(1), `Rule 1: when it is exactly hex 70 69 6e 67, reply "pong"\s*not fired yet`)
	// The server's refusal is said under the form.
	p.tkRule(1, "match the regex", "Text", "(", "Text", "x")
	p.waitText(card(1, "alert", ""), `"pattern" is not a valid regular expression`)
	p.run(browsertest.Press(card(1, "textbox", "Pattern"), "Escape"))

	// From socket 2: "ping" is answered, "pingx" is not.
	p.run(browsertest.Click(card(2, "button", "Send…")), browsertest.Fill(q("spinbutton", "To port"), a))
	p.send("Text", "ping")
	p.run(browsertest.Wait(q("list", "Events", "button", "~socket 2 received 4 bytes from 127.0.0.1:"+a+": pong")))
	p.run(browsertest.Wait(q("list", "Events", "button", `~socket 1 call sendto: auto-reply rule 1 (is exactly hex 70 69 6e 67) → sendto 127.0.0.1:`+b+`, 4 bytes`)))
	p.waitText(card(1), `fired 1 time\b`)
	// A firing links to the datagram it answered.
	p.run(browsertest.Click(q("list", "Events", "button", `~socket 1 call sendto: auto-reply rule 1`)))
	p.run(browsertest.Click(q("list", "Events", "button", "~Show the data it answered")))
	if got := p.eval(`document.activeElement.getAttribute("aria-label") || ""`); !strings.Contains(got, "socket 1 received 4 bytes from 127.0.0.1:"+b+": ping") {
		t.Errorf("the link to the matched data focused %q", got)
	}
	p.shot("tk-04-responder")
	p.run(browsertest.Click(q("button", "~Jump to latest")))

	p.send("Text", "pingx")
	p.send("Text", "ping")
	p.waitText(card(1), `fired 2 times`)
	p.waitText(card(2), `Received\s*8 bytes in 2 datagrams`)
	// The session's log so far, to replay below.
	id, key := p.owned()
	_, log := get(t, base+"/session/"+id+"/log.jsonl?key="+key)

	// Removed: the next ping is not answered (seen before the next datagram).
	p.run(browsertest.Click(card(1, "button", "Remove rule 1")))
	p.run(browsertest.WaitGone(card(1, "button", "Remove rule 1")))
	p.send("Text", "ping")
	p.send("Text", "after")
	p.run(browsertest.Wait(q("list", "Events", "button", "~socket 1 received 5 bytes from 127.0.0.1:"+b+": after")))
	p.waitText(card(2), `Received\s*8 bytes in 2 datagrams`)
	if s := p.text(card(1)); strings.Contains(s, "Rule 1") {
		t.Errorf("the removed rule is still on the card: %q", s)
	}

	// A saved UDP payload for a peer of the test's on ::1: no IPv6 socket
	// is open, so the page binds [::]:0 and sends from it.
	uc, err := net.ListenUDP("udp6", &net.UDPAddr{IP: net.IPv6loopback})
	if err != nil {
		t.Fatal(err)
	}
	defer uc.Close()
	go func() {
		buf := make([]byte, 64)
		for {
			n, from, err := uc.ReadFromUDP(buf)
			if err != nil {
				return
			}
			uc.WriteToUDP(append([]byte("ho "), buf[:n]...), from)
		}
	}()
	v6 := fmt.Sprint(uc.LocalAddr().(*net.UDPAddr).Port)
	p.run(browsertest.Click(q("radio", "Text")), browsertest.Fill(q("textbox", "Message"), "hi"))
	p.tkSave("hi over IPv6", "udp", "::1", v6)
	p.run(browsertest.Click(q("button", "Send hi over IPv6 (Alt+1)")))
	p.waitText(card(3), `Local\s*\[::\]:\d+`)
	p.run(browsertest.Wait(q("list", "Events", "button", "~socket 3 received 5 bytes from [::1]:"+v6+": ho hi")))
	p.noProblems()

	// The recording replays: the rule on its card, its firings counted.
	f := filepath.Join(t.TempDir(), "responder.jsonl")
	if err := os.WriteFile(f, []byte(log), 0o644); err != nil {
		t.Fatal(err)
	}
	rp := openReplay(t, base, "en", 1280, 800)
	rp.upload(f)
	rp.run(browsertest.Select(q("combobox", rp.T("replay.speed")), rp.T("replay.instant")))
	rp.waitAt(strings.Count(strings.TrimSpace(log), "\n")) // every line but the header
	rp.waitText(card(1), `Rule 1: when it is exactly hex 70 69 6e 67, reply "pong"\s*fired 2 times`)
	var pongs int
	rp.run(browsertest.Count(q("list", "Events", "button", "~socket 2 received 4 bytes from 127.0.0.1:"+a+": pong"), &pongs))
	if pongs != 2 {
		t.Errorf("the replay shows %d replies, want 2", pongs)
	}
	rp.noProblems()
}

// TestPageRepeatTemplateRules checks that the composer's preview reads a
// template as the server does (static/js/template.js against
// session.ParseTemplate): for the same text, an error in both or the same
// bytes for the first sends at the same time (random bytes: their length).
func TestPageRepeatTemplateRules(t *testing.T) {
	base, _ := startProgram(t, "-addr", "127.0.0.1:0", "-services", "none")
	p := openPage(t, base)
	inputs := []string{"", "a", "{{counter}}", "{{counter hex}}", "{{ counter  u16 }}", "{{counter\thex}}", "{{counter u8 from=0}}", "{{counter from=9223372036854775808}}",
		"{{counter from=9223372036854775809}}", "{{counter u64le from=5}}", "{{counter hex hex}}", "{{counter from=1 from=2}}", "{{counter from=}}", "{{counter from=+1}}",
		"{{time}}", "{{time unix}}", "{{time unix_ms}}", "{{time clock}}", "{{time u32}}", "{{time u64}}", "{{time unix clock}}", "{{time rfc}}",
		"{{random 1}}", "{{random 65536}}", "{{random 65537}}", "{{random 0}}", "{{random 4 hex}}", "{{random 4 hex x}}", "{{random}}", "{{random x}}",
		"{{", "}}", "{{}}", "{{ }}", "{{{counter}}", `\x7b\x7b`, `\{{counter}}`, `\\{{counter}}`, `\x{{counter}}`, `a\q`, `PING {{counter}}\r\n`, "안녕 {{counter}}",
		"{{nope}}", "{{counter}}{{counter hex}}{{time unix}}"}
	words := []string{"{{", "}}", "counter", "time", "random", " ", "hex", "u16", "from=", "3", "unix", "clock", `\`, "x", "n", "\\x7b", "안"}
	rnd := rand.New(rand.NewPCG(3, 4))
	for range 2000 {
		var b strings.Builder
		for range rnd.IntN(8) {
			b.WriteString(words[rnd.IntN(len(words))])
		}
		inputs = append(inputs, b.String())
	}
	const ms = 1795540298123 // the time of the sends: 2026-11-25T…
	type result struct {
		OK    bool     `json:"ok"`
		Sends []string `json:"sends"` // hex of sends 1, 2, 300
		Rand  bool     `json:"rand"`
	}
	var got []result
	in, _ := json.Marshal(inputs)
	p.importModule("template.js", `
		const hex = (b) => [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
		return `+string(in)+`.map((s) => {
			let parts;
			try { parts = m.parseTemplate(s); } catch (e) { return { ok: false, sends: [], rand: false }; }
			const at = new Date(`+fmt.Sprint(ms)+`);
			return { ok: true, sends: [1, 2, 300].map((n) => hex(m.expandTemplate(parts, n, at))), rand: parts.some((p) => p.kind === "random") };
		});`, &got)
	if len(got) != len(inputs) {
		t.Fatalf("got %d results for %d inputs", len(got), len(inputs))
	}
	bad := 0
	for i, s := range inputs {
		tpl, err := session.ParseTemplate(s)
		if (err == nil) != got[i].OK {
			bad++
			if bad <= 10 {
				t.Errorf("%q: server error %v, page ok %v", s, err, got[i].OK)
			}
			continue
		}
		if err != nil {
			continue
		}
		for j, n := range []uint64{1, 2, 300} {
			want := fmt.Sprintf("%x", tpl.Expand(n, time.UnixMilli(ms)))
			if g := got[i].Sends[j]; g != want && !(got[i].Rand && len(g) == len(want)) {
				bad++
				if bad <= 10 {
					t.Errorf("%q, send %d: server %s, page %s", s, n, want, g)
				}
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d inputs disagree", bad, len(inputs))
	}
}

// tkUntranslated fails the test for each text of the toolkit's parts (as
// pageTextJS reads the page's, under the composer, the saved payloads and
// their dialog, and the cards' rules and repeats) that is an English
// message whose Korean differs, or that runs three English words together.
func (p *pageT) tkUntranslated(en, ko learn.Catalog) {
	p.t.Helper()
	var texts []string
	js := strings.Replace(pageTextJS, "document.createTreeWalker(document.body,", "document.createTreeWalker(document.querySelector(\".col-traffic\"),", 1)
	js = strings.Replace(js, "document.body.querySelectorAll(", "document.querySelector(\".col-traffic\").querySelectorAll(", 1)
	p.run(chromedp.Evaluate(js, &texts))
	var cards []string
	p.run(chromedp.Evaluate(`[...document.querySelectorAll(".card-toolkit, #payload-dialog")].flatMap((el) => [el.innerText, ...[...el.querySelectorAll("[aria-label], [title]")].flatMap((x) => [x.getAttribute("aria-label") || "", x.title || ""])]).flatMap((s) => s.split("\\n")).map((s) => s.trim()).filter(Boolean)`, &cards))
	texts = append(texts, cards...)
	if len(texts) < 20 {
		p.t.Fatalf("found only %d texts of the toolkit: %q", len(texts), texts)
	}
	english := regexp.MustCompile(`\b[A-Za-z]{2,}(?:[ ,'’-]+[A-Za-z]{2,}){2,}\b`)
	var bad []string
	for _, s := range texts {
		for k, e := range en {
			if s == e && ko[k] != e {
				bad = append(bad, fmt.Sprintf("%q is the English of %s", s, k))
			}
		}
		if w := english.FindString(s); w != "" {
			bad = append(bad, fmt.Sprintf("%q has English words: %q", s, w))
		}
	}
	if len(bad) > 0 {
		p.shot("failure-untranslated")
		p.t.Errorf("the Korean toolkit has English of its own:\n%s", strings.Join(bad, "\n"))
	}
}

// TestPageRepeatSync: a page reloaded after more history than the server
// keeps (hosted mode keeps 64 KiB) no longer has the calls that added a
// rule and started a repeat; it learns both from the sync
// (docs/protocol.md §15.3: a socket's rules and repeating), shows them on
// the card, and stops the repeat.
func TestPageRepeatSync(t *testing.T) {
	base, _ := startProgram(t, "-addr", "127.0.0.1:0", "-services", "free", "-mode", "hosted")
	p := openPage(t, base)
	id, key := p.owned()
	p.run(browsertest.Click(q("button", "~Connect echo TCP 127.0.0.1:")))
	p.waitText(card(1), `established`)
	p.tkRule(1, "contain", "Text", "ZZ", "Text", "ok")
	p.waitText(card(1), `Rule 1: when it contains "ZZ", reply "ok"`)
	p.run(
		browsertest.Click(q("radio", "Template")),
		browsertest.Fill(q("textbox", "Message"), `tick {{counter}}\n`),
		browsertest.Fill(q("spinbutton", "Repeat"), "0"),
		browsertest.Fill(q("spinbutton", "Every (ms)"), "50"),
		browsertest.Click(q("button", "Send")),
	)
	p.waitText(card(1), `Repeating until stopped: \d+ sent`)
	// 4 × 40,000 bytes each way: more than the log keeps.
	var sent string
	p.run(chromedp.Evaluate(`(async () => {
		const conn = `+importConn+`;
		for (let i = 0; i < 4; i++) await conn.request({ op: "send", sock: 1, data: { text: String(i).repeat(40000) } });
		return "ok";
	})()`, &sent, awaitPromise))
	p.waitText(card(1), `Received\s*16\d,\d\d\d bytes`)
	if evs := logOf(t, base, id, key); evs[0]["seq"].(float64) <= 1 {
		t.Fatalf("the server kept the whole log (from seq %v): the test sent too little", evs[0]["seq"])
	}

	p.tkReload()
	p.waitText(card(1), `established`)
	p.waitText(card(1), `Rule 1: when it contains "ZZ", reply "ok"`)
	p.waitText(card(1), `Repeating until stopped: \d+ sent`)
	p.waitText(q("status", "Send progress"), `^\d+ sent \(until you stop it\)`)
	// The rule still fires, and is counted from here on (a reloaded page's
	// composer sends once).
	p.send("Text", "ZZ")
	p.waitText(card(1), `fired 1 time\b`)
	p.run(browsertest.Click(card(1, "button", "Stop")))
	p.waitText(card(1), `Repeat stopped after \d+ · `)
	p.waitText(q("status", "Send progress"), `^Stopped after \d+`)
	p.noProblems()
}
