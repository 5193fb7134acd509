package main

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/socketplayground/playground/internal/browsertest"
)

// Step mode from the page (issue 4): a learner makes each socket call
// herself on a socket's card — socket, bind, listen, accept, connect, recv,
// close — sees a blocked call wait and cancels one, reads what the kernel
// says about each connection (its TCP state, queues, the TIME_WAIT of the
// side that closed first), and sees the same calls in Python and Go on the
// Code tab (code_page_test.go tests the tab itself).

// importModule evaluates body in the page with the module at path (under
// static/js) bound to m, and stores what it returns in out.
func (p *pageT) importModule(path, body string, out any) {
	p.t.Helper()
	js := `(async () => {
		const src = [...document.scripts].find(s => s.src.endsWith("/js/app.js")).src.replace("/app.js", "/` + path + `");
		const m = await import(src);
		` + body + `
	})()`
	p.run(chromedp.Evaluate(js, out, func(e *runtime.EvaluateParams) *runtime.EvaluateParams { return e.WithAwaitPromise(true) }))
}

// TestPageTCPDiagram checks the state diagram (static/js/ui/tcpstate.js):
// the path taken is highlighted, the state now stands out, and the text
// alternative says both.
func TestPageTCPDiagram(t *testing.T) {
	base, _ := startProgram(t, "-addr", "127.0.0.1:0", "-services", "none")
	p := openPage(t, base)
	var got struct {
		Label string            `json:"label"`
		Nodes map[string]string `json:"nodes"`
		On    []string          `json:"on"`
		Path  string            `json:"path"`
	}
	p.importModule("ui/tcpstate.js", `
		const d = new m.TCPDiagram("t");
		d.update(["SYN_SENT", "ESTABLISHED", "FIN_WAIT1", "FIN_WAIT2", "TIME_WAIT", "CLOSED"]);
		const nodes = {};
		for (const g of d.svg.querySelectorAll("g")) nodes[g.querySelector("text").textContent + (nodes[g.querySelector("text").textContent] !== undefined ? "(end)" : "")] = g.getAttribute("class");
		const on = [...d.svg.querySelectorAll("line.on")].map((l) => l.querySelector("title").textContent.split(":")[0]);
		return { label: d.svg.getAttribute("aria-label"), nodes, on, path: m.pathText(["LISTEN"]) };`, &got)
	if want := "TCP state diagram (RFC 9293). Now CLOSED. Path: SYN_SENT → ESTABLISHED → FIN_WAIT1 → FIN_WAIT2 → TIME_WAIT → CLOSED"; got.Label != want {
		t.Errorf("the diagram's text alternative is %q, want %q", got.Label, want)
	}
	for node, class := range map[string]string{"SYN_SENT": "tcp-node seen", "TIME_WAIT": "tcp-node seen", "CLOSED": "tcp-node", "CLOSED(end)": "tcp-node now", "LISTEN": "tcp-node", "CLOSE_WAIT": "tcp-node"} {
		if got.Nodes[node] != class {
			t.Errorf("state %s has class %q, want %q", node, got.Nodes[node], class)
		}
	}
	want := []string{"SYN_SENT → ESTABLISHED", "ESTABLISHED → FIN_WAIT1", "FIN_WAIT1 → FIN_WAIT2", "FIN_WAIT2 → TIME_WAIT", "TIME_WAIT → CLOSED"}
	if strings.Join(got.On, ", ") != strings.Join(want, ", ") {
		t.Errorf("the transitions highlighted are %q, want %q", got.On, want)
	}
	if got.Path != "Path: LISTEN" {
		t.Errorf("pathText gave %q", got.Path)
	}
}

// stepSocket creates a socket in step mode with the "Open a socket" form.
func (p *pageT) stepSocket(typ, family string) {
	p.t.Helper()
	p.run(
		browsertest.Click(q("radio", "Step by step: socket()")),
		browsertest.Select(q("combobox", "Type"), typ),
		browsertest.Select(q("combobox", "Family"), family),
		browsertest.Click(q("button", "Create socket")),
	)
}

