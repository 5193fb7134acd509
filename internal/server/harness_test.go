package server_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"go.uber.org/goleak"

	"github.com/socketplayground/playground/internal/server"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// patience bounds every wait in these tests; nothing should come near it.
const patience = 10 * time.Second

// srv is a playground running in this process on a free loopback port.
type srv struct {
	base    string // http://127.0.0.1:PORT
	host    string // 127.0.0.1:PORT
	metrics string // the metrics URL, if Config.MetricsAddr was set
}

// start runs server.Run with cfg on 127.0.0.1:0 until the test ends.
func start(t *testing.T, cfg server.Config) *srv {
	t.Helper()
	cfg.Addr = "127.0.0.1:0"
	if !cfg.Services.None && cfg.Services.Ports == nil {
		cfg.Services.Free = true
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- server.Run(ctx, cfg, pw)
		pw.Close()
	}()
	s := &srv{}
	sc := bufio.NewScanner(pr)
	for s.base == "" && sc.Scan() {
		line := sc.Text()
		if u, ok := strings.CutPrefix(line, "Metrics: "); ok {
			s.metrics = u
		}
		if u, ok := strings.CutPrefix(line, "Socket Playground: "); ok {
			s.base = strings.TrimSuffix(u, "/")
		}
	}
	go io.Copy(io.Discard, pr)
	if s.base == "" {
		cancel()
		t.Fatalf("the server did not start: %v", <-done)
	}
	s.host = strings.TrimPrefix(s.base, "http://")
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return s
}

var tokenRE = regexp.MustCompile(`"token":"([^"]+)"`)

