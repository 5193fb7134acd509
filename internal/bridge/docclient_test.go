package bridge_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/socketplayground/playground/internal/bridge"
	"github.com/socketplayground/playground/internal/browsertest"
	"github.com/socketplayground/playground/internal/services"
	"github.com/socketplayground/playground/internal/session"
)

// docClientChromium is Debian's browser; the test never downloads one.

// docClientReport is what runDocClient (testdata/docclient.js) returns.
type docClientReport struct {
	OK    bool `json:"ok"`
	Steps []struct {
		Name   string `json:"name"`
		OK     bool   `json:"ok"`
		Error  string `json:"error"`
		MS     int    `json:"ms"`
		Notes  []string
		Checks []struct {
			OK     bool   `json:"ok"`
			What   string `json:"what"`
			Detail string `json:"detail"`
		} `json:"checks"`
	} `json:"steps"`
	Observations []string `json:"observations"`
	Mismatches   []struct {
		Label    string          `json:"label"`
		Expected json.RawMessage `json:"expected"`
		Got      json.RawMessage `json:"got"`
	} `json:"mismatches"`
	Events    int    `json:"events"`
	SessionID string `json:"sessionId"`
}

// docPeers are the real Go-side sockets on 127.0.0.1 the browser client
// talks to for the error cases and the byte-exact cross-checks.
type docPeers struct {
	wg      sync.WaitGroup
	closers []func()

	refusedPort, timeoutPort, resetPort, pipePort, goPeerPort, goUDPPort int

	goPeer chan docPeerResult // what the TCP peer received, once

	mu       sync.Mutex
	udpGot   [][]byte // datagrams the UDP peer received
	resets   int      // connections the reset peer reset
	pipeConn int      // connections the pipe peer closed
}

type docPeerResult struct {
	got      []byte // the first 256 bytes read
	extra    int    // bytes after them, before EOF
	eof      bool   // the client's FIN arrived
	err      error
	accepted bool
}

func (p *docPeers) close() {
	for i := len(p.closers) - 1; i >= 0; i-- {
		p.closers[i]()
	}
	p.wg.Wait()
}

func startDocPeers(t *testing.T) *docPeers {
	t.Helper()
	p := &docPeers{goPeer: make(chan docPeerResult, 1)}
	fail := func(err error) {
		p.close()
		t.Fatal(err)
	}
	listen := func() net.Listener {
		l, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			fail(err)
		}
		p.closers = append(p.closers, func() { l.Close() })
		return l
	}
	port := func(a net.Addr) int { return int(netip.MustParseAddrPort(a.String()).Port()) }

	// Refused: a TCP socket bound to a port but not listening. It holds the
	// port for the whole test, so no other listener can take it meanwhile,
	// and the kernel answers every SYN with a RST.
	{
		fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
		if err != nil {
			fail(err)
		}
		p.closers = append(p.closers, func() { syscall.Close(fd) })
		if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
			fail(err)
		}
		sa, err := syscall.Getsockname(fd)
		if err != nil {
			fail(err)
		}
		p.refusedPort = sa.(*syscall.SockaddrInet4).Port
	}

	// Timeout: a listener whose accept queue is full; nothing ever accepts.
	p.timeoutPort = int(netip.MustParseAddrPort(fullListener(t)).Port())

	// Reset: accept, read one byte, then abort with SO_LINGER 0.
	{
		l := listen()
		p.resetPort = port(l.Addr())
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				c.SetDeadline(time.Now().Add(10 * time.Second))
				var b [1]byte
				c.Read(b[:])
				c.(*net.TCPConn).SetLinger(0)
				c.Close()
				p.mu.Lock()
				p.resets++
				p.mu.Unlock()
			}
		}()
	}

	// Broken pipe: accept and close normally at once (FIN).
	{
		l := listen()
		p.pipePort = port(l.Addr())
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				c.Close()
				p.mu.Lock()
				p.pipeConn++
				p.mu.Unlock()
			}
		}()
	}

	// The TCP peer: reads exactly 256 bytes, writes 0..255 in two writes,
	// then reads until EOF and closes.
	{
		l := listen()
		p.goPeerPort = port(l.Addr())
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
			res := docPeerResult{accepted: true}
			defer func() { p.goPeer <- res }()
			c.SetDeadline(time.Now().Add(30 * time.Second))
			res.got = make([]byte, 256)
			if _, res.err = io.ReadFull(c, res.got); res.err != nil {
				return
			}
			all := docAllBytes()
			if _, res.err = c.Write(all[:100]); res.err != nil {
				return
			}
			time.Sleep(20 * time.Millisecond)
			if _, res.err = c.Write(all[100:]); res.err != nil {
				return
			}
			n, err := io.Copy(io.Discard, c)
			res.extra, res.eof, res.err = int(n), err == nil, err
		}()
	}

	// The UDP peer: answers every datagram with its bytes reversed.
	{
		pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			fail(err)
		}
		p.closers = append(p.closers, func() { pc.Close() })
		p.goUDPPort = port(pc.LocalAddr())
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			buf := make([]byte, 65536)
			for {
				n, from, err := pc.ReadFrom(buf)
				if err != nil {
					return
				}
				got := append([]byte(nil), buf[:n]...)
				p.mu.Lock()
				p.udpGot = append(p.udpGot, got)
				p.mu.Unlock()
				rev := make([]byte, n)
				for i := range got {
					rev[n-1-i] = got[i]
				}
				pc.WriteTo(rev, from)
			}
		}()
	}
	return p
}

