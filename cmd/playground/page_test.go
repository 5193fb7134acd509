package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/socketplayground/playground/internal/browsertest"
)

// The page tests drive the real page in Debian's headless Chromium the way
// a person does: they find controls by role and accessible name (the
// browser's accessibility tree), click and type, and read what the page
// shows. Every socket is real, on loopback.

// pageT is one browser tab on the playground, for one test.
type pageT struct {
	t       *testing.T
	b       *browsertest.Browser
	base    string
	mu      sync.Mutex // guards dialogs
	dialogs []string
	allowed []*regexp.Regexp // page errors a test expects
}

// allow makes noProblems accept page errors matching re: a test that cuts
// the server off expects the browser to log failed reconnection attempts.
func (p *pageT) allow(re string) { p.allowed = append(p.allowed, regexp.MustCompile(re)) }

func openPage(t *testing.T, base string) *pageT {
	t.Helper()
	p := &pageT{t: t, b: browsertest.Start(t, 90*time.Second), base: base}
	chromedp.ListenTarget(p.b.Ctx, func(ev any) {
		if d, ok := ev.(*page.EventJavascriptDialogOpening); ok {
			p.mu.Lock()
			p.dialogs = append(p.dialogs, d.Message)
			p.mu.Unlock()
			go chromedp.Run(p.b.Ctx, page.HandleJavaScriptDialog(false))
		}
	})
	p.run(
		chromedp.EmulateViewport(1280, 800),
		chromedp.Navigate(base+"/"),
	)
	p.waitText(q("status", "Connection to the server"), `Connected · session`)
	return p
}

func q(roleName ...string) browsertest.Target { return browsertest.Q(roleName...) }

// run runs actions and stops the test on the first failure, with what the
// page logged as errors.
func (p *pageT) run(actions ...chromedp.Action) {
	p.t.Helper()
	if err := chromedp.Run(p.b.Ctx, actions...); err != nil {
		p.shot("failure-" + p.t.Name())
		p.t.Fatalf("%v\npage errors: %q", err, p.b.Problems())
	}
}

func (p *pageT) text(target browsertest.Target) string {
	p.t.Helper()
	var s string
	p.run(browsertest.Text(target, &s))
	return s
}

// waitText waits until the target's text matches re.
func (p *pageT) waitText(target browsertest.Target, re string) string {
	p.t.Helper()
	rx := regexp.MustCompile(re)
	var last string
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		var s string
		ctx, cancel := context.WithTimeout(p.b.Ctx, 5*time.Second)
		err := chromedp.Run(ctx, browsertest.Text(target, &s))
		cancel()
		if err == nil {
			last = s
			if rx.MatchString(s) {
				return s
			}
		}
		time.Sleep(25 * time.Millisecond)
	}
	p.shot("failure-" + p.t.Name())
	p.t.Fatalf("%s never matched %q; last text: %q\npage errors: %q", target, re, last, p.b.Problems())
	return ""
}

// shot saves a screenshot of the window as a test artifact: in
// $PLAYGROUND_ARTIFACTS, or artifacts/screenshots at the top of the
// repository (ignored by git).
func (p *pageT) shot(name string) { p.capture(name, chromedp.CaptureScreenshot) }

// shotFull saves the whole page, beyond the window. (It resizes the page
// while it captures, which moves scroll positions: use it last.)
func (p *pageT) shotFull(name string) {
	p.capture(name, func(buf *[]byte) chromedp.Action { return chromedp.FullScreenshot(buf, 100) })
}

func (p *pageT) capture(name string, how func(*[]byte) chromedp.Action) {
	dir := os.Getenv("PLAYGROUND_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("..", "..", "artifacts", "screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		p.t.Logf("screenshot %s: %v", name, err)
		return
	}
	var buf []byte
	ctx, cancel := context.WithTimeout(p.b.Ctx, 10*time.Second)
	defer cancel()
	if err := chromedp.Run(ctx, how(&buf)); err != nil {
		p.t.Logf("screenshot %s: %v", name, err)
		return
	}
	name = strings.NewReplacer("/", "-", " ", "-").Replace(name)
	path := filepath.Join(dir, name+".png")
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		p.t.Logf("screenshot %s: %v", name, err)
	}
}

