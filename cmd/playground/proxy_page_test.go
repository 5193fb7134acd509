package main

import (
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/socketplayground/playground/internal/browsertest"
)

// The bad-network proxy from the page (issue 5): a person puts it between a
// client and a server, turns its knobs on the proxy's card, and watches one
// send become several receives, arrive late, and end in a reset; and, for
// UDP, datagrams lost on the way.

// startProxy opens a proxy with the "Open a socket" form; target "" keeps
// the form's default target (the echo service of that protocol).
func (p *pageT) startProxy(proto, targetHost, targetPort string) {
	p.t.Helper()
	p.run(
		browsertest.Click(q("radio", "Bad-network proxy")),
		browsertest.Select(q("combobox", "Protocol"), proto),
		browsertest.Fill(q("textbox", "Listen host"), "127.0.0.1"),
		browsertest.Fill(q("spinbutton", "Listen port"), "0"),
	)
	if targetHost != "" {
		p.run(
			browsertest.Fill(q("textbox", "Target host"), targetHost),
			browsertest.Fill(q("spinbutton", "Target port"), targetPort),
		)
	}
	p.shot("19-proxy-form-" + proto)
	p.run(browsertest.Click(q("button", "Start proxy")))
}

// contrast checks every visible text against WCAG AA in each theme (as
// TestPageLooks does, here with proxy cards and relay rows on screen),
// leaving the theme as it found it.
func (p *pageT) contrast(name string) {
	p.t.Helper()
	for _, theme := range []string{"system", "light", "dark"} {
		var low []string
		p.run(chromedp.Evaluate(contrastJS, &low))
		if len(low) > 0 {
			p.t.Errorf("theme %s: text below WCAG AA contrast:\n%s", theme, strings.Join(low, "\n"))
		}
		if theme == "dark" {
			p.shot(name + "-dark")
		}
		p.run(browsertest.Click(q("button", "~Theme:")))
	}
}

// knob types a value into a knob of proxy n's card.
func (p *pageT) knob(n int, name, value string) {
	p.t.Helper()
	p.run(browsertest.Fill(card(n, "spinbutton", name), value))
}

// rowTime is the time column (seconds since the first event) of the one
// traffic row whose spoken label contains label.
func (p *pageT) rowTime(label string) float64 {
	p.t.Helper()
	s := p.text(q("list", "Events", "button", "~"+label))
	f, err := strconv.ParseFloat(strings.Fields(s)[0], 64)
	if err != nil {
		p.t.Fatalf("the row %q has no time first: %q", label, s)
	}
	return f
}