func docAllBytes() []byte {
	b := make([]byte, 256)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

// TestDocClientInBrowser runs a client written from docs/protocol.md alone
// (testdata/docclient.js) in headless Chromium against a real bridge, and
// checks its report and, from the Go side, the bytes real peers saw.
func TestDocClientInBrowser(t *testing.T) {
	script, err := os.ReadFile("testdata/docclient.js")
	if err != nil {
		t.Fatal(err)
	}

	// The loopback DNS server: echo.playground.test is 127.0.0.1 and ::1;
	// every other name is NXDOMAIN. Its cleanup (t.Cleanup) runs after the
	// deferred teardown below.
	dns, resolver := startDNS(t, map[string][]netip.Addr{
		"echo.playground.test.": {netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1")},
	})

	set, err := services.Start(services.Config{FreePorts: true, Ports: echoOnly()})
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close()
	var svcs []bridge.Service
	for _, in := range set.Infos() {
		svcs = append(svcs, bridge.Service{Name: in.Name, Proto: in.Proto, Addr: in.Addr, About: in.About})
	}

	peers := startDocPeers(t)
	defer peers.close()

	const maxSend, sendQueue, maxMessage = 64 << 10, 256 << 10, 256 << 10
	ctx, cancel := context.WithCancel(context.Background())
	h := bridge.NewHandler(ctx, bridge.Options{
		Mode:       "local",
		Services:   svcs,
		MaxMessage: maxMessage,
		Session: session.Options{
			Resolver: resolver,
			Limits:   session.Limits{MaxSend: maxSend, SendQueue: sendQueue},
		},
	})
	mux := http.NewServeMux()
	mux.Handle("/ws", h)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, "<!doctype html><html><head><meta charset=utf-8><title>docclient</title><link rel=icon href='data:,'></head><body></body></html>")
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	defer func() { cancel(); h.Wait() }()

	// §2.2 from Go: a foreign Origin is refused with 403; no Origin at all
	// is accepted, with the subprotocol named.
	docCheckOrigin(t, srv.URL)

	ipv6 := false
	if pc, err := net.ListenPacket("udp6", "[::1]:0"); err == nil {
		ipv6 = true
		pc.Close()
	}
	params, _ := json.Marshal(map[string]any{
		"echoName":    "echo.playground.test",
		"nxName":      "nope.playground.test",
		"refusedPort": peers.refusedPort,
		"timeoutPort": peers.timeoutPort,
		"resetPort":   peers.resetPort,
		"pipePort":    peers.pipePort,
		"goPeerPort":  peers.goPeerPort,
		"goUDPPort":   peers.goUDPPort,
		"ipv6":        ipv6,
		"waitMs":      5000,
	})

	browser := browsertest.Start(t, 60*time.Second)

	start := time.Now()
	var raw []byte
	err = chromedp.Run(browser.Ctx,
		chromedp.Navigate(srv.URL+"/"),
		chromedp.Evaluate(string(script), nil),
		chromedp.Evaluate("runDocClient("+string(params)+")", &raw, func(p *runtime.EvaluateParams) *runtime.EvaluateParams {
			return p.WithAwaitPromise(true)
		}),
	)
	elapsed := time.Since(start)
	browser.Stop()
	if err != nil {
		t.Fatalf("running the client: %v (page problems: %q)", err, browser.Problems())
	}
	var rep docClientReport
	if err := json.Unmarshal(raw, &rep); err != nil {
		t.Fatalf("report: %v\n%s", err, raw)
	}

	// The report, step by step.
	var b strings.Builder
	fmt.Fprintf(&b, "doc client report (session %s, %d events, %v):\n", rep.SessionID, rep.Events, elapsed.Round(time.Millisecond))
	for i, s := range rep.Steps {
		mark := "PASS"
		if !s.OK {
			mark = "FAIL"
		}
		passed := 0
		for _, c := range s.Checks {
			if c.OK {
				passed++
			}
		}
		fmt.Fprintf(&b, "%2d %s %-70s %3d/%-3d checks %5d ms\n", i+1, mark, s.Name, passed, len(s.Checks), s.MS)
		for _, n := range s.Notes {
			fmt.Fprintf(&b, "      note: %s\n", n)
		}
		for _, c := range s.Checks {
			if !c.OK {
				fmt.Fprintf(&b, "      FAILED: %s\n        %s\n", c.What, c.Detail)
			}
		}
		if s.Error != "" {
			fmt.Fprintf(&b, "      ERROR: %s\n", s.Error)
		}
	}
	for _, o := range rep.Observations {
		fmt.Fprintf(&b, "observation: %s\n", o)
	}
	for _, m := range rep.Mismatches {
		fmt.Fprintf(&b, "DOC MISMATCH: %s\n   doc says %s\n   server sent %s\n", m.Label, m.Expected, m.Got)
	}
	t.Log(b.String())
	for _, s := range rep.Steps {
		if !s.OK {
			t.Errorf("step %q failed", s.Name)
		}
	}
	if !rep.OK || len(rep.Steps) < 20 {
		t.Errorf("report ok=%v with %d steps", rep.OK, len(rep.Steps))
	}
	// Any place where the server and docs/protocol.md disagree fails: the
	// document is the contract.
	for _, m := range rep.Mismatches {
		t.Errorf("difference from docs/protocol.md: %s: got %s", m.Label, m.Got)
	}
	if p := browser.Problems(); len(p) > 0 {
		t.Logf("page problems: %q", p)
	}

	// Cross-checks from the Go side.
	all := docAllBytes()
	select {
	case r := <-peers.goPeer:
		if !r.accepted || !bytes.Equal(r.got, all) {
			t.Errorf("the Go TCP peer read %x, want 00..ff", r.got)
		}
		if r.extra != 0 || !r.eof || r.err != nil {
			t.Errorf("the Go TCP peer after its 256 bytes: %d extra bytes, eof %v, err %v", r.extra, r.eof, r.err)
		}
	case <-time.After(5 * time.Second):
		t.Errorf("the Go TCP peer never finished")
	}
	peers.mu.Lock()
	udp, resets, pipes := peers.udpGot, peers.resets, peers.pipeConn
	peers.mu.Unlock()
	if len(udp) != 1 || !bytes.Equal(udp[0], all) {
		t.Errorf("the Go UDP peer got %d datagrams (%x), want one with 00..ff", len(udp), udp)
	}
	if resets != 1 || pipes != 1 {
		t.Errorf("the reset peer reset %d connections and the pipe peer closed %d; want 1 each", resets, pipes)
	}
	if !dns.Asked("echo.playground.test.") || !dns.Asked("nope.playground.test.") {
		t.Errorf("the session did not ask the loopback DNS server; it was asked %v", dns.Questions())
	}
	if elapsed > 45*time.Second {
		t.Errorf("the scenario took %v", elapsed)
	}
}

// docCheckOrigin checks §2.2 with plain HTTP upgrade requests.
func docCheckOrigin(t *testing.T, base string) {
	t.Helper()
	u := strings.TrimPrefix(base, "http://")
	upgrade := func(origin string) *http.Response {
		req, err := http.NewRequest("GET", base+"/ws", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Connection", "Upgrade")
		req.Header.Set("Upgrade", "websocket")
		req.Header.Set("Sec-WebSocket-Version", "13")
		req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
		req.Header.Set("Sec-WebSocket-Protocol", bridge.Subprotocol)
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	port := u[strings.LastIndex(u, ":")+1:]
	if r := upgrade("http://localhost:" + port); r.StatusCode != http.StatusForbidden {
		t.Errorf("upgrade with Origin http://localhost:%s: %s, want 403 (§2.2)", port, r.Status)
	}
	if r := upgrade("http://" + u); r.StatusCode != http.StatusSwitchingProtocols {
		t.Errorf("upgrade with its own Origin: %s, want 101", r.Status)
	}
	r := upgrade("")
	if r.StatusCode != http.StatusSwitchingProtocols || r.Header.Get("Sec-WebSocket-Protocol") != bridge.Subprotocol {
		t.Errorf("upgrade without Origin: %s, protocol %q; want 101 and %s (§2.1, §2.2)", r.Status, r.Header.Get("Sec-WebSocket-Protocol"), bridge.Subprotocol)
	}
}
