package server_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/socketplayground/playground/internal/policy"
	"github.com/socketplayground/playground/internal/server"
)

// hosted returns a hosted-mode Config whose listener pool is the ten ports
// from first, so tests do not share ports. Tests take pools below the
// kernel's ephemeral range, where the services' free ports never fall.
func hosted(first uint16) server.Config {
	return server.Config{Mode: server.ModeHosted, Policy: policy.Config{PoolFirst: first, PoolLast: first + 9}}
}

// inPool reports whether addr's port is in cfg's pool.
func inPool(cfg server.Config, addr string) bool {
	ap, err := netip.ParseAddrPort(addr)
	return err == nil && ap.Port() >= cfg.Policy.PoolFirst && ap.Port() <= cfg.Policy.PoolLast
}

// TestHostedForbiddenTargets: every loopback spelling of a port that is
// neither a service nor in the pool is refused with a reason, and the
// canary listening there accepts nothing; the session carries on. (The
// forbidden addresses off this machine — private, metadata, NAT64... — are
// in the policy's own table test, which dials nothing: tests never send
// traffic off loopback.)
func TestHostedForbiddenTargets(t *testing.T) {
	cfg := hosted(24100)
	s := start(t, cfg)
	c := s.session(t)
	echo := c.service("echo", "tcp")
	mustOK(t, "connect to the echo", c.connect(echo))

	c4 := newCanary(t, "tcp4", "127.0.0.1:0")
	p4 := strconv.Itoa(c4.port())
	targets := []struct{ host, port, why string }{
		{"127.0.0.1", p4, "loopback"},
		{"127.0.0.2", p4, "loopback"},
		{"::ffff:127.0.0.1", p4, "loopback"},
		{"localhost", p4, "loopback"},
		{"0.0.0.0", p4, "unspecified"},
	}
	if c6, err := net.Listen("tcp6", "[::1]:0"); err == nil {
		c6.Close()
		can6 := newCanary(t, "tcp6", "[::1]:0")
		targets = append(targets, struct{ host, port, why string }{"::1", strconv.Itoa(can6.port()), "loopback"})
		defer func() {
			if n := can6.count(); n != 0 {
				t.Errorf("the IPv6 canary accepted %d connections", n)
			}
		}()
	}
	for _, tg := range targets {
		e := c.do(fmt.Sprintf(`{"op":"connect","host":%q,"port":%s}`, tg.host, tg.port))
		mustRefuse(t, tg.host+":"+tg.port, e, tg.why)
	}
	// A forbidden connect after an allowed one is still refused, and an
	// allowed one after the refusals still works.
	mustOK(t, "connect to the echo again", c.connect(echo))
	if n := c4.count(); n != 0 {
		t.Errorf("the canary accepted %d connections", n)
	}
}

// stubResolver answers each name with the next of its answers: a DNS
// rebinding attacker's name, which resolves first to an allowed address.
type stubResolver struct {
	mu      sync.Mutex
	answers map[string][][]netip.Addr
	asked   []string
}

