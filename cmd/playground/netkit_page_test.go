package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"math/big"
	mrand "math/rand/v2"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/socketplayground/playground/internal/browsertest"
	"github.com/socketplayground/playground/internal/session"
)

// The toolkit's page parts (static/js/ui/tlsinfo.js, multicast.js,
// throughput.js) against real sockets on loopback: a TLS echo with a
// certificate made here, two UDP sockets in a multicast group on "lo" with
// TTL 0, and a peer that stops reading.

// testCA is a certificate authority made for one test, and a server
// certificate it signed for 127.0.0.1, ::1 and localhost.
type testCA struct {
	caName, leafName string
	cert             tls.Certificate // the server's: leaf, then the CA
}

func newTestCA(t *testing.T) testCA {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	ca := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "Playground Test CA", Organization: []string{"Socket Playground"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leaf := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "playground-test-server"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return testCA{
		caName:   "CN=Playground Test CA,O=Socket Playground",
		leafName: "CN=playground-test-server",
		cert:     tls.Certificate{Certificate: [][]byte{leafDER, caDER}, PrivateKey: key},
	}
}

// tlsEcho starts a TLS echo server on 127.0.0.1 that offers h2 and
// http/1.1 by ALPN, and returns its port. It stops when the test ends.
func tlsEcho(t *testing.T, cert tls.Certificate) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2", "http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns []net.Conn
	)
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Go(func() {
				defer c.Close()
				io.Copy(c, c) // a failed handshake ends here too
			})
		}
	})
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)
}

// openTLS connects with the open form's TLS option.
func (p *pageT) openTLS(host, port, sni, alpn string, verify bool) {
	p.t.Helper()
	p.run(
		browsertest.Click(q("radio", "TCP client")),
		browsertest.Fill(q("textbox", "Host"), host),
		browsertest.Fill(q("spinbutton", "Port"), port),
	)
	var on string
	p.run(chromedp.Evaluate(`String(document.getElementById("open-tls").checked)`, &on))
	if on != "true" {
		p.run(browsertest.Click(q("checkbox", "TLS")))
	}
	p.run(
		browsertest.Fill(q("textbox", "Server name (SNI)"), sni),
		browsertest.Fill(q("textbox", "ALPN protocols"), alpn),
	)
	var checked string
	p.run(chromedp.Evaluate(`String(document.getElementById("open-verify").checked)`, &checked))
	if (checked == "true") != verify {
		p.run(browsertest.Click(q("checkbox", "Verify certificate")))
	}
	p.run(browsertest.Click(q("button", "Connect")))
}