// call makes a step call on socket n's card: it fills the call's
// arguments, given as (name, value) pairs, and presses its button. The
// arguments are named as Python names them: host, port, backlog, bufsize,
// how, option, value.
func (p *pageT) call(n int, op string, args ...string) {
	p.t.Helper()
	for i := 0; i < len(args); i += 2 {
		name, value := args[i], args[i+1]
		switch name {
		case "host":
			p.run(browsertest.Fill(card(n, "form", op+"()", "textbox", name), value))
		case "how", "option", "value":
			if op == "setsockopt" && name == "value" {
				p.run(browsertest.Fill(card(n, "form", op+"()", "spinbutton", name), value))
				continue
			}
			p.run(browsertest.Select(card(n, "form", op+"()", "combobox", name), value))
		default:
			p.run(browsertest.Fill(card(n, "form", op+"()", "spinbutton", name), value))
		}
	}
	p.run(browsertest.Click(card(n, "form", op+"()", "button", op+"()")))
}

// codeHas waits until the Code tab shows each line (of Python or Go), as
// the page's text has it: runs of spaces as one.
func (p *pageT) codeHas(lines ...string) {
	p.t.Helper()
	for _, l := range lines {
		p.waitText(q("region", "Your calls in Python and Go"), regexp.QuoteMeta(strings.Join(strings.Fields(l), " ")))
	}
}

// blockedFor reads how long socket n's card says its call has been blocked.
func (p *pageT) blockedFor(n int, op string) float64 {
	p.t.Helper()
	s := p.waitText(card(n), `blocked in `+op+`\(\) for \d+\.\d s`)
	m := regexp.MustCompile(`blocked in ` + op + `\(\) for (\d+\.\d) s`).FindStringSubmatch(s)
	f, _ := strconv.ParseFloat(m[1], 64)
	return f
}

// showCard scrolls socket n's card into view, for a screenshot.
func (p *pageT) showCard(n int, where string) {
	p.t.Helper()
	p.run(chromedp.Evaluate(fmt.Sprintf(`document.querySelector('article[data-key$=":%d"]').scrollIntoView({block: %q})`, n, where), nil))
}