func (r *stubResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.asked = append(r.asked, host)
	a := r.answers[host]
	if len(a) == 0 {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	r.answers[host] = a[1:]
	return a[0], nil
}

// TestHostedDNSRebinding: an allowlisted name that resolved to the echo,
// and then to a private address, is refused at dial time the second time.
// A name not on the allowlist is not even resolved.
func TestHostedDNSRebinding(t *testing.T) {
	cfg := hosted(24110)
	dns := &stubResolver{answers: map[string][][]netip.Addr{
		"rebind.test":   {{netip.MustParseAddr("127.0.0.1")}, {netip.MustParseAddr("10.0.0.1")}},
		"internal.test": {{netip.MustParseAddr("10.1.2.3")}},
	}}
	cfg.Resolver = dns
	rule, err := policy.ParseRule("rebind.test:1-65535")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Policy.Allow = []policy.Rule{rule}
	s := start(t, cfg)
	c := s.session(t)
	_, port, _ := net.SplitHostPort(c.service("echo", "tcp"))
	req := `{"op":"connect","host":"rebind.test","port":` + port + `}`
	mustOK(t, "the first connect, to 127.0.0.1", c.do(req))
	mustRefuse(t, "the second connect, to 10.0.0.1", c.do(req), "10.0.0.1")

	e := c.do(`{"op":"connect","host":"internal.test","port":80}`)
	mustRefuse(t, "a name off the allowlist", e, "resolves only")
	if strings.Contains(e.Message, "10.1.2.3") {
		t.Errorf("the refusal shows what the name resolves to: %q", e.Message)
	}
	dns.mu.Lock()
	defer dns.mu.Unlock()
	if strings.Contains(strings.Join(dns.asked, " "), "internal.test") {
		t.Errorf("internal.test was resolved: %v", dns.asked)
	}
}

// TestHostedUDP: a UDP socket gets a pool port; a datagram to a forbidden
// loopback port is refused and never arrives; the echo still answers.
func TestHostedUDP(t *testing.T) {
	cfg := hosted(24120)
	s := start(t, cfg)
	c := s.session(t)
	bound := mustOK(t, "bind", c.do(`{"op":"bind","host":"127.0.0.1","port":0}`))
	if !inPool(cfg, bound.Local) {
		t.Errorf("bound to %s, want a port in the pool %d-%d", bound.Local, cfg.Policy.PoolFirst, cfg.Policy.PoolLast)
	}
	canary, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer canary.Close()
	cport := canary.LocalAddr().(*net.UDPAddr).Port
	e := c.do(fmt.Sprintf(`{"op":"sendto","sock":%d,"host":"127.0.0.1","port":%d,"data":{"text":"forbidden"}}`, bound.Sock, cport))
	mustRefuse(t, "sendto the canary", e, "loopback")
	echo := c.service("echo", "udp")
	host, port, _ := net.SplitHostPort(echo)
	mustOK(t, "sendto the echo", c.do(fmt.Sprintf(`{"op":"sendto","sock":%d,"host":%q,"port":%s,"data":{"text":"hello"}}`, bound.Sock, host, port)))
	back := c.until(func(e ev) bool { return e.Type == "data" })
	if string(back.Data) != "hello" {
		t.Errorf("the echo sent back %q", back.Data)
	}
	// The refused datagram was refused before it was sent; the echo's
	// answer arriving after it shows the session had long moved on.
	canary.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if n, from, err := canary.ReadFrom(make([]byte, 64)); err == nil {
		t.Errorf("the canary received %d bytes from %v", n, from)
	}
}

// TestHostedPool: listeners are loopback-only and get pool ports; another
// session can connect to one (two people pairing); nothing else listens.
func TestHostedPool(t *testing.T) {
	cfg := hosted(24130)
	s := start(t, cfg)
	a, b := s.session(t), s.session(t)
	ln := mustOK(t, "listen", a.do(`{"op":"listen","host":"127.0.0.1","port":0}`))
	if !inPool(cfg, ln.Local) {
		t.Fatalf("listening on %s, want a port in the pool", ln.Local)
	}
	mustRefuse(t, "listen on every address", a.do(`{"op":"listen","host":"0.0.0.0","port":0}`), "")
	mustRefuse(t, "listen outside the pool", a.do(`{"op":"listen","host":"127.0.0.1","port":24199}`), "")
	mustRefuse(t, "listen on a port another session holds", b.do(fmt.Sprintf(`{"op":"listen","host":"127.0.0.1","port":%s}`, ln.Local[strings.LastIndexByte(ln.Local, ':')+1:])), "")
	mustOK(t, "the other session connects", b.connect(ln.Local))
	acc := a.until(func(e ev) bool { return e.Type == "result" && e.Op == "accept" })
	if acc.Sock != ln.Sock || acc.Child == 0 {
		t.Errorf("accept %+v", acc)
	}
}

// TestHostedSessionCaps: the session over the per-address limit gets 429
// before any upgrade; X-Forwarded-For counts only from a trusted proxy.
func TestHostedSessionCaps(t *testing.T) {
	cfg := hosted(24140)
	cfg.Caps.SessionsPerIP = 2
	cfg.Caps.Grace = 500 * time.Millisecond
	s := start(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	cookie, token := s.page(t)
	open := func(xff string) (*websocket.Conn, int) {
		h := s.browserHeaders(cookie)
		if xff != "" {
			h.Set("X-Forwarded-For", xff)
		}
		ws, resp, err := s.dial(ctx, h, "?token="+token)
		if err != nil {
			if resp == nil {
				t.Fatal(err)
			}
			return nil, resp.StatusCode
		}
		t.Cleanup(func() { ws.CloseNow() })
		return ws, 101
	}
	first, _ := open("")
	if _, code := open("198.51.100.1"); code != 101 {
		t.Fatalf("second session: %d", code)
	}
	if _, code := open("198.51.100.2"); code != http.StatusTooManyRequests {
		t.Errorf("third session, with a spoofed X-Forwarded-For from an untrusted peer: %d, want 429", code)
	}
	// A session whose page went still counts through its grace period,
	// with its sockets open: a new session is refused until it ends.
	first.Close(websocket.StatusNormalClosure, "")
	if _, code := open(""); code != http.StatusTooManyRequests {
		t.Errorf("a session while another waits for its page: %d, want 429", code)
	}
	eventually(t, "a slot is free again after the grace period", func() bool {
		ws, code := open("")
		if ws != nil {
			ws.Close(websocket.StatusNormalClosure, "")
		}
		return code == 101
	})

	cfg = hosted(24150)
	cfg.Caps.SessionsPerIP = 1
	cfg.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	s = start(t, cfg)
	cookie, token = s.page(t)
	for _, xff := range []string{"198.51.100.1", "198.51.100.2", "203.0.113.9, 198.51.100.3"} {
		if _, code := open(xff); code != 101 {
			t.Errorf("a session for %s behind the trusted proxy: %d", xff, code)
		}
	}
	if _, code := open("198.51.100.1"); code != http.StatusTooManyRequests {
		t.Errorf("a second session for 198.51.100.1 behind the trusted proxy: %d, want 429", code)
	}
}

// TestHostedRates: connect attempts and bytes are limited exactly.
func TestHostedRates(t *testing.T) {
	cfg := hosted(24160)
	cfg.Policy.Limits = policy.Limits{ConnectsPerMinute: 3, BytesPerSession: 100}
	s := start(t, cfg)
	c := s.session(t)
	echo := c.service("echo", "tcp")
	for i := range 3 {
		e := mustOK(t, fmt.Sprint("connect ", i+1), c.connect(echo))
		mustOK(t, "close", c.do(fmt.Sprintf(`{"op":"close","sock":%d}`, e.Sock)))
	}
	mustRefuse(t, "the fourth connect in a minute", c.connect(echo), "try again")

	c = s.session(t)
	conn := mustOK(t, "connect", c.connect(echo))
	payload := strings.Repeat("x", 50)
	mustOK(t, "send 50 bytes", c.do(fmt.Sprintf(`{"op":"send","sock":%d,"data":{"text":%q}}`, conn.Sock, payload)))
	got := 0
	for got < 50 {
		got += len(c.until(func(e ev) bool { return e.Type == "data" }).Data)
	}
	// 50 out and 50 back is exactly the quota: one more byte is refused,
	// and none of it is sent.
	mustRefuse(t, "send 1 byte over the quota", c.do(fmt.Sprintf(`{"op":"send","sock":%d,"data":{"text":"y"}}`, conn.Sock)), "")

	// Received bytes count too: what arrives past the quota is delivered,
	// and then the socket stops reading, saying why.
	c = s.session(t)
	ln := mustOK(t, "listen", c.do(`{"op":"listen","host":"127.0.0.1","port":0}`))
	peer, err := net.Dial("tcp4", ln.Local)
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	peer.Write([]byte(strings.Repeat("z", 150)))
	got = 0
	stop := c.until(func(e ev) bool {
		got += len(e.Data)
		return e.Type == "error"
	})
	if got != 150 || stop.Code != "policy" || !strings.Contains(stop.Message, "reads nothing more") {
		t.Errorf("received %d bytes, then %+v; want all 150, then a policy error saying the socket stops reading", got, stop)
	}
}

// TestOriginAndToken: a cross-origin page, a request with neither Origin
// nor token, a wrong token and a wrong Host are refused before the
// upgrade and start no session; the page's own request is let in.
func TestOriginAndToken(t *testing.T) {
	cfg := hosted(24170)
	cfg.MetricsAddr = "127.0.0.1:0"
	s := start(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	cookie, token := s.page(t)
	if !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode || !cookie.Secure {
		t.Errorf("cookie %+v: want HttpOnly, SameSite=Strict and Secure in hosted mode", cookie)
	}
	other, otherToken := s.page(t)
	// /token gives the page its token again (after a restart, a new one).
	req, _ := http.NewRequestWithContext(ctx, "GET", s.base+"/token", nil)
	req.Header.Set("Cookie", "playground="+cookie.Value)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if want := `{"token":"` + token + `"}`; strings.TrimSpace(string(body)) != want {
		t.Errorf("/token answered %s, want %s", body, want)
	}
	for _, tc := range []struct {
		name   string
		header http.Header
		query  string
		host   string
	}{
		{"a page from another origin", http.Header{"Origin": {"http://evil.example"}, "Cookie": {"playground=" + cookie.Value}}, "?token=" + token, ""},
		{"the right origin under another scheme", http.Header{"Origin": {"https://" + s.host}, "Cookie": {"playground=" + cookie.Value}}, "?token=" + token, ""},
		{"no Origin and no token", nil, "", ""},
		{"the right Origin without a token", s.browserHeaders(cookie), "", ""},
		{"another page's token", s.browserHeaders(cookie), "?token=" + otherToken, ""},
		{"a token without its cookie", http.Header{"Origin": {"http://" + s.host}}, "?token=" + token, ""},
		// A rebinding page's own Origin matches the Host it sends, so
		// only the Host check stands in its way.
		{"another Host", http.Header{"Origin": {"http://rebind.example"}, "Cookie": {"playground=" + other.Value}}, "?token=" + otherToken, "rebind.example"},
	} {
		req, _ := http.NewRequestWithContext(ctx, "GET", s.base+"/ws"+tc.query, nil)
		for k, v := range tc.header {
			req.Header[k] = v
		}
		req.Header.Set("Connection", "Upgrade")
		req.Header.Set("Upgrade", "websocket")
		req.Header.Set("Sec-WebSocket-Version", "13")
		req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
		req.Header.Set("Sec-WebSocket-Protocol", "socket-playground.v1")
		if tc.host != "" {
			req.Host = tc.host
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", tc.name, resp.StatusCode)
		}
	}
	if n := metric(t, s.metrics, "playground_sessions_started_total"); n != 0 {
		t.Errorf("%v sessions started from refused upgrades", n)
	}
	// A program with the page's cookie and token needs no Origin.
	ws, _, err := s.dial(ctx, http.Header{"Cookie": {"playground=" + cookie.Value}}, "?token="+token)
	if err != nil {
		t.Fatalf("cookie and token without Origin: %v", err)
	}
	ws.CloseNow()
	c := s.session(t)
	mustOK(t, "the page's own session", c.connect(c.service("echo", "tcp")))
	if n := metric(t, s.metrics, "playground_sessions_started_total"); n != 2 {
		t.Errorf("%v sessions started, want 2", n)
	}
}

// TestLocalOrigin: local mode refuses other origins too, and lets in a
// program that sends no Origin (a browser always sends one).
func TestLocalOrigin(t *testing.T) {
	s := start(t, server.Config{Services: server.Services{None: true}})
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	if _, resp, err := s.dial(ctx, http.Header{"Origin": {"http://evil.example"}}, ""); err == nil || resp == nil || resp.StatusCode != 403 {
		t.Errorf("a page from another origin: %v %v, want 403", err, resp)
	}
	ws, _, err := s.dial(ctx, nil, "")
	if err != nil {
		t.Fatalf("a program without Origin: %v", err)
	}
	ws.CloseNow()
	ws, _, err = s.dial(ctx, http.Header{"Origin": {"http://" + s.host}}, "")
	if err != nil {
		t.Fatalf("the page's own origin: %v", err)
	}
	ws.CloseNow()
}

// metric reads one unlabelled value from a /metrics URL.
func metric(t *testing.T, url, name string) float64 {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
	}
	t.Fatalf("%s has no %s:\n%s", url, name, b)
	return 0
}

// eventually polls cond until it holds, or fails the test after patience.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(patience)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestHostedProxyLoop: two UDP proxies aimed at each other multiply one
// datagram into a mapping per hop; each mapping is a socket of the
// session, so the session's socket limit stops the loop, and the server's
// descriptors stay bounded.
func TestHostedProxyLoop(t *testing.T) {
	cfg := hosted(24190)
	s := start(t, cfg)
	c := s.session(t)
	fds := openFDs(t)
	// Hold P2 with a bind, so A may target it; then give P2 to B, aimed
	// back at A.
	p1, p2 := 24191, 24192
	hold := mustOK(t, "bind P2", c.do(fmt.Sprintf(`{"op":"bind","host":"127.0.0.1","port":%d}`, p2)))
	mustOK(t, "proxy A", c.do(fmt.Sprintf(`{"op":"proxy","proto":"udp","host":"127.0.0.1","port":%d,"target_host":"127.0.0.1","target_port":%d}`, p1, p2)))
	mustOK(t, "close the bind", c.do(fmt.Sprintf(`{"op":"close","sock":%d}`, hold.Sock)))
	c.until(func(e ev) bool { return e.Type == "state" && e.Sock == hold.Sock && e.State == "closed" })
	mustOK(t, "proxy B", c.do(fmt.Sprintf(`{"op":"proxy","proto":"udp","host":"127.0.0.1","port":%d,"target_host":"127.0.0.1","target_port":%d}`, p2, p1)))
	kick, err := net.Dial("udp4", fmt.Sprintf("127.0.0.1:%d", p1))
	if err != nil {
		t.Fatal(err)
	}
	defer kick.Close()
	kick.Write([]byte("x"))
	refused := c.until(func(e ev) bool { return e.Type == "relay" && strings.Contains(e.Message, "too many sockets") })
	t.Logf("the loop was stopped: %s", refused.Message)
	if grown := openFDs(t) - fds; grown > 2*server.HostedLimits.MaxSockets+8 {
		t.Errorf("the server holds %d more descriptors, want at most about two per socket of the session (limit %d)", grown, server.HostedLimits.MaxSockets)
	}
}

// TestHostedProxyClosedWhileStarting: a proxy closed at once gives its
// pool port back, so the session's listener allowance is not eaten away.
func TestHostedProxyClosedWhileStarting(t *testing.T) {
	cfg := hosted(24200)
	s := start(t, cfg)
	c := s.session(t)
	echo := c.service("echo", "tcp")
	_, port, _ := net.SplitHostPort(echo)
	// The close goes right behind the proxy request, so it often lands
	// while the proxy is starting. Socket ids count up from 1.
	for sock := 1; sock <= 40; sock++ {
		c.send(fmt.Sprintf(`{"op":"proxy","proto":"tcp","host":"127.0.0.1","port":0,"target_host":"127.0.0.1","target_port":%s}`, port))
		c.send(fmt.Sprintf(`{"op":"close","sock":%d,"now":true}`, sock))
		c.until(func(e ev) bool {
			return e.Type == "state" && e.Sock == sock && (e.State == "closed" || e.State == "failed")
		})
	}
	for i := range policy.DefaultHostedLimits.ListenersPerSession { // every one must still be there
		mustOK(t, fmt.Sprint("listen ", i+1), c.do(`{"op":"listen","host":"127.0.0.1","port":0}`))
	}
}

// openFDs counts this process's open descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	es, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd")
	}
	return len(es)
}