// TestPageTLS: a TLS connection to a TLS echo on loopback, from the open
// form: without verification the card shows the version, the cipher, the
// protocol ALPN chose and the server's chain, and text comes back through
// TLS; with verification the handshake fails on the unknown authority, the
// error card explains it and shows the chain, and "Retry without
// verification" connects.
func TestPageTLS(t *testing.T) {
	ca := newTestCA(t)
	port := tlsEcho(t, ca.cert)
	base, _ := startProgram(t, "-addr", "127.0.0.1:0", "-services", "none")
	p := openPage(t, base)

	// The option is the connect's only.
	p.run(browsertest.Click(q("radio", "TCP server")))
	p.run(browsertest.WaitGone(q("checkbox", "TLS")))
	p.openTLS("127.0.0.1", port, "", "h2, http/1.1", false)
	s := p.waitText(card(1), `TLS 1\.3 · TLS_[A-Z0-9_]+ · h2 · not verified`)
	if !strings.Contains(s, "established") || !strings.Contains(s, "no verification") {
		t.Errorf("the TLS connection's card says %q", s)
	}
	p.run(browsertest.Click(card(1, "button", "Certificate chain (2)")))
	chain := p.text(card(1, "list", "Certificate chain"))
	for _, want := range []string{"1 · server " + ca.leafName, "2 · authority " + ca.caName, "Issuer " + ca.caName, "localhost, 127.0.0.1, ::1", "ECDSA P-256", "SHA-256"} {
		if !strings.Contains(chain, want) {
			t.Errorf("the chain does not show %q: %q", want, chain)
		}
	}
	if strings.Contains(chain, "expired") {
		t.Errorf("a valid certificate is marked: %q", chain)
	}
	p.run(browsertest.Wait(q("list", "Events", "button", "~connect to 127.0.0.1:"+port+", timeout 10,000 ms with TLS (ALPN h2, http/1.1, no verification)")))
	p.run(browsertest.Wait(q("list", "Events", "button", "~socket 1 is handshaking (TLS)")))
	p.send("Text", "hello over TLS")
	p.run(browsertest.Wait(q("list", "Events", "button", "~socket 1 received 14 bytes: hello over TLS")))
	p.waitText(card(1), `Received\s*14 bytes in 1 read`)
	p.see(1, ".tls")
	p.shot("tls-card")
	// The Code tab renders the TLS connect, and the page carries on.
	p.run(browsertest.Click(q("tab", "Code")))
	code := p.waitText(q("region", "~Your calls in Python and Go"), `127\.0\.0\.1`)
	if !strings.Contains(strings.ToLower(code), "tls") && !strings.Contains(code, "ssl") {
		t.Errorf("the Code tab does not show the TLS connect: %q", code)
	}
	p.run(browsertest.Click(q("tab", "Traffic")))

	// Verified against the system's roots, the test's CA is unknown.
	p.allow(`tls|unknown authority`)
	p.openTLS("127.0.0.1", port, "", "", true)
	s = p.waitText(card(2), `failed`)
	if !strings.Contains(s, "TLS: the handshake failed") || !strings.Contains(s, "unknown authority") {
		t.Errorf("the failed handshake's card says %q", s)
	}
	errCard := q("article", "~TLS: certificate from an unknown authority")
	e := p.text(errCard)
	if !strings.Contains(e, "not signed by an authority") || !strings.Contains(e, "connect() to 127.0.0.1:"+port) {
		t.Errorf("the error card says %q", e)
	}
	p.run(browsertest.Click(q("article", "~TLS: certificate from an unknown authority", "button", "The server's certificates (2)")))
	if e := p.text(errCard); !strings.Contains(e, ca.leafName) || !strings.Contains(e, ca.caName) {
		t.Errorf("the error card does not show the server's chain: %q", e)
	}
	p.readable("a TLS card and a failed handshake, light")
	p.shot("tls-failed")
	p.run(browsertest.Click(card(2, "button", "Retry without verification")))
	p.waitText(card(3), `TLS 1\.3 · TLS_[A-Z0-9_]+ · not verified`)
	p.waitText(card(3), `established`)
	p.send("Text", "again")
	p.run(browsertest.Wait(q("list", "Events", "button", "~socket 3 received 5 bytes: again")))

	// The same, from the error card, with the theme the other way round.
	p.theme("dark")
	p.run(browsertest.Click(q("article", "~TLS: certificate from an unknown authority", "button", "Retry without verification")))
	p.waitText(card(4), `TLS 1\.3 · TLS_[A-Z0-9_]+ · not verified`)
	p.readable("TLS cards, dark")
	p.shot("tls-dark")
	p.noProblems()
}

// theme presses the theme button until the page's theme is want
// ("system", "light" or "dark").
func (p *pageT) theme(want string) {
	p.t.Helper()
	for range 3 {
		if p.text(q("button", "~Theme:")) == "Theme: "+want {
			return
		}
		p.run(browsertest.Click(q("button", "~Theme:")))
	}
	p.waitText(q("button", "~Theme:"), "^Theme: "+want+"$")
}

// readable fails the test for any visible text below WCAG AA contrast
// (contrastJS, browser_test.go), in the page's theme of the moment.
func (p *pageT) readable(what string) {
	p.t.Helper()
	var low []string
	p.run(chromedp.Evaluate(contrastJS, &low))
	if len(low) > 0 {
		p.t.Errorf("%s: text below WCAG AA contrast:\n%s", what, strings.Join(low, "\n"))
	}
}