// page loads the page as a browser would, and returns its cookie and token.
func (s *srv) page(t *testing.T) (cookie *http.Cookie, token string) {
	t.Helper()
	resp, err := http.Get(s.base + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, c := range resp.Cookies() {
		if c.Name == "playground" {
			cookie = c
		}
	}
	m := tokenRE.FindSubmatch(body)
	if cookie == nil || m == nil {
		t.Fatalf("the page set no cookie (%v) or carries no token", resp.Cookies())
	}
	return cookie, string(m[1])
}

// dial opens the WebSocket with the given headers and query, as they are.
func (s *srv) dial(ctx context.Context, h http.Header, query string) (*websocket.Conn, *http.Response, error) {
	return websocket.Dial(ctx, "ws://"+s.host+"/ws"+query, &websocket.DialOptions{
		Subprotocols: []string{"socket-playground.v1"}, HTTPHeader: h})
}

// browserHeaders are what the playground's own page sends: its Origin and
// its cookie; the token goes in the query.
func (s *srv) browserHeaders(c *http.Cookie) http.Header {
	h := http.Header{"Origin": {"http://" + s.host}}
	if c != nil {
		h.Set("Cookie", c.Name+"="+c.Value)
	}
	return h
}

// client is one session, driven the way the page drives it.
type client struct {
	t     *testing.T
	ctx   context.Context
	ws    *websocket.Conn
	hello ev
	n     int
	later []ev // events read while waiting for another, in order
}

// ev is an event as a client sees it.
type ev struct {
	Type    string `json:"type"`
	Sock    int    `json:"sock"`
	ID      string `json:"id"`
	Op      string `json:"op"`
	State   string `json:"state"`
	Local   string `json:"local"`
	Remote  string `json:"remote"`
	Child   int    `json:"child"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Len     int    `json:"len"`
	Peer    string `json:"peer"`
	Data    []byte `json:"-"`

	Services []struct{ Name, Proto, Addr string } `json:"services"`
	Session  string                               `json:"session"` // hello
	Key      string                               `json:"key"`     // a new session's hello: the owner key

	// shares (docs/protocol.md §15.4)
	Links []struct{ Link, Watch string } `json:"links"`
}

// session opens a session as the page would: page, cookie, token, Origin.
func (s *srv) session(t *testing.T) *client {
	t.Helper()
	cookie, token := s.page(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*patience)
	t.Cleanup(cancel)
	ws, _, err := s.dial(ctx, s.browserHeaders(cookie), "?token="+token)
	if err != nil {
		t.Fatalf("the page's own WebSocket was refused: %v", err)
	}
	t.Cleanup(func() { ws.CloseNow() })
	c := &client{t: t, ctx: ctx, ws: ws}
	c.hello = c.next()
	if c.hello.Type != "hello" {
		t.Fatalf("first message %+v, want hello", c.hello)
	}
	return c
}

// service returns the address of a built-in service.
func (c *client) service(name, proto string) string {
	for _, s := range c.hello.Services {
		if s.Name == name && s.Proto == proto && strings.HasPrefix(s.Addr, "127.0.0.1:") {
			return s.Addr
		}
	}
	c.t.Fatalf("no %s %s service in %+v", proto, name, c.hello.Services)
	return ""
}

// next reads one message.
func (c *client) next() ev {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.ctx, patience)
	defer cancel()
	typ, b, err := c.ws.Read(ctx)
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	var e ev
	if typ == websocket.MessageBinary {
		n := binary.BigEndian.Uint32(b)
		if err := json.Unmarshal(b[4:4+n], &e); err != nil {
			c.t.Fatal(err)
		}
		e.Data = b[4+n:]
		return e
	}
	if err := json.Unmarshal(b, &e); err != nil {
		c.t.Fatal(err)
	}
	return e
}

// do sends a request (a JSON object without id) and returns the event that
// answers it: its result, sent, data (step mode's recv) or error.
func (c *client) do(req string) ev {
	c.t.Helper()
	c.n++
	id := fmt.Sprint("r", c.n)
	c.send(`{"id":"` + id + `",` + strings.TrimPrefix(req, "{"))
	return c.until(func(e ev) bool {
		return e.ID == id && (e.Type == "result" || e.Type == "sent" || e.Type == "error" || e.Type == "data" || e.Type == "shares")
	})
}

func (c *client) send(msg string) {
	c.t.Helper()
	if err := c.ws.Write(c.ctx, websocket.MessageText, []byte(msg)); err != nil {
		c.t.Fatal(err)
	}
}

// until returns the first event that satisfies ok, of those read before
// but not yet taken, or else of those still to come. Events passed over stay
// for a later until: a datagram's "data" may come before its "sent".
func (c *client) until(ok func(ev) bool) ev {
	c.t.Helper()
	for i, e := range c.later {
		if ok(e) {
			c.later = append(c.later[:i:i], c.later[i+1:]...)
			return e
		}
	}
	for {
		e := c.next()
		if ok(e) {
			return e
		}
		c.later = append(c.later, e)
	}
}

// connect connects to addr and returns the answer.
func (c *client) connect(addr string) ev {
	c.t.Helper()
	host, port, _ := net.SplitHostPort(addr)
	return c.do(fmt.Sprintf(`{"op":"connect","host":%q,"port":%s}`, host, port))
}

// mustOK fails unless e is a success.
func mustOK(t *testing.T, what string, e ev) ev {
	t.Helper()
	if e.Type == "error" {
		t.Fatalf("%s: %s: %s", what, e.Code, e.Message)
	}
	return e
}

// mustRefuse fails unless e is a policy refusal whose message has want.
func mustRefuse(t *testing.T, what string, e ev, want string) {
	t.Helper()
	if e.Type != "error" || e.Code != "policy" || !strings.Contains(e.Message, want) {
		t.Errorf("%s: %s %s %q, want a policy error saying %q", what, e.Type, e.Code, e.Message, want)
	}
}

// canary is a loopback listener that counts the connections it accepts.
type canary struct {
	ln       net.Listener
	accepted chan struct{}
}

func newCanary(t *testing.T, network, addr string) *canary {
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	c := &canary{ln: ln, accepted: make(chan struct{}, 100)}
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			conn.Close()
			c.accepted <- struct{}{}
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return c
}

func (c *canary) port() int { return c.ln.Addr().(*net.TCPAddr).Port }

func (c *canary) count() int { return len(c.accepted) }