// TestHostedStep: step mode's calls pass the same policy, on every call:
// bind only to a pool port on loopback, listen only once bound there, no
// connect to a loopback port that is not the session's or a service's, no
// broadcasts; and a step-mode server in the pool works end to end.
func TestHostedStep(t *testing.T) {
	cfg := hosted(24140)
	s := start(t, cfg)
	c := s.session(t)
	sock := func(typ string) int {
		return mustOK(t, "socket", c.do(`{"op":"socket","type":"`+typ+`"}`)).Sock
	}
	srv := sock("stream")
	mustRefuse(t, "listen before bind", c.do(fmt.Sprintf(`{"op":"listen","sock":%d}`, srv)), "bind the socket to an address first")
	mustRefuse(t, "bind to every address", c.do(fmt.Sprintf(`{"op":"bind","sock":%d,"host":"0.0.0.0","port":0}`, srv)), "")
	mustRefuse(t, "bind outside the pool", c.do(fmt.Sprintf(`{"op":"bind","sock":%d,"host":"127.0.0.1","port":24199}`, srv)), "")
	b := mustOK(t, "bind", c.do(fmt.Sprintf(`{"op":"bind","sock":%d,"host":"127.0.0.1","port":0}`, srv)))
	if !inPool(cfg, b.Local) {
		t.Fatalf("bound to %s, want a port in the pool", b.Local)
	}
	mustOK(t, "listen", c.do(fmt.Sprintf(`{"op":"listen","sock":%d,"backlog":1}`, srv)))

	canary := newCanary(t, "tcp4", "127.0.0.1:0")
	cl := sock("stream")
	mustRefuse(t, "connect to a loopback port that is not the session's", c.do(fmt.Sprintf(`{"op":"connect","sock":%d,"host":"127.0.0.1","port":%d}`, cl, canary.port())), "")
	mustRefuse(t, "SO_BROADCAST", c.do(fmt.Sprintf(`{"op":"setsockopt","sock":%d,"option":"SO_BROADCAST","value":1}`, sock("dgram"))), "broadcast")

	cl = sock("stream")
	mustOK(t, "connect to the session's own server", c.do(fmt.Sprintf(`{"op":"connect","sock":%d,"host":"127.0.0.1","port":%s}`, cl, b.Local[strings.LastIndexByte(b.Local, ':')+1:])))
	acc := mustOK(t, "accept", c.do(fmt.Sprintf(`{"op":"accept","sock":%d}`, srv)))
	mustOK(t, "send", c.do(fmt.Sprintf(`{"op":"send","sock":%d,"data":{"text":"hi"}}`, cl)))
	if got := mustOK(t, "recv", c.do(fmt.Sprintf(`{"op":"recv","sock":%d,"n":10}`, acc.Child))); string(got.Data) != "hi" {
		t.Fatalf("recv = %q", got.Data)
	}
	if n := canary.count(); n != 0 {
		t.Fatalf("the canary accepted %d connections", n)
	}
}