func (p *pageT) noProblems() {
	p.t.Helper()
	var probs []string
next:
	for _, s := range p.b.Problems() {
		for _, re := range p.allowed {
			if re.MatchString(s) {
				continue next
			}
		}
		probs = append(probs, s)
	}
	if len(probs) > 0 {
		p.t.Errorf("the page logged errors: %q", probs)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.dialogs) > 0 {
		p.t.Errorf("the page opened dialogs: %q", p.dialogs)
	}
}

// followsLatest checks that the traffic view shows its newest event, as it
// should while following.
func (p *pageT) followsLatest() {
	p.t.Helper()
	var ok bool
	js := `(() => { const s = document.getElementById("tl-scroll"); return s.scrollTop + s.clientHeight >= s.scrollHeight - 2; })()`
	for range 40 {
		p.run(chromedp.Evaluate(js, &ok))
		if ok {
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
	var st string
	p.run(chromedp.Evaluate(`(() => { const s = document.getElementById("tl-scroll"); return s.scrollTop + " + " + s.clientHeight + " of " + s.scrollHeight; })()`, &st))
	p.shot("failure-follow-" + p.t.Name())
	p.t.Errorf("the traffic view is not at its newest event while following: scrolled %s", st)
}

// closedPort is a loopback TCP port nothing listens on: the kernel's pick,
// given back.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)
}

// card names the card of socket n.
func card(n int, more ...string) browsertest.Target {
	return q(append([]string{"article", fmt.Sprintf("~Socket %d ·", n)}, more...)...)
}

// open opens a socket with the "Open a socket" form.
func (p *pageT) open(kind, host, port string) {
	p.t.Helper()
	button := map[string]string{"TCP client": "Connect", "TCP server": "Listen", "UDP socket": "Bind"}[kind]
	p.run(
		browsertest.Click(q("radio", kind)),
		browsertest.Fill(q("textbox", "Host"), host),
		browsertest.Fill(q("spinbutton", "Port"), port),
		browsertest.Click(q("button", button)),
	)
}

// send types a message in the composer and presses Enter.
func (p *pageT) send(format, message string) {
	p.t.Helper()
	p.run(
		browsertest.Click(q("radio", format)),
		browsertest.Fill(q("textbox", "Message"), message),
		browsertest.Press(q("textbox", "Message"), "Enter"),
	)
}

// localPort reads the port from a card's local address.
func (p *pageT) localPort(n int) string {
	p.t.Helper()
	s := p.waitText(card(n), `Local\s*\S+:\d+`)
	m := regexp.MustCompile(`Local\s*(\S+):(\d+)`).FindStringSubmatch(s)
	if m[2] == "0" {
		p.t.Fatalf("socket %d has no port yet: %q", n, s)
	}
	return m[2]
}

// TestPageTCP is the first scenario: a server on port 0, a client
// connected to it, text, Korean and hex sent and seen on the accepted
// connection with the right counts and hex, then half-close and close.
func TestPageTCP(t *testing.T) {
	base, _ := startProgram(t, "-addr", "127.0.0.1:0", "-services", "free")
	p := openPage(t, base)
	p.shot("01-empty")

	p.open("TCP server", "127.0.0.1", "0")
	p.waitText(card(1), `listening`)
	p.localPort(1)
	p.run(browsertest.Click(card(1, "button", "Connect a client")))
	p.waitText(card(2), `established`)
	p.waitText(card(3), `established`)
	if s := p.text(card(3)); !strings.Contains(s, "Accepted by socket 1") {
		t.Errorf("the accepted connection's card does not link to its listener: %q", s)
	}
	if s := p.text(card(1)); !strings.Contains(s, "Accepted connections: socket 3") {
		t.Errorf("the listener's card does not list its connection: %q", s)
	}
	var from string
	p.run(browsertest.Value(q("combobox", "From socket"), &from))
	if !strings.HasSuffix(from, ":2") {
		t.Errorf("after connecting, the composer sends from %q, want the new client (socket 2)", from)
	}

	// Each message is seen on socket 3 before the next is sent, so the
	// three stay three reads.
	for _, m := range []struct{ format, input, want, hex string }{
		{"Text", "hello", "socket 3 received 5 bytes: hello", "68 65 6c 6c 6f"},
		{"Text", "안녕", "socket 3 received 6 bytes: 안녕", "ec 95 88 eb 85 95"},
		{"Hex", "00 ff 0d 0a", `socket 3 received 4 bytes: \0\xff\r\n`, "00 ff 0d 0a"},
	} {
		p.send(m.format, m.input)
		row := q("list", "Events", "button", "~"+m.want)
		p.run(browsertest.Click(row))
		details := p.text(q("group", "~Details: "+m.want))
		if !strings.Contains(details, m.hex) {
			t.Errorf("the hex dump of %q does not show %s: %q", m.input, m.hex, details)
		}
		if m.input == "안녕" && !strings.Contains(details, "2 characters in 6 bytes") || !strings.Contains(details, "안녕") && m.input == "안녕" {
			t.Errorf("the UTF-8 view of 안녕 is wrong: %q", details)
		}
		p.run(browsertest.Click(row)) // collapse
	}
	p.waitText(card(3), `Received\s*15 bytes in 3 reads`)
	p.followsLatest()
	p.waitText(card(2), `Sent\s*15 bytes in 3 sends`)
	p.shot("02-tcp-bytes")

	// Half-close: socket 2 stops sending; socket 3 reads end-of-stream.
	p.run(browsertest.Click(card(2, "button", "Shut down writing")))
	p.waitText(card(2), `half-closed: no more sending`)
	p.waitText(card(3), `half-closed: no more receiving`)
	// Socket 3 can still send to socket 2.
	p.run(browsertest.Click(card(3, "button", "Send…")))
	p.send("Text", "bye")
	p.waitText(card(2), `Received\s*3 bytes in 1 read\b`)
	// Closing socket 3 ends socket 2's other direction: it closes by itself.
	p.run(browsertest.Click(card(3, "button", "Close")))
	p.waitText(card(3), `closed by you`)
	// The composer was sending from socket 3: it stays selected, and says it
	// cannot send, rather than switching to socket 2 unnoticed.
	p.waitText(q("combobox", "From socket"), `Socket 3 · closed: cannot send`)
	p.run(browsertest.Value(q("combobox", "From socket"), &from))
	var disabled bool
	p.run(chromedp.Evaluate(`document.getElementById("send-submit").disabled`, &disabled))
	if from != "1:3" || !disabled {
		t.Errorf("after socket 3 closed, the composer has %q selected and Send disabled=%v", from, disabled)
	}
	p.waitText(card(2), `both directions are finished`)
	if s := p.text(card(2)); !strings.Contains(s, "closed") {
		t.Errorf("socket 2 is not closed: %q", s)
	}
	p.waitText(card(1), `listening`)
	p.shot("03-tcp-closed")
	p.noProblems()
}

// TestPageUDP: two UDP sockets, a datagram from one to the other, seen with
// the sender's address.
func TestPageUDP(t *testing.T) {
	base, _ := startProgram(t, "-addr", "127.0.0.1:0", "-services", "free")
	p := openPage(t, base)
	p.open("UDP socket", "127.0.0.1", "0")
	a := p.localPort(1)
	p.open("UDP socket", "127.0.0.1", "0")
	b := p.localPort(2)
	p.run(browsertest.Click(card(1, "button", "Send…")), browsertest.Fill(q("textbox", "Message"), "x"))
	p.waitText(q("status", "Bytes to send"), `to send, enter the destination port`)
	p.run(
		browsertest.Fill(q("textbox", "To host"), "127.0.0.1"),
		browsertest.Fill(q("spinbutton", "To port"), b),
	)
	p.send("Text with escapes", `ping\r\n`)
	p.run(browsertest.Wait(q("list", "Events", "button", "~socket 2 received 6 bytes from 127.0.0.1:"+a+`: ping\r\n`)))
	p.waitText(card(2), `Received\s*6 bytes in 1 datagram\b`)
	p.waitText(card(2), `last datagram from 127.0.0.1:`+a)
	p.waitText(card(1), `Sent\s*6 bytes in 1 datagram\b`)
	p.shot("04-udp")
	p.noProblems()
}

// TestPageErrors: a refused connection is explained on its card, a
// typo in hex is explained before anything is sent, and payloads that
// look like HTML stay text.
func TestPageErrors(t *testing.T) {
	base, _ := startProgram(t, "-addr", "127.0.0.1:0", "-services", "free")
	p := openPage(t, base)

	closed := closedPort(t)
	p.open("TCP client", "127.0.0.1", closed)
	s := p.waitText(card(1), `failed`)
	if !strings.Contains(s, "connection refused: nothing is listening on that address and port") || !strings.Contains(s, "ECONNREFUSED") {
		t.Errorf("the refused connection's card says %q", s)
	}
	p.run(browsertest.Wait(q("list", "Events", "button", "~socket 1 error in connect: connect 127.0.0.1:"+closed+": connection refused")))
	p.shot("05-refused")

	// The echo service, one click away.
	p.run(browsertest.Click(q("button", "~Connect echo TCP 127.0.0.1:")))
	p.waitText(card(2), `established`)

	// Bad hex: the preview says what is wrong and Send is disabled.
	p.run(
		browsertest.Click(q("radio", "Hex")),
		browsertest.Fill(q("textbox", "Message"), "00 fz"),
	)
	p.waitText(q("status", "Bytes to send"), `"z" at character 5 is not a hex digit`)
	var disabled string
	p.run(browsertest.Attr(q("button", "Send"), "disabled", &disabled))
	if disabled == "" {
		// Attr returns "" when the attribute is absent.
		var ok int
		p.run(chromedp.Evaluate(`document.getElementById("send-submit").disabled ? 1 : 0`, &ok))
		if ok != 1 {
			t.Errorf("Send is enabled while the hex is invalid")
		}
	}

	// HTML in payloads is shown as text and never runs.
	for _, payload := range []string{`<img src=x onerror=alert(1)>`, `</script><script>alert(1)</script>`} {
		p.send("Text", payload)
		p.run(browsertest.Click(q("list", "Events", "button", "~socket 2 received "+fmt.Sprint(len(payload))+" bytes: "+payload)))
		if d := p.text(q("group", "~Details: socket 2 received "+fmt.Sprint(len(payload)))); !strings.Contains(d, payload) {
			t.Errorf("the details do not show %q as text: %q", payload, d)
		}
	}
	// A byte-order mark and a right-to-left override are bytes, shown
	// escaped; they neither stop the view nor reorder the text.
	p.send("Text with escapes", `\xef\xbb\xbfab\xe2\x80\xaecd`)
	p.run(browsertest.Wait(q("list", "Events", "button", `~socket 2 received 10 bytes: \xef\xbb\xbfab\xe2\x80\xaecd`)))
	p.send("Text", "still")
	p.run(browsertest.Wait(q("list", "Events", "button", "~socket 2 received 5 bytes: still")))

	var imgs, scripts int
	p.run(
		chromedp.Evaluate(`document.querySelectorAll("main img").length`, &imgs),
		chromedp.Evaluate(`document.querySelectorAll("body script").length`, &scripts),
	)
	if imgs != 0 || scripts != 0 {
		t.Errorf("payloads became markup: %d img and %d script elements in the body", imgs, scripts)
	}
	p.shot("06-html-as-text")
	p.mu.Lock()
	dialogs := p.dialogs
	p.mu.Unlock()
	if len(dialogs) > 0 {
		t.Fatalf("a payload ran as script: dialogs %q", dialogs)
	}
	// The refused connect and the echo errors are announced, and the page
	// logged nothing of its own.
	if p := p.b.Problems(); len(p) > 0 {
		t.Errorf("the page logged errors: %q", p)
	}
}

// TestPageReconnect: the server goes away and comes back on the same
// address; the page says so, says what became of the session, reconnects
// by itself and works in the new session.
func TestPageReconnect(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	base, stop := startProgram(t, "-addr", addr, "-services", "free")
	p := openPage(t, base)
	p.open("TCP server", "127.0.0.1", "0")
	p.waitText(card(1), `listening`)
	// A repeat in progress when the server goes away stops, and does not
	// carry on with the next session's socket 1.
	p.run(
		browsertest.Click(card(1, "button", "Connect a client")),
		browsertest.Fill(q("textbox", "Message"), "tick"),
		browsertest.Fill(q("spinbutton", "Repeat"), "1000"),
		browsertest.Fill(q("spinbutton", "Every (ms)"), "100"),
		browsertest.Press(q("textbox", "Message"), "Enter"),
	)
	p.waitText(card(3), `Received\s*\d+ bytes`)

	if err := stop(); err != nil {
		t.Fatal(err)
	}
	// While the server is down, the reconnects fail, and so do the fetches
	// of a fresh token and of the reason for the failure.
	p.allow(`^WebSocket connection to 'ws://` + regexp.QuoteMeta(addr) + `/ws(\?token=[\w-]+)?' failed: .*ERR_CONNECTION_REFUSED$`)
	p.allow(`^Failed to load resource: net::ERR_CONNECTION_REFUSED$`)
	p.waitText(q("status", "Connection to the server"), `^Disconnected \(1001\)$`)
	banner := p.waitText(q("status", "Session news"), `went away`)
	if !strings.Contains(banner, "closed its 3 open sockets") {
		t.Errorf("the banner does not say what became of the session: %q", banner)
	}
	p.waitText(card(1), `closed by the server: the session ended`)
	p.waitText(q("status", "Send progress"), `^Stopped after \d+ of 1000`)
	p.followsLatest()
	p.shot("07-disconnected")

	startProgram(t, "-addr", addr, "-services", "free")
	p.waitText(q("status", "Connection to the server"), `Connected · session`)
	p.waitText(q("status", "Session news"), `Reconnected: this is a new session`)
	// The new session works: socket ids start again at 1.
	p.open("UDP socket", "127.0.0.1", "0")
	p.waitText(q("article", "~Socket 1 · UDP socket"), `bound`)
	if s := p.text(q("article", "~Socket 1 · TCP server")); !strings.Contains(s, "earlier session") {
		t.Errorf("the old session's card is not marked: %q", s)
	}
	p.shot("08-reconnected")
	p.noProblems()
}

// TestPageNetworkDrop: the connection to the server drops without a close
// frame (the network, not the server); the page says the connection was
// lost with code 1006 and that its session is kept meanwhile, comes back to
// it by itself, and its socket is still there (docs/protocol.md §15.2). The
// page is loaded through a TCP gate on loopback, which the test cuts.
func TestPageNetworkDrop(t *testing.T) {
	base, _ := startProgram(t, "-addr", "127.0.0.1:0", "-services", "free")
	g := startGate(t, strings.TrimPrefix(base, "http://"))
	p := openPage(t, "http://"+g.addr)
	p.open("UDP socket", "127.0.0.1", "0")
	p.waitText(card(1), `bound`)

	g.cut()
	p.waitText(q("status", "Session news"), `The connection to the server was lost \(code 1006\)\. Your session and its 1 open socket are kept for 2:00 while the page reconnects\.`)
	p.waitText(q("status", "Connection to the server"), `Connected · session`)
	p.waitText(q("status", "Session news"), `Reconnected to your session`)
	p.run(browsertest.Wait(q("list", "Events", "button", "~connection lost (code 1006); reconnecting to the session")))
	p.waitText(q("article", "~Socket 1 · UDP socket"), `bound`)
	p.open("TCP server", "127.0.0.1", "0")
	p.waitText(q("article", "~Socket 2 · TCP server"), `listening`)
	p.noProblems()
}

// gate forwards TCP connections to a target; closing it cuts every
// connection, as a failed network would, and refuses new ones until it
// opens again.
type gate struct {
	addr   string
	mu     sync.Mutex // guards conns and shut
	conns  []net.Conn
	shut   bool
	target string
}

func startGate(t *testing.T, target string) *gate {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := &gate{addr: ln.Addr().String(), target: target}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		g.close()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			g.mu.Lock()
			shut := g.shut
			g.mu.Unlock()
			if shut {
				c.Close()
				continue
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			g.mu.Lock()
			g.conns = append(g.conns, c, s)
			g.mu.Unlock()
			wg.Add(2)
			go func() { defer wg.Done(); io.Copy(s, c); s.Close() }()
			go func() { defer wg.Done(); io.Copy(c, s); c.Close() }()
		}
	}()
	return g
}