// moves waits until a clock the page shows has moved by a second: since()
// reads how far it has moved.
func (p *pageT) moves(what string, since func() float64) {
	p.t.Helper()
	start := time.Now()
	for since() < 1 {
		if time.Since(start) > 5*time.Second {
			p.t.Errorf("%s moved %.1f s in 5 s", what, since())
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestPageStep walks the learner's path of issue 4 on a real kernel: a
// server socket made one call at a time, accept() blocked until a client
// (a second step socket) connects, recv(3) taking 3 of 5 bytes, close on
// the server side first (so its connection lingers in TIME_WAIT, counting
// down), the client reading end-of-stream; the cards, the kernel's states
// and the Python lines checked at each step. Then a blocked accept is
// cancelled.
func TestPageStep(t *testing.T) {
	base, _ := startProgram(t, "-addr", "127.0.0.1:0", "-services", "free")
	p := openPage(t, base)
	p.run(browsertest.Click(q("tab", "Code")))

	// socket() → bind → listen(1).
	p.run(browsertest.Click(q("radio", "Step by step: socket()")))
	p.shot("29-step-opener")
	p.stepSocket("SOCK_STREAM (TCP)", "AF_INET (IPv4)")
	p.waitText(card(1), `created`)
	if s := p.text(card(1)); !strings.Contains(s, "Socket 1 · TCP socket") || !strings.Contains(s, "step") {
		t.Errorf("the new socket's card says %q", s)
	}
	p.codeHas("s1 = socket.socket(socket.AF_INET, socket.SOCK_STREAM)", "s1, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)")
	var n int
	p.run(browsertest.Count(card(1, "button", "accept()"), &n))
	if n != 0 {
		t.Errorf("a socket that is not listening offers accept()")
	}
	p.call(1, "setsockopt", "option", "SO_REUSEADDR", "value", "1")
	p.waitText(card(1), `Options\s*SO_REUSEADDR=1`)
	p.call(1, "bind", "host", "127.0.0.1", "port", "0")
	p.waitText(card(1), `bound`)
	port := p.localPort(1)
	p.codeHas(`s1.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)`, `s1.bind(("127.0.0.1", 0)) # bound to ('127.0.0.1', `+port+`)`,
		`err = syscall.Bind(s1, &syscall.SockaddrInet4{Port: 0, Addr: [4]byte{127, 0, 0, 1}})`)
	p.call(1, "listen", "backlog", "1")
	p.waitText(card(1), `listening`)
	p.codeHas("s1.listen(1)")
	p.waitText(card(1), `Kernel\s*LISTEN`)
	p.waitText(card(1), `Accept queue\s*0 / backlog 1`)

	// accept() blocks, and the card counts how long.
	p.call(1, "accept")
	first := p.blockedFor(1, "accept")
	p.codeHas("conn, addr = s1.accept() # blocked: waiting in the kernel")
	p.moves("the blocked timer", func() float64 { return p.blockedFor(1, "accept") - first })
	p.run(browsertest.Click(q("tab", "Traffic")))
	p.run(browsertest.Wait(q("list", "Events", "button", "~socket 1 blocked: accept() waits for a client")))
	p.showCard(1, "start")
	p.shot("30-step-accept-blocked")
	p.run(browsertest.Click(q("tab", "Code")))

	// A client, made step by step too, connects: accept returns socket 3.
	p.stepSocket("SOCK_STREAM (TCP)", "AF_INET (IPv4)")
	p.waitText(card(2), `created`)
	p.call(2, "connect", "host", "127.0.0.1", "port", port)
	p.waitText(card(2), `established`)
	p.waitText(card(3), `established`)
	p.waitText(card(3), `Accepted by socket 1`)
	p.run(browsertest.WaitGone(card(1, "button", "Cancel")))
	if s := p.text(card(1)); strings.Contains(s, "blocked in") {
		t.Errorf("after accept returned, socket 1's card still says it is blocked: %q", s)
	}
	p.codeHas(
		"s2 = socket.socket(socket.AF_INET, socket.SOCK_STREAM)",
		`s2.connect(("127.0.0.1", s1.getsockname()[1]))`,
		"s3, addr = s1.accept() # → a connection from ('127.0.0.1', ",
		"s3, _, err := syscall.Accept(s1)",
	)
	p.waitText(card(2), `Kernel\s*ESTABLISHED`)
	p.waitText(card(3), `Kernel\s*ESTABLISHED`)
	p.waitText(card(3), `Path: (SYN_RECV → )?ESTABLISHED`)

	// The client sends hello; nothing reads it until recv is called.
	p.run(browsertest.Click(card(2, "button", "Send…")))
	p.send("Text", "hello")
	p.codeHas(`s2.send(b"hello") # → 5`)
	p.waitText(card(3), `recv-Q 5 B`)
	if s := p.text(card(3)); !strings.Contains(s, "Received 0 bytes") {
		t.Errorf("a step socket read by itself: %q", s)
	}
	p.call(3, "recv", "bufsize", "3")
	p.codeHas(`data = s3.recv(3) # → b'hel'`)
	p.waitText(card(3), `Received\s*3 bytes in 1 read\b`)
	p.waitText(card(3), `recv-Q 2 B`)
	p.call(3, "recv", "bufsize", "10")
	p.codeHas(`data = s3.recv(10) # → b'lo'`)
	p.showCard(3, "start")
	p.shot("31-step-code")

	// The server side closes first: its connection waits for the client's
	// FIN in FIN_WAIT2; the client's kernel says CLOSE_WAIT.
	p.run(browsertest.Click(card(3, "button", "Close")))
	p.waitText(card(3), `closed by you`)
	p.codeHas("s3.close()")
	p.waitText(card(2), `Kernel\s*CLOSE_WAIT`)
	// The client reads end-of-stream, then closes: the server side lingers
	// in TIME_WAIT, counting down, until the kernel lets it go.
	p.call(2, "recv", "bufsize", "10")
	p.codeHas(`data = s2.recv(10) # → 0 bytes: the peer has finished sending`)
	p.waitText(card(2), `half-closed: no more receiving`)
	p.run(browsertest.Click(card(2, "button", "Close")))
	p.waitText(card(2), `closed by you`)
	p.codeHas("s2.close()")
	s := p.waitText(card(3), `Kernel\s*TIME_WAIT · closed by you; the kernel lets it go in \d+\.\d s`)
	left := func(s string) float64 {
		m := regexp.MustCompile(`lets it go in (\d+\.\d) s`).FindStringSubmatch(s)
		f, _ := strconv.ParseFloat(m[1], 64)
		return f
	}
	before := left(s)
	if before < 1 || before > 61 {
		t.Errorf("TIME_WAIT lasts %.1f s more: want up to 60 s", before)
	}
	p.moves("the TIME_WAIT countdown", func() float64 { return before - left(p.waitText(card(3), `lets it go in`)) })
	p.waitText(card(3), `Path: .*ESTABLISHED → FIN_WAIT\d → .*TIME_WAIT`)
	p.showCard(3, "start")
	p.shot("32-step-time-wait")
	p.waitText(card(2), `Path: .*ESTABLISHED → CLOSE_WAIT → .*(LAST_ACK|CLOSED)`)

	// A blocked accept, cancelled.
	p.call(1, "accept")
	p.blockedFor(1, "accept")
	p.run(browsertest.Click(q("tab", "Traffic")))
	p.showCard(1, "start")
	p.contrast("33-step-blocked")
	p.run(browsertest.Click(card(1, "button", "Cancel")))
	p.run(browsertest.WaitGone(card(1, "button", "Cancel")))
	p.waitText(card(1), `accept failed: accept\(\) cancelled after \d`)
	p.waitText(card(1), `listening`)
	p.run(browsertest.Click(q("tab", "Code")))
	p.codeHas(`conn, addr = s1.accept() # cancelled: accept() cancelled after`)
	for _, theme := range []string{"light", "dark"} {
		for !strings.Contains(p.text(q("button", "~Theme:")), theme) {
			p.run(browsertest.Click(q("button", "~Theme:")))
		}
		p.showCard(3, "start")
		p.shot("34-step-" + theme)
	}
	p.noProblems()
}

// TestPageStepSwitch: a live connection switched to step mode stops
// reading by itself; what arrives waits in the kernel until recv is called.
func TestPageStepSwitch(t *testing.T) {
	base, _ := startProgram(t, "-addr", "127.0.0.1:0", "-services", "free")
	p := openPage(t, base)
	p.open("TCP server", "127.0.0.1", "0")
	p.waitText(card(1), `listening`)
	p.run(browsertest.Click(card(1, "button", "Connect a client")))
	p.waitText(card(3), `established`)
	p.run(browsertest.Click(card(3, "button", "Step mode")))
	p.run(browsertest.Wait(card(3, "form", "recv()")))
	p.run(browsertest.WaitGone(card(3, "button", "Step mode")))
	p.run(browsertest.Click(card(2, "button", "Send…")))
	p.send("Text", "abc")
	p.waitText(card(2), `Sent\s*3 bytes in 1 send\b`)
	p.waitText(card(3), `recv-Q 3 B`)
	if s := p.text(card(3)); !strings.Contains(s, "Received 0 bytes") {
		t.Errorf("socket 3 read by itself after switching to step mode: %q", s)
	}
	p.call(3, "recv", "bufsize", "1024")
	p.waitText(card(3), `Received\s*3 bytes in 1 read\b`)
	p.run(browsertest.Wait(q("list", "Events", "button", "~socket 3 received 3 bytes: abc")))
	// Non-blocking: a recv with nothing to read returns at once with EAGAIN.
	p.run(browsertest.Click(card(3, "button", "Options: setsockopt(), settimeout()")))
	p.call(3, "settimeout", "value", "0 (never block)")
	p.waitText(card(3), `Options\s*non-blocking`)
	p.call(3, "recv", "bufsize", "1024")
	p.waitText(card(3), `recv\(\) returned at once: .*\(EAGAIN\)`)
	p.run(browsertest.Click(q("tab", "Code")))
	p.codeHas(
		"s3.settimeout(0)",
		"data = s3.recv(1024) # → BlockingIOError: [Errno 11] Resource temporarily unavailable",
		"s1 = socket.create_server((\"127.0.0.1\", 0))",
		"s3, addr = s1.accept() # live mode accepted this by itself",
		"# s3 in step mode from here",
		"data = s3.recv(1024) # → b'abc'",
	)
	p.noProblems()
}

// TestPageStepUDP: a UDP socket made step by step; recvfrom(4) blocks
// until a 10-byte datagram comes, returns its first 4 bytes and says the
// rest were lost; the sender, never bound, is bound by its sendto.
func TestPageStepUDP(t *testing.T) {
	base, _ := startProgram(t, "-addr", "127.0.0.1:0", "-services", "none")
	p := openPage(t, base)
	p.run(
		browser.SetPermission(&browser.PermissionDescriptor{Name: "clipboard-read"}, browser.PermissionSettingGranted).WithOrigin(base),
		browser.SetPermission(&browser.PermissionDescriptor{Name: "clipboard-write"}, browser.PermissionSettingGranted).WithOrigin(base),
	)
	p.stepSocket("SOCK_DGRAM (UDP)", "AF_INET (IPv4)")
	p.waitText(card(1), `Socket 1 · UDP socket.*created`)
	var n int
	p.run(browsertest.Count(card(1, "button", "recvfrom()"), &n))
	if n != 0 {
		t.Errorf("an unbound UDP socket offers recvfrom()")
	}
	p.call(1, "bind", "host", "127.0.0.1", "port", "0")
	p.waitText(card(1), `bound`)
	port := p.localPort(1)
	p.call(1, "recvfrom", "bufsize", "4")
	p.blockedFor(1, "recvfrom")

	p.stepSocket("SOCK_DGRAM (UDP)", "AF_INET (IPv4)")
	p.waitText(card(2), `created`)
	p.run(
		browsertest.Click(card(2, "button", "Send…")),
		browsertest.Fill(q("textbox", "To host"), "127.0.0.1"),
		browsertest.Fill(q("spinbutton", "To port"), port),
	)
	p.send("Text", "0123456789")
	p.waitText(card(2), `bound`)
	from := p.localPort(2)
	p.run(browsertest.WaitGone(card(1, "button", "Cancel")))
	p.waitText(card(1), `Received\s*4 bytes in 1 datagram\b`)
	p.run(browsertest.Wait(q("list", "Events", "button", "~socket 1 received 4 bytes from 127.0.0.1:"+from+": 0123")))
	p.run(browsertest.Click(q("tab", "Code")))
	p.codeHas(
		"s1 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)",
		`s1.bind(("127.0.0.1", 0))`,
		`s2.sendto(b"0123456789", ("127.0.0.1", s1.getsockname()[1])) # → 10`,
		`data, addr = s1.recvfrom(4) # → b'0123' from ('127.0.0.1', `+from+`) (cut: the datagram had 10 bytes; the rest are lost)`,
	)
	p.run(browsertest.Click(q("button", "Copy Python")))
	script := func(s string) bool {
		return strings.HasPrefix(s, "#!/usr/bin/env python3\n") && strings.Contains(s, "\ns1 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n")
	}
	if clip := p.clipboard(script); !script(clip) {
		t.Errorf("Copy Python gave %q", clip)
	}
	p.shot("35-step-udp")
	p.noProblems()
}