// TestHostedStepQuota: past the session's byte quota a step-mode socket
// reads nothing more.
func TestHostedStepQuota(t *testing.T) {
	cfg := hosted(24150)
	cfg.Policy.Limits.BytesPerSession = 100
	s := start(t, cfg)
	c := s.session(t)
	srv := mustOK(t, "socket", c.do(`{"op":"socket","type":"stream"}`)).Sock
	b := mustOK(t, "bind", c.do(fmt.Sprintf(`{"op":"bind","sock":%d,"host":"127.0.0.1","port":0}`, srv)))
	mustOK(t, "listen", c.do(fmt.Sprintf(`{"op":"listen","sock":%d}`, srv)))
	peer, err := net.Dial("tcp", b.Local)
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	acc := mustOK(t, "accept", c.do(fmt.Sprintf(`{"op":"accept","sock":%d}`, srv)))
	peer.Write(make([]byte, 1000))
	total := 0
	var last ev
	for range 10 {
		if last = c.do(fmt.Sprintf(`{"op":"recv","sock":%d,"n":60}`, acc.Child)); last.Type != "data" {
			break
		}
		total += len(last.Data)
	}
	if total > 120 {
		t.Fatalf("step recv read %d bytes past a 100-byte quota", total)
	}
	mustRefuse(t, "recv past the quota", last, "reads nothing more")
}