// TestPageProxyTCP: a server, a TCP proxy in front of it that splits every
// write into 3-byte pieces 25 ms apart, and a client through the proxy: one
// send of 10 bytes is four reads at the server, each relayed piece a row of
// its own. Then latency instead of split, then a reset.
func TestPageProxyTCP(t *testing.T) {
	base, _ := startProgram(t, "-addr", "127.0.0.1:0", "-services", "free")
	p := openPage(t, base)

	p.open("TCP server", "127.0.0.1", "0")
	p.waitText(card(1), `listening`)
	server := p.localPort(1)

	p.startProxy("TCP", "127.0.0.1", server)
	p.run(browsertest.Wait(q("article", "~Socket 2 · TCP proxy")))
	p.waitText(card(2), `proxying`)
	p.localPort(2)
	if s := p.text(card(2)); !strings.Contains(s, "Remote 127.0.0.1:"+server) {
		t.Errorf("the proxy's card does not name its target 127.0.0.1:%s: %q", server, s)
	}
	// A TCP proxy has TCP's knobs only.
	for _, name := range []string{"Loss (%)", "Reorder (%)"} {
		var n int
		p.run(browsertest.Count(card(2, "spinbutton", name), &n))
		if n != 0 {
			t.Errorf("the TCP proxy's card has the UDP knob %q", name)
		}
	}

	// Split 3: the gap between pieces defaults to 25 ms.
	p.knob(2, "Split into pieces of (bytes)", "3")
	var gap string
	p.run(browsertest.Value(card(2, "spinbutton", "Gap between pieces (ms)"), &gap))
	if gap != "25" {
		t.Errorf("with Split set, the gap is %q ms, want 25", gap)
	}
	p.waitText(card(2, "status", "Knobs in force"), `^In force: split into 3-byte pieces 25 ms apart$`)
	p.run(browsertest.Wait(q("list", "Events", "button", "~socket 2 proxy_set done: knobs now: split into 3-byte pieces 25 ms apart")))

	// A client through the proxy: socket 3, and socket 4 the connection the
	// server accepted from the proxy.
	p.run(browsertest.Click(card(2, "button", "Connect a client")))
	p.waitText(card(3), `established`)
	p.waitText(card(4), `established`)
	p.waitText(card(4), `Accepted by socket 1`)
	p.waitText(card(2), `Connections\s*1 \(1 open\)`)
	var from string
	p.run(browsertest.Value(q("combobox", "From socket"), &from))
	if !strings.HasSuffix(from, ":3") {
		t.Errorf("after Connect a client, the composer sends from %q, want the client (socket 3)", from)
	}

	// One send, four receives.
	p.send("Text", "helloworld")
	p.run(browsertest.Wait(q("list", "Events", "button", "~socket 3 sent 10 bytes: helloworld")))
	for _, piece := range []string{"hel", "low", "orl", "d"} {
		n := strconv.Itoa(len(piece)) + " bytes"
		if len(piece) == 1 {
			n = "1 byte"
		}
		p.run(
			browsertest.Wait(q("list", "Events", "button", "~socket 2 relayed "+n+" of conn 1 to the target: "+piece+" (delayed")),
			browsertest.Wait(q("list", "Events", "button", "~socket 4 received "+n+": "+piece)),
		)
	}
	p.waitText(card(4), `Received\s*10 bytes in 4 reads\b`)
	p.waitText(card(2), `To target\s*10 bytes in 4 chunks\b`)
	// The row itself: the relay arrow, the label, the length and the detail.
	row := p.text(q("list", "Events", "button", "~socket 2 relayed 3 bytes of conn 1 to the target: low"))
	if !regexp.MustCompile(`#2 ⇢ relay chunk 3 conn 1 → target, \+[\d.]+ (ms|µs): low$`).MatchString(row) {
		t.Errorf("the relay row reads %q", row)
	}
	p.shot("20-proxy-split")

	// Split off, latency 200 ms: the next send arrives at least 200 ms after
	// it was sent, in one piece.
	p.knob(2, "Split into pieces of (bytes)", "0")
	p.knob(2, "Latency (ms)", "200")
	p.waitText(card(2, "status", "Knobs in force"), `^In force: latency 200 ms$`)
	p.run(browsertest.Click(q("textbox", "Message")))
	p.send("Text", "later")
	p.run(browsertest.Wait(q("list", "Events", "button", "~socket 4 received 5 bytes: later")))
	row = p.text(q("list", "Events", "button", "~socket 2 relayed 5 bytes of conn 1 to the target: later"))
	m := regexp.MustCompile(`conn 1 → target, \+(\d+) ms: later$`).FindStringSubmatch(row)
	if m == nil {
		t.Fatalf("the relay row of the late send reads %q", row)
	}
	if ms, _ := strconv.Atoi(m[1]); ms < 200 || ms > 1000 {
		t.Errorf("the proxy delayed the send %d ms, want 200 (and not much more)", ms)
	}
	// From the send's call (before the bytes left socket 3) to their arrival.
	sent := p.rowTime("socket 3 call send: send 5 bytes")
	got := p.rowTime("socket 4 received 5 bytes: later")
	if got-sent < 0.2 {
		t.Errorf("socket 4 received 'later' %.6f s after socket 3 sent it, want at least 0.2 s", got-sent)
	}
	p.shot("21-proxy-latency")

	// Reset now: the client's connection is reset.
	p.run(browsertest.Click(card(2, "button", "Reset connections now")))
	p.run(browsertest.Wait(q("list", "Events", "button", "~socket 2 proxy_reset done: reset 1 connection")))
	s := p.waitText(card(3), `failed`)
	if !strings.Contains(s, "ECONNRESET") {
		t.Errorf("after the reset, the client's card says %q; want ECONNRESET", s)
	}
	p.waitText(card(2), `Connections\s*1 \(0 open\)`)
	p.run(browsertest.Wait(q("list", "Events", "button", "~socket 2 reset conn 1")))
	p.waitText(card(2), `proxying`)
	p.shot("22-proxy-reset")

	// The Relay filter hides what the proxy did, and shows it again.
	p.run(browsertest.Click(q("checkbox", "Relay")))
	p.run(browsertest.WaitGone(q("list", "Events", "button", "~socket 2 relayed 5 bytes of conn 1 to the target: later")))
	p.run(browsertest.Wait(q("list", "Events", "button", "~socket 4 received 5 bytes: later")))
	p.run(browsertest.Click(q("checkbox", "Relay")))
	p.run(browsertest.Wait(q("list", "Events", "button", "~socket 2 relayed 5 bytes of conn 1 to the target: later")))
	p.contrast("22-proxy-reset")

	// Close the proxy.
	p.run(browsertest.Click(card(2, "button", "Close")))
	p.waitText(card(2), `closed`)
	p.noProblems()
}