// see scrolls the part of socket n's card that sel names into view, for a
// screenshot.
func (p *pageT) see(n int, sel string) {
	p.t.Helper()
	p.run(chromedp.Evaluate(fmt.Sprintf(`document.querySelector('.sock-card[data-key$=":%d"] %s').scrollIntoView({ block: "nearest" })`, n, sel), nil))
}

// multicastGroup is a group of 239.255.0.0/16 (organisation-local) for
// one test, so that tests running at once do not hear each other.
func multicastGroup() string {
	return fmt.Sprintf("239.255.%d.%d", 1+mrand.IntN(250), 1+mrand.IntN(250))
}

// loLabel is how the page's interface lists name "lo": its name and its
// first addresses (multicast.js, ifaceLabel).
func loLabel(t *testing.T) string {
	t.Helper()
	lo, err := net.InterfaceByName("lo")
	if err != nil {
		t.Skipf("no lo interface: %v", err)
	}
	addrs, err := lo.Addrs()
	if err != nil || len(addrs) == 0 {
		return "lo"
	}
	var s []string
	for _, a := range addrs {
		s = append(s, strings.Split(a.String(), "/")[0])
	}
	more := ""
	if len(s) > 2 {
		s, more = s[:2], ", …"
	}
	return "lo (" + strings.Join(s, ", ") + more + ")"
}

// TestPageMulticast: two UDP sockets on loopback. The receiver joins a
// group on "lo"; the sender sends multicast from "lo" with TTL 0 (it never
// leaves this host) and loopback on; the receiver's card shows the
// datagram; then it leaves the group.
func TestPageMulticast(t *testing.T) {
	group := multicastGroup()
	lo := loLabel(t)
	base, _ := startProgram(t, "-addr", "127.0.0.1:0", "-services", "none")
	p := openPage(t, base)

	// The receiver: every address of this host, so that datagrams to the group reach it.
	p.open("UDP socket", "0.0.0.0", "0")
	port := p.localPort(1)
	p.run(browsertest.Click(card(1, "button", "~Multicast and broadcast")))
	p.waitText(card(1, "list", "Groups joined"), `^$`)
	p.run(
		browsertest.Fill(card(1, "textbox", "Group address"), "239.1"),
		browsertest.Click(card(1, "button", "Join")),
	)
	p.waitText(card(1), `239\.1 is not an IPv4 multicast address`)
	p.run(
		browsertest.Fill(card(1, "textbox", "Group address"), group),
		browsertest.Select(card(1, "combobox", "Interface"), lo),
		browsertest.Click(card(1, "button", "Join")),
	)
	p.waitText(card(1, "list", "Groups joined"), `^`+group+` on lo Leave$`)
	p.waitText(card(1), `· 1 joined`)
	p.run(browsertest.Wait(q("list", "Events", "button", "~join group "+group+" on lo")))
	p.run(browsertest.Wait(q("list", "Events", "button", "~a member of "+group+" on lo")))

	// The sender: multicast out of lo, TTL 0, loopback on.
	p.open("UDP socket", "127.0.0.1", "0")
	p.localPort(2)
	p.run(browsertest.Click(card(2, "button", "~Multicast and broadcast")))
	p.run(
		browsertest.Select(card(2, "combobox", "IP_MULTICAST_IF"), lo),
		browsertest.Click(card(2, "button", "Set the multicast interface")),
	)
	p.waitText(card(2), `IP_MULTICAST_IF=lo`)
	p.run(
		browsertest.Fill(card(2, "spinbutton", "IP_MULTICAST_TTL"), "0"),
		browsertest.Click(card(2, "button", "Set the multicast TTL")),
	)
	p.waitText(card(2), `IP_MULTICAST_TTL=0`)
	// Loopback is on by default; off and on again, to set it.
	p.run(browsertest.Click(card(2, "checkbox", "IP_MULTICAST_LOOP")))
	p.waitText(card(2), `IP_MULTICAST_LOOP=0`)
	p.run(browsertest.Click(card(2, "checkbox", "IP_MULTICAST_LOOP")))
	p.waitText(card(2), `IP_MULTICAST_LOOP=1`)
	p.run(browsertest.Wait(q("list", "Events", "button", "~setsockopt IP_MULTICAST_IF = lo")))
	// SO_BROADCAST, on and off (nothing is broadcast here).
	p.run(browsertest.Click(card(2, "checkbox", "SO_BROADCAST")))
	p.waitText(card(2), `SO_BROADCAST=1`)
	p.run(browsertest.Click(card(2, "checkbox", "SO_BROADCAST")))
	p.waitText(card(2), `SO_BROADCAST=0`)

	p.run(
		browsertest.Click(card(2, "button", "Send…")),
		browsertest.Fill(q("textbox", "To host"), group),
		browsertest.Fill(q("spinbutton", "To port"), port),
	)
	p.send("Text", "hello, group")
	p.run(browsertest.Wait(q("list", "Events", "button", "~socket 1 received 12 bytes from 127.0.0.1:")))
	p.waitText(card(1), `Received\s*12 bytes in 1 datagram`)
	p.see(1, ".mcast")
	p.readable("multicast, light")
	p.shot("multicast")

	// Leave: the list empties, and the group's datagrams no longer come.
	p.run(browsertest.Click(card(1, "button", "Leave "+group+" on lo")))
	p.waitText(card(1, "list", "Groups joined"), `^$`)
	p.waitText(card(1), `None yet: join a group`)
	p.run(browsertest.Wait(q("list", "Events", "button", "~no longer a member of "+group)))

	// The theme the other way, and a narrow screen: still readable.
	p.theme("dark")
	p.run(chromedp.EmulateViewport(420, 900))
	p.readable("multicast, dark")
	p.shotFull("multicast-narrow-dark")
	p.noProblems()
}

