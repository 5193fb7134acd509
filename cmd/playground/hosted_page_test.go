package main

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/socketplayground/playground/internal/browsertest"
)

// TestPageHosted: in hosted mode the page works as a stranger's browser
// would use it — its cookie and token get it a session, a server socket
// gets a port from the pool, the echo answers — and a refused target is
// explained on the card, in plain words, while the rest carries on.
func TestPageHosted(t *testing.T) {
	base, _ := startProgram(t, "-addr", "127.0.0.1:0", "-services", "free", "-mode", "hosted", "-pool", "24200-24209")
	p := openPage(t, base)
	p.allow(`policy`) // the refusal below is expected on the console too
	if note := p.text(q("region", "Open a socket")); !strings.Contains(note, "shared and public") || !strings.Contains(note, "24200–24209") {
		t.Errorf("the page does not say what hosted mode reaches: %q", note)
	}

	p.run(browsertest.Click(q("button", "~Connect echo TCP 127.0.0.1:")))
	p.waitText(card(1), `established`)
	p.send("Text", "hello, hosted")
	p.run(browsertest.Wait(q("list", "Events", "button", "~socket 1 received 13 bytes: hello, hosted")))

	p.open("TCP server", "127.0.0.1", "0")
	p.waitText(card(2), `listening`)
	if port, _ := strconv.Atoi(p.localPort(2)); port < 24200 || port > 24209 {
		t.Errorf("the server socket listens on port %d, want one from the pool 24200-24209", port)
	}

	closed := closedPort(t)
	p.open("TCP client", "127.0.0.1", closed)
	s := p.waitText(card(3), `failed`)
	if !strings.Contains(s, "refused by the server's policy") || !strings.Contains(s, closed) {
		t.Errorf("the refused connection's card says %q", s)
	}
	p.shot("hosted-refused")
	p.send("Text", "still here")
	p.run(browsertest.Wait(q("list", "Events", "button", "~socket 1 received 10 bytes: still here")))
	p.noProblems()
}

// TestPageHostedRefusedAndRestart: a page over the per-address cap says
// why the server refused it (a browser hides the 429 from the WebSocket),
// and an open page survives a restart of the server, whose new key makes
// its old token worthless: it fetches a fresh one and gets a new session.
func TestPageHostedRefusedAndRestart(t *testing.T) {
	base, stop := startProgram(t, "-addr", "127.0.0.1:0", "-services", "none", "-mode", "hosted", "-sessions-per-ip", "1")
	a := openPage(t, base)
	first := a.waitText(q("status", "Connection to the server"), `Connected · session`)

	b := &pageT{t: t, b: browsertest.Start(t, 90*time.Second), base: base}
	b.allow(`429|ERR_CONNECTION_REFUSED|Failed to load resource`)
	b.run(chromedp.Navigate(base + "/"))
	b.waitText(q("status", "Session news"), `The server refused the connection: Too many sessions from your address: at most 1 at once`)
	b.shot("hosted-429")

	if err := stop(); err != nil {
		t.Fatal(err)
	}
	a.waitText(q("status", "Connection to the server"), `Disconnected`)
	addr := strings.TrimSuffix(strings.TrimPrefix(base, "http://"), "/")
	again, _ := startProgram(t, "-addr", addr, "-services", "none", "-mode", "hosted", "-sessions-per-ip", "2")
	if again != base {
		t.Fatalf("restarted on %s, want %s", again, base)
	}
	a.allow(`ERR_CONNECTION_REFUSED|Failed to load resource`)
	now := a.waitText(q("status", "Connection to the server"), `Connected · session`)
	if now == first {
		t.Errorf("the page shows the same session %q after the restart", now)
	}
	a.waitText(q("status", "Session news"), `Reconnected: this is a new session`)
	a.noProblems()
}