// TestPageProxyUDP: a UDP proxy in front of the UDP echo. With 100% loss a
// datagram sent through it is dropped on the way (a drop row says so) and
// nothing comes back; with no loss, the echo comes back through the proxy.
func TestPageProxyUDP(t *testing.T) {
	base, _ := startProgram(t, "-addr", "127.0.0.1:0", "-services", "free")
	p := openPage(t, base)

	p.startProxy("UDP", "", "") // the form's default target: the UDP echo
	p.run(browsertest.Wait(q("article", "~Socket 1 · UDP proxy")))
	p.waitText(card(1), `proxying`)
	proxy := p.localPort(1)
	var n int
	p.run(browsertest.Count(card(1, "button", "Reset connections now"), &n))
	if n != 0 {
		t.Errorf("a UDP proxy's card offers to reset connections")
	}

	p.knob(1, "Loss (%)", "100")
	p.waitText(card(1, "status", "Knobs in force"), `^In force: loss 100%$`)
	p.run(browsertest.Click(card(1, "button", "Open a UDP socket to it")))
	p.waitText(card(2), `bound`)
	var port string
	p.run(browsertest.Value(q("spinbutton", "To port"), &port))
	if port != proxy {
		t.Errorf("the composer sends to port %q, want the proxy's %s", port, proxy)
	}

	p.send("Text", "ping")
	p.run(browsertest.Wait(q("list", "Events", "button", "~socket 1 dropped 4 bytes of conn 1 to the target")))
	p.waitText(card(1), `Dropped\s*1 datagram \(4 bytes\)`)
	p.shot("23-proxy-udp-loss")
	p.contrast("23-proxy-udp-loss")

	p.knob(1, "Loss (%)", "0")
	p.waitText(card(1, "status", "Knobs in force"), `^In force: none \(forwards unchanged\)$`)
	p.run(browsertest.Click(q("textbox", "Message")))
	p.send("Text", "pong")
	p.run(
		browsertest.Wait(q("list", "Events", "button", "~socket 1 relayed 4 bytes of conn 1 to the client: pong")),
		browsertest.Wait(q("list", "Events", "button", "~socket 2 received 4 bytes from 127.0.0.1:"+proxy+": pong")),
	)
	// The dropped ping never came back.
	p.run(browsertest.Count(q("list", "Events", "button", "~socket 2 received 4 bytes from 127.0.0.1:"+proxy+": ping"), &n))
	if n != 0 {
		t.Errorf("the datagram dropped by 100%% loss came back")
	}
	p.waitText(card(2), `Received\s*4 bytes in 1 datagram\b`)
	p.waitText(card(1), `To client\s*4 bytes in 1 datagram\b`)
	p.shot("24-proxy-udp")

	// A knob out of range is explained on the card, and not sent.
	p.knob(1, "Reorder (%)", "150")
	p.waitText(card(1), `Not applied: Reorder must be a number from 0 to 100\.`)
	p.noProblems()
}