// cut closes every connection, as a network failure would; new ones may
// come.
func (g *gate) cut() {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, c := range g.conns {
		c.Close()
	}
	g.conns = nil
}

// close cuts every connection and refuses new ones.
func (g *gate) close() {
	g.mu.Lock()
	g.shut = true
	g.mu.Unlock()
	g.cut()
}

// open lets connections through again.
func (g *gate) open() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.shut = false
}

// TestPageComposer: the composer's preview in each format and line ending,
// Shift+Enter, the ↑/↓ history, repeat, and the timeline's filter, pause
// and copy.
func TestPageComposer(t *testing.T) {
	base, _ := startProgram(t, "-addr", "127.0.0.1:0", "-services", "free")
	p := openPage(t, base)
	p.run(
		browser.SetPermission(&browser.PermissionDescriptor{Name: "clipboard-read"}, browser.PermissionSettingGranted).WithOrigin(base),
		browser.SetPermission(&browser.PermissionDescriptor{Name: "clipboard-write"}, browser.PermissionSettingGranted).WithOrigin(base),
		browsertest.Click(q("button", "~Connect echo TCP 127.0.0.1:")),
	)
	p.waitText(card(1), `established`)
	msg := q("textbox", "Message")
	preview := q("status", "Bytes to send")

	// The preview is the exact bytes, before anything is sent.
	for _, c := range []struct{ format, eol, input, want string }{
		{"Text", "None", "hi", "2 bytes: 68 69"},
		{"Text", `\r\n (CRLF)`, "hi", "4 bytes: 68 69 0d 0a"},
		{"Text with escapes", `\n (LF)`, `a\tb\x00\\`, "6 bytes: 61 09 62 00 5c 0a"},
		{"Hex", "None", "de AD\nbe ef", "4 bytes: de ad be ef"},
		{"Text", "None", "", "0 bytes"},
	} {
		p.run(
			browsertest.Click(q("radio", c.format)),
			browsertest.Select(q("combobox", "Line ending"), c.eol),
			browsertest.Fill(msg, c.input),
		)
		p.waitText(preview, "^"+regexp.QuoteMeta(c.want)+"$")
	}
	p.waitText(preview, `^0 bytes$`)
	p.run(browsertest.Fill(msg, `oops\q`), browsertest.Click(q("radio", "Text with escapes")))
	p.waitText(preview, `Cannot send: "\\q" at character 5 is not an escape`)
	p.run(browsertest.Click(q("radio", "Text")))

	// Enter sends; Shift+Enter is a new line and sends nothing.
	p.run(browsertest.Fill(msg, "one"), browsertest.Press(msg, "Enter"))
	p.waitText(card(1), `Received\s*3 bytes in 1 read\b`)
	p.run(browsertest.Fill(msg, "two"), browsertest.Press(msg, "Enter", "Shift"))
	var v string
	p.run(browsertest.Value(msg, &v))
	if v != "two\n" {
		t.Errorf("after Shift+Enter the message is %q, want %q", v, "two\n")
	}
	p.run(browsertest.Press(msg, "Enter"))
	p.waitText(card(1), `Received\s*7 bytes in 2 reads\b`)

	// ↑ and ↓ walk what was sent, and come back to the draft.
	p.run(browsertest.Fill(msg, "draft"))
	for _, step := range []struct{ key, want string }{
		{"ArrowUp", "two\n"},
		{"ArrowUp", "two\n"}, // the caret was on the second line: it moves to the first
		{"ArrowUp", "one"},
		{"ArrowUp", "one"}, // the oldest stays
		{"ArrowDown", "two\n"},
		{"ArrowDown", "draft"},
	} {
		p.run(browsertest.Press(msg, step.key), browsertest.Value(msg, &v))
		if v != step.want {
			t.Errorf("%s: message is %q, want %q", step.key, v, step.want)
		}
	}

	// Repeat 3 times, 20 ms apart.
	p.run(
		browsertest.Fill(msg, "r"),
		browsertest.Fill(q("spinbutton", "Repeat"), "3"),
		browsertest.Fill(q("spinbutton", "Every (ms)"), "20"),
		browsertest.Click(q("button", "Send")),
	)
	p.waitText(q("status", "Send progress"), `All 3 sent`)
	p.waitText(card(1), `Sent\s*10 bytes in 5 sends\b`)
	p.waitText(card(1), `Received\s*10 bytes in`)
	p.run(browsertest.Fill(q("spinbutton", "Repeat"), "1"))

	// Filter: only data, only socket 1; copy what is shown.
	p.run(
		browsertest.Click(q("checkbox", "Calls")),
		browsertest.Click(q("checkbox", "States")),
		browsertest.Select(q("combobox", "Socket"), "Socket 1"),
	)
	p.waitText(q("status", "Event count"), `events · \d+ shown`)
	var rows int
	p.run(browsertest.Count(q("list", "Events", "button", "~socket 1 call"), &rows))
	if rows != 0 {
		t.Errorf("with Calls unchecked, %d call rows are still shown", rows)
	}
	p.run(browsertest.Click(q("button", "Copy as hex")))
	var clip string
	p.run(chromedp.Evaluate(`navigator.clipboard.readText()`, &clip, func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }))
	if !strings.Contains(clip, "#1 → send 3 bytes: 6f 6e 65") || !strings.Contains(clip, "#1 ← recv") {
		t.Errorf("Copy as hex gave %q", clip)
	}
	p.run(browsertest.Click(q("button", "Copy as text")))
	p.run(chromedp.Evaluate(`navigator.clipboard.readText()`, &clip, func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }))
	if !strings.Contains(clip, "#1\t→\tsend\t3B\tone") {
		t.Errorf("Copy as text gave %q", clip)
	}

	// Pause keeps the view still while events arrive; Resume follows again.
	p.run(browsertest.Click(q("button", "Pause")), browsertest.Fill(msg, "x"), browsertest.Press(msg, "Enter"))
	p.waitText(q("button", "~Jump to latest"), `Jump to latest \(\d+ new\)`)
	p.run(browsertest.Click(q("button", "Resume")), browsertest.WaitGone(q("button", "~Jump to latest")))

	// Clear empties the view; new events still arrive.
	p.run(browsertest.Click(q("button", "Clear")))
	p.waitText(q("status", "Event count"), `^0 events`)
	p.run(browsertest.Fill(msg, "after"), browsertest.Press(msg, "Enter"))
	p.run(browsertest.Wait(q("list", "Events", "button", "~socket 1 received 5 bytes: after")))
	p.noProblems()
}