// TestPageMulticastHosted: hosted mode sends no multicast or broadcast. The
// card says so with its controls disabled, and a join asked for anyway (as
// another client of the protocol would) is refused with the policy's
// reason, shown on the card.
func TestPageMulticastHosted(t *testing.T) {
	base, _ := startProgram(t, "-addr", "127.0.0.1:0", "-services", "none", "-mode", "hosted", "-pool", "24210-24219")
	p := openPage(t, base)
	p.allow(`policy`)
	p.open("UDP socket", "127.0.0.1", "0")
	p.localPort(1)
	p.run(browsertest.Click(card(1, "button", "~Multicast and broadcast")))
	p.waitText(card(1), `Hosted mode sends no multicast or broadcast`)
	var disabled string
	p.run(chromedp.Evaluate(`String(document.querySelector(".mc-controls").disabled)`, &disabled))
	if disabled != "true" {
		t.Errorf("in hosted mode the multicast controls are not disabled")
	}
	var answer string
	p.run(chromedp.Evaluate(`(async () => {
		const conn = `+importConn+`;
		try { await conn.request({ op: "join", sock: 1, group: "239.255.1.1" }); return "done"; }
		catch (e) { return e.code || e.message; }
	})()`, &answer, awaitPromise))
	if answer != "policy" {
		t.Errorf("a join in hosted mode was answered %q, want policy", answer)
	}
	s := p.waitText(card(1), `join failed`)
	if !strings.Contains(s, "multicast") {
		t.Errorf("the refused join's card does not say why: %q", s)
	}
	if e := p.text(q("article", "~Refused by the playground's policy")); !strings.Contains(e, "Hosted mode sends no multicast or broadcast and joins no group") {
		t.Errorf("the policy's error card does not say what to do: %q", e)
	}
	p.readable("hosted multicast")
	p.shot("multicast-hosted")
	p.noProblems()
}