// TestHostedStepUDPAutobind: an unbound step-mode UDP socket's first sendto
// binds it through the policy: to a pool port on loopback, not to every
// address and a port of the kernel's choosing.
func TestHostedStepUDPAutobind(t *testing.T) {
	cfg := hosted(24160)
	s := start(t, cfg)
	c := s.session(t)
	host, port, _ := net.SplitHostPort(c.service("echo", "udp"))
	u := mustOK(t, "socket", c.do(`{"op":"socket","type":"dgram"}`)).Sock
	mustOK(t, "sendto", c.do(fmt.Sprintf(`{"op":"sendto","sock":%d,"host":%q,"port":%s,"data":{"text":"x"}}`, u, host, port)))
	st := c.until(func(e ev) bool { return e.Type == "state" && e.Sock == u && e.State == "bound" })
	if !strings.HasPrefix(st.Local, "127.0.0.1:") || !inPool(cfg, st.Local) {
		t.Fatalf("step UDP socket bound to %s, want a pool port on 127.0.0.1", st.Local)
	}
	if got := mustOK(t, "recvfrom", c.do(fmt.Sprintf(`{"op":"recvfrom","sock":%d,"n":10}`, u))); string(got.Data) != "x" {
		t.Fatalf("echo = %q", got.Data)
	}
}

// TestHostedRefusedLesson: the refused lesson's way to ECONNREFUSED works
// on a hosted playground — a connect to the session's own socket, bound and
// not listening, is let through and refused by the kernel — while its
// "close a server and connect there" way is refused by the policy, as the
// lesson's hint says.
func TestHostedRefusedLesson(t *testing.T) {
	cfg := hosted(24220)
	s := start(t, cfg)
	c := s.session(t)
	bound := mustOK(t, "socket", c.do(`{"op":"socket","type":"stream"}`)).Sock
	b := mustOK(t, "bind", c.do(fmt.Sprintf(`{"op":"bind","sock":%d,"host":"127.0.0.1","port":0}`, bound)))
	port := b.Local[strings.LastIndexByte(b.Local, ':')+1:]
	if e := c.do(`{"op":"connect","host":"127.0.0.1","port":` + port + `}`); e.Type != "error" || e.Code != "refused" {
		t.Fatalf("connect to a bound socket that does not listen: %s %s %q, want refused (ECONNREFUSED)", e.Type, e.Code, e.Message)
	}

	ln := mustOK(t, "listen", c.do(`{"op":"listen","host":"127.0.0.1","port":0}`))
	mustOK(t, "close", c.do(fmt.Sprintf(`{"op":"close","sock":%d}`, ln.Sock)))
	port = ln.Local[strings.LastIndexByte(ln.Local, ':')+1:]
	mustRefuse(t, "connect to a closed server's port", c.do(`{"op":"connect","host":"127.0.0.1","port":`+port+`}`), "")
}