// sink is a TCP server on loopback that accepts one connection and reads
// from it only once read is closed: until then its receive buffer fills and
// the sender's sends wait.
func sink(t *testing.T) (port string, read chan<- struct{}) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	start := make(chan struct{})
	done := make(chan struct{})
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		conn net.Conn
	)
	wg.Go(func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		mu.Lock()
		conn = c
		mu.Unlock()
		select {
		case <-start:
		case <-done:
			return
		}
		buf := make([]byte, 1<<20)
		for {
			if _, err := c.Read(buf); err != nil {
				return
			}
		}
	})
	t.Cleanup(func() {
		close(done)
		ln.Close()
		mu.Lock()
		if conn != nil {
			conn.Close() // ends a read in progress
		}
		mu.Unlock()
		wg.Wait()
	})
	return fmt.Sprint(ln.Addr().(*net.TCPAddr).Port), start
}

// TestPageThroughput: the chart's words show a rate while bytes flow (the
// chargen service streams without end), and a stall when the peer does not
// read: a repeat as fast as flow control allows fills the kernel's
// buffers, then waits; once the peer reads, the stall ends and is counted.
func TestPageThroughput(t *testing.T) {
	base, _ := startProgram(t, "-addr", "127.0.0.1:0", "-services", "free")
	p := openPage(t, base)
	p.run(browsertest.Click(q("button", "~Connect chargen TCP 127.0.0.1:")))
	p.waitText(card(1), `established`)
	p.run(browsertest.Wait(card(1, "button", "~Throughput of socket 1"))) // the chart is there
	s := p.waitText(card(1), `↓ [1-9][\d.,]* (kB|MB)/s ↑ 0 B/s`)
	t.Logf("chargen: %s", s[strings.Index(s, "↓"):])
	var label string
	p.run(browsertest.Attr(card(1, "button", "~Throughput of socket 1"), "aria-label", &label))
	if !strings.Contains(label, "↓ ") || !strings.Contains(label, "/s") {
		t.Errorf("the chart's accessible name is %q", label)
	}
	p.run(browsertest.Click(card(1, "button", "Close")))

	port, read := sink(t)
	p.open("TCP client", "127.0.0.1", port)
	p.waitText(card(2), `established`)
	p.run(
		browsertest.Click(q("radio", "Text")),
		browsertest.Fill(q("textbox", "Message"), strings.Repeat("0123456789", 6000)),
		browsertest.Fill(q("spinbutton", "Repeat"), "0"),
		browsertest.Fill(q("spinbutton", "~Every"), "0"),
		browsertest.Click(q("button", "Send")),
	)
	s = p.waitText(card(2), `stalled [\d.]+ s: `)
	t.Logf("stalled: %s", s[strings.Index(s, "↓"):])
	p.see(2, ".rate")
	p.readable("throughput, light")
	p.shot("throughput-stall")
	p.run(browsertest.Click(card(2, "button", "~Throughput of socket 2")))
	p.run(browsertest.Wait(q("dialog", "~Socket 2 · throughput")))
	p.shot("throughput-large")
	p.run(browsertest.Press(q("dialog", "~Socket 2 · throughput"), "Escape"))
	p.run(browsertest.WaitGone(q("dialog", "~Socket 2 · throughput")))

	// The repeat stops; the peer reads what waits: the bytes go, and the
	// stall is over, counted.
	p.run(browsertest.Click(card(2, "button", "Stop")))
	close(read)
	s = p.waitText(card(2), `· 1 stall in the last minute`)
	t.Logf("drained: %s", s[strings.Index(s, "↓"):])
	p.theme("dark")
	p.see(2, ".rate")
	p.readable("throughput, dark")
	p.shot("throughput-dark")
	p.noProblems()
}