// TestHostedPair: two people, each with their own session, talk through
// real sockets on a hosted playground: one listens (a port from the pool),
// the other connects to it, and bytes go both ways; the same with UDP.
// Each sees its own side: its own sockets, and the other's bytes arriving.
func TestHostedPair(t *testing.T) {
	cfg := hosted(24230)
	s := start(t, cfg)
	a, b := s.session(t), s.session(t)

	ln := mustOK(t, "a listens", a.do(`{"op":"listen","host":"127.0.0.1","port":0}`))
	if !inPool(cfg, ln.Local) {
		t.Fatalf("a listens on %s, want a port in the pool", ln.Local)
	}
	bc := mustOK(t, "b connects to a's port", b.connect(ln.Local))
	acc := a.until(func(e ev) bool { return e.Type == "result" && e.Op == "accept" && e.Sock == ln.Sock })
	mustOK(t, "b sends", b.do(fmt.Sprintf(`{"op":"send","sock":%d,"data":{"text":"hello from b"}}`, bc.Sock)))
	if got := a.receive(acc.Child, 12); got != "hello from b" {
		t.Fatalf("a received %q", got)
	}
	mustOK(t, "a answers", a.do(fmt.Sprintf(`{"op":"send","sock":%d,"data":{"text":"hi, b"}}`, acc.Child)))
	if got := b.receive(bc.Sock, 5); got != "hi, b" {
		t.Fatalf("b received %q", got)
	}

	au := mustOK(t, "a binds UDP", a.do(`{"op":"bind","host":"127.0.0.1","port":0}`))
	bu := mustOK(t, "b binds UDP", b.do(`{"op":"bind","host":"127.0.0.1","port":0}`))
	host, port, _ := net.SplitHostPort(au.Local)
	mustOK(t, "b sends a datagram to a", b.do(fmt.Sprintf(`{"op":"sendto","sock":%d,"host":%q,"port":%s,"data":{"text":"ping"}}`, bu.Sock, host, port)))
	d := a.until(func(e ev) bool { return e.Type == "data" && e.Sock == au.Sock })
	if string(d.Data) != "ping" || d.Peer != bu.Local {
		t.Fatalf("a received %q from %s, want \"ping\" from %s", d.Data, d.Peer, bu.Local)
	}
}

// receive reads n bytes of sock's data events.
func (c *client) receive(sock, n int) string {
	c.t.Helper()
	var got []byte
	for len(got) < n {
		e := c.until(func(e ev) bool { return e.Type == "data" && e.Sock == sock })
		got = append(got, e.Data...)
	}
	return string(got)
}

// TestHostedWatcherCaps: watchers are counted per address and in all, not
// as sessions: a second watcher from one address over its cap gets 429,
// while that address may still open sessions of its own.
func TestHostedWatcherCaps(t *testing.T) {
	cfg := hosted(24240)
	cfg.Caps.WatchersPerIP = 1
	cfg.Caps.SessionsPerIP = 2
	s := start(t, cfg)
	owner := s.session(t)
	sh := owner.do(`{"op":"share"}`)
	if sh.Type != "shares" || len(sh.Links) != 1 {
		t.Fatalf("share: %+v", sh)
	}
	cookie, token := s.page(t)
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	watch := func() int {
		ws, resp, err := s.dial(ctx, s.browserHeaders(cookie), "?token="+token+"&watch="+sh.Links[0].Watch+"&from=1")
		if err != nil {
			if resp == nil {
				t.Fatal(err)
			}
			return resp.StatusCode
		}
		t.Cleanup(func() { ws.CloseNow() })
		return 101
	}
	if code := watch(); code != 101 {
		t.Fatalf("the first watcher: %d", code)
	}
	if code := watch(); code != http.StatusTooManyRequests {
		t.Fatalf("a second watcher from the same address: %d, want 429", code)
	}
	s.session(t) // a watcher is not a session: the address still has room for one
}