// TestPageThroughputModel checks the counting behind the chart
// (static/js/netkit.js) on made-up events, where the right answer is known
// exactly: the rate is the bytes of the last complete second; a stall is a
// wait of a second or more with nothing going out, whatever waits (a send
// without its answer, a responder's reply, a repeat with no interval, the
// kernel's send queue); an answer, an error, bytes going out or the send
// queue shrinking end it; and a closed socket waits for nothing.
func TestPageThroughputModel(t *testing.T) {
	base, _ := startProgram(t, "-addr", "127.0.0.1:0", "-services", "none")
	p := openPage(t, base)
	var got []string
	p.importModule("netkit.js", `
		const store = { clock: () => 0, now: () => 0 }; // a replay's store: no skew
		const out = [];
		const T = 1_000_000_000_000; // µs, a whole number of buckets
		const s = { kind: "tcp", options: {} };
		const at = (sec, ev) => m.track(store, s, { t: T + sec * 1e6, sock: 1, ...ev });
		const say = (what, sec) => {
			const r = s.rates;
			const { down, up } = r.rate(T + sec * 1e6);
			const from = r.stallFrom();
			const now = T + sec * 1e6;
			out.push(what + ": down " + down + " up " + up + " stalls " + r.stalls.map(([a, b]) => (a - T) / 1e6 + "-" + (b - T) / 1e6).join(",") + (from && now - from >= m.STALL_US ? " stalled since " + (from - T) / 1e6 : ""));
		};
		at(0, { type: "data", op: "recv", len: 1000 });
		at(0.3, { type: "data", op: "recv", len: 500 });
		at(0.6, { type: "call", op: "send", id: "1", len: 200 });
		at(0.7, { type: "sent", op: "send", id: "1", len: 200 });
		say("one second", 1);
		say("the next second", 2);
		at(2, { type: "call", op: "send", id: "2", len: 100 });
		say("a send waits 0.5 s", 2.5);
		say("a send waits 1.5 s", 3.5);
		at(4, { type: "error", op: "send", id: "2", code: "reset" });
		say("its error", 4.5);
		at(5, { type: "call", op: "send", auto: true, rule: 1, len: 10 });
		at(7, { type: "sent", op: "send", auto: true, len: 10 });
		say("a responder's reply, 2 s late", 7.5);
		at(8, { type: "call", op: "repeat", id: "r" });
		at(8.1, { type: "sent", op: "send", id: "r", repeat: 1, len: 1000 });
		say("a repeat sending", 8.5);
		say("a repeat held 1.4 s", 9.5);
		at(10, { type: "result", op: "repeat", id: "r", count: 1 });
		say("the repeat stopped", 10.5);
		at(11, { type: "kernel", tcp: { state: "ESTABLISHED", send_q: 5000 } });
		say("the send queue holds bytes 1.5 s", 12.5);
		at(13, { type: "kernel", tcp: { state: "ESTABLISHED", send_q: 3000 } });
		say("it shrinks", 13.5);
		at(15, { type: "state", state: "closed" });
		say("closed", 17);
		return out;`, &got)
	want := []string{
		"one second: down 1500 up 200 stalls ",
		"the next second: down 0 up 0 stalls ",
		"a send waits 0.5 s: down 0 up 0 stalls ",
		"a send waits 1.5 s: down 0 up 0 stalls  stalled since 2",
		"its error: down 0 up 0 stalls 2-4",
		"a responder's reply, 2 s late: down 0 up 10 stalls 2-4,5-7",
		"a repeat sending: down 0 up 1000 stalls 2-4,5-7",
		"a repeat held 1.4 s: down 0 up 0 stalls 2-4,5-7 stalled since 8.1",
		"the repeat stopped: down 0 up 0 stalls 2-4,5-7,8.1-10",
		"the send queue holds bytes 1.5 s: down 0 up 0 stalls 2-4,5-7,8.1-10 stalled since 11",
		"it shrinks: down 0 up 0 stalls 2-4,5-7,8.1-10,11-13",
		"closed: down 0 up 0 stalls 2-4,5-7,8.1-10,11-13,13-15",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("the model says\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	p.noProblems()
}

// TestPageThroughputReplay: the chart is a view of the log, so a replay
// draws it too, on the replay's clock: a recorded connection that sent for
// three seconds, then waited three seconds for a send to be taken, shows
// its rate, then the stall growing while the replay plays through it, then
// the stall counted once the send went.
func TestPageThroughputReplay(t *testing.T) {
	base, _ := startProgram(t, "-addr", "127.0.0.1:0", "-services", "none")
	t0 := time.Now().Add(-time.Hour).UnixMicro() // a recording of an hour ago: the page's own clock does not matter
	var evs []*session.Event
	add := func(dt time.Duration, e session.Event) {
		e.Seq = uint64(len(evs) + 1)
		e.T = t0 + dt.Microseconds()
		e.Sock = 1
		evs = append(evs, &e)
	}
	add(0, session.Event{Type: session.TypeCall, ID: "1", Op: "connect", Host: "127.0.0.1", Port: 9, Timeout: 10000})
	add(time.Millisecond, session.Event{Type: session.TypeResult, ID: "1", Op: "connect", Addr: "127.0.0.1:9", Local: "127.0.0.1:40000", Remote: "127.0.0.1:9"})
	add(time.Millisecond, session.Event{Type: session.TypeState, Kind: "tcp", State: session.StateEstablished, Local: "127.0.0.1:40000", Remote: "127.0.0.1:9"})
	chunk := make([]byte, 5000)
	n := 0
	for dt := 100 * time.Millisecond; dt <= 3*time.Second; dt += 100 * time.Millisecond {
		n++
		id := fmt.Sprint(n + 1)
		add(dt, session.Event{Type: session.TypeCall, ID: id, Op: "send", Len: len(chunk)})
		add(dt+time.Millisecond, session.Event{Type: session.TypeSent, ID: id, Op: "send", Len: len(chunk), Data: chunk})
	}
	add(3100*time.Millisecond, session.Event{Type: session.TypeCall, ID: "w", Op: "send", Len: len(chunk)})
	add(6100*time.Millisecond, session.Event{Type: session.TypeSent, ID: "w", Op: "send", Len: len(chunk), Data: chunk})
	add(6500*time.Millisecond, session.Event{Type: session.TypeCall, ID: "c", Op: "close"})
	add(6501*time.Millisecond, session.Event{Type: session.TypeResult, ID: "c", Op: "close"})
	add(6501*time.Millisecond, session.Event{Type: session.TypeState, Kind: "tcp", State: session.StateClosed, Reason: "closed by you", Local: "127.0.0.1:40000", Remote: "127.0.0.1:9"})

	p := openReplay(t, base, "en", 1280, 800)
	p.upload(writeLog(t, "stall.jsonl", evs))
	// At 1×: the rate while it sends, then the stall as the replay's clock passes it.
	s := p.waitText(card(1), `↑ 50 kB/s`)
	t.Logf("sending: %s", s[strings.Index(s, "↓"):])
	s = p.waitText(card(1), `stalled [1-2]\.\d s: sends wait`)
	t.Logf("waiting: %s", s[strings.Index(s, "↓"):])
	p.shot("throughput-replay")
	p.waitAt(len(evs))
	p.waitText(card(1), `↓ 0 B/s ↑ [\d.]+ kB/s · 1 stall in the last minute`)
	// Paused at the end, the replay's clock stands still: so does the chart.
	before := p.text(card(1, "button", "~Throughput of socket 1"))
	time.Sleep(time.Second)
	if after := p.text(card(1, "button", "~Throughput of socket 1")); after != before {
		t.Errorf("the chart changed while the replay stood still: %q, then %q", before, after)
	}
	p.noProblems()
}

// BenchmarkPageThroughput measures what the throughput charts cost the page
// at the load: 50 sockets and 50,000 events a second. In the real
// page's modules (no server traffic, so the figures are the charts' own):
// track-ns is what counting one event costs (netkit.js, on every event
// applied), draw-ms what one drawing pass of 50 charts on screen costs
// (throughput.js, at most four a second), and busy-% the share of one
// second of the page's main thread the two take at that load.
//
//	go test -run '^$' -bench BenchmarkPageThroughput -benchtime 1x ./cmd/playground/
func BenchmarkPageThroughput(b *testing.B) {
	base, _ := startProgram(b, "-addr", "127.0.0.1:0", "-services", "none")
	p := &pageT{t: &testing.T{}, b: browsertest.Start(b, 120*time.Second), base: base}
	if err := chromedp.Run(p.b.Ctx, chromedp.EmulateViewport(1280, 800), chromedp.Navigate(base+"/")); err != nil {
		b.Fatal(err)
	}
	const js = `(async () => {
		const src = [...document.scripts].find((s) => s.src.endsWith("/js/app.js")).src;
		const nk = await import(src.replace("/app.js", "/netkit.js"));
		const tp = await import(src.replace("/app.js", "/ui/throughput.js"));
		const store = { clock: null, now: () => performance.now(), epoch: 1 };
		const cards = { store };
		const grid = document.createElement("div");
		grid.style.cssText = "position:fixed;inset:0;display:grid;grid-template-columns:repeat(5,1fr);gap:2px;background:var(--bg);z-index:50;overflow:hidden";
		document.body.append(grid);
		const socks = [];
		for (let i = 0; i < 50; i++) {
			const s = { id: 100 + i, kind: "udp", state: "bound", inBytes: 1, outBytes: 1, options: {} };
			socks.push(s);
		}
		// Counting: 500,000 events over the last 10 s, spread over the 50 sockets.
		const n = 500000;
		let t = Date.now() * 1000 - 10e6;
		const t0 = performance.now();
		for (let i = 0; i < n; i++) {
			const s = socks[i % 50];
			t += 20;
			const ev = i % 2 ? { type: "data", t, sock: s.id, op: "recvfrom", len: 512, peer: "127.0.0.1:9" } : { type: "sent", t, sock: s.id, op: "sendto", len: 512, peer: "127.0.0.1:9" };
			nk.track(store, s, ev);
		}
		const trackNs = ((performance.now() - t0) / n) * 1e6;
		// Drawing: 50 charts on screen.
		for (const s of socks) {
			const refs = tp.createThroughput(cards, s, "bench-" + s.id);
			refs.box.lastChild.hidden = true; // the words: the picture is measured
			grid.append(refs.box);
			tp.updateThroughput(cards, s, refs);
		}
		await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
		await new Promise((r) => setTimeout(r, 300));
		const passes = [];
		for (let k = 0; k < 20; k++) {
			// New bytes on every socket, so that every chart is drawn again.
			t += 1000;
			for (const s of socks) nk.track(store, s, { type: "data", t, sock: s.id, op: "recvfrom", len: 512 });
			const d0 = performance.now();
			const painted = tp.drawNow();
			passes.push({ ms: performance.now() - d0, painted });
		}
		passes.sort((a, b) => a.ms - b.ms);
		return { trackNs, drawMs: passes[10].ms, painted: passes[10].painted };
	})()`
	var res struct {
		TrackNs float64 `json:"trackNs"`
		DrawMs  float64 `json:"drawMs"`
		Painted int     `json:"painted"`
	}
	b.ResetTimer()
	if err := chromedp.Run(p.b.Ctx, chromedp.Evaluate(js, &res, awaitPromise)); err != nil {
		b.Fatal(err)
	}
	if res.Painted != 50 {
		b.Fatalf("a drawing pass painted %d charts, want the 50 on screen", res.Painted)
	}
	b.ReportMetric(res.TrackNs, "track-ns")
	b.ReportMetric(res.DrawMs, "draw-ms")
	// At 50,000 events a second and four passes a second.
	b.ReportMetric((50000*res.TrackNs/1e6+4*res.DrawMs)/1000*100, "busy-%")
	b.ReportMetric(0, "ns/op")
}
