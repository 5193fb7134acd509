package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/socketplayground/playground/internal/server"
)

// TestWriteTimeout: a browser that stops reading while its session has a
// flood to deliver is dropped within the write timeout; its session ends
// with its sockets after the grace period, and the goroutines go back to
// what they were.
func TestWriteTimeout(t *testing.T) {
	s := start(t, server.Config{Caps: server.Caps{WriteTimeout: 300 * time.Millisecond, Grace: 300 * time.Millisecond}})
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	// A client whose socket buffers are small, so the server's writes
	// block soon after it stops reading.
	dialer := &net.Dialer{}
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dialer.DialContext(ctx, network, addr)
		if err == nil {
			c.(*net.TCPConn).SetReadBuffer(4096)
		}
		return c, err
	}}}
	ws, _, err := websocket.Dial(ctx, "ws://"+s.host+"/ws", &websocket.DialOptions{
		Subprotocols: []string{"socket-playground.v1"}, HTTPClient: hc})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	c := &client{t: t, ctx: ctx, ws: ws}
	c.hello = c.next()
	before := runtime.NumGoroutine() // the server's, and this client's
	// A peer that sends as fast as loopback goes.
	flood, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer flood.Close()
	go func() {
		conn, err := flood.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		chunk := bytes.Repeat([]byte("flood "), 10000)
		for {
			if _, err := conn.Write(chunk); err != nil {
				return
			}
		}
	}()
	mustOK(t, "connect to the flood", c.connect(flood.Addr().String()))
	if n := metric(t, s.base+"/metrics", "playground_sessions"); n != 1 {
		t.Fatalf("%v sessions, want 1", n)
	}
	// Stop reading. The server must give up on this browser.
	eventually(t, "the session to end", func() bool { return metric(t, s.base+"/metrics", "playground_sessions") == 0 })
	eventually(t, "the goroutines to go back", func() bool {
		http.DefaultClient.CloseIdleConnections() // metric's keep-alive connection
		return runtime.NumGoroutine() <= before
	})
	hc.CloseIdleConnections()
}

// TestMessageTooBig: a message a little over max_message is discarded with
// an error event and the session goes on; one past the discard limit
// closes the connection with 1009.
func TestMessageTooBig(t *testing.T) {
	s := start(t, server.Config{MaxMessage: 1024, Services: server.Services{None: true}})
	c := s.session(t)
	c.send(`{"op":"bind","host":"127.0.0.1","port":0,"pad":"` + strings.Repeat("x", 2000) + `"}`)
	if e := c.next(); e.Type != "error" || e.Code != "too_large" {
		t.Fatalf("a 2 KB message: %+v, want too_large", e)
	}
	mustOK(t, "a bind after it", c.do(`{"op":"bind","host":"127.0.0.1","port":0}`))
	c.send(strings.Repeat(" ", 5000))
	var err error
	for err == nil { // the bind's events come first
		_, _, err = c.ws.Read(c.ctx)
	}
	if websocket.CloseStatus(err) != websocket.StatusMessageTooBig {
		t.Fatalf("a 5 KB message: %v, want close 1009", err)
	}
}

// TestIdleAndMaxAge: a session with no requests ends with close code 4000,
// and one that keeps sending ends at its maximum age with 4001; the reason
// says why.
func TestIdleAndMaxAge(t *testing.T) {
	s := start(t, server.Config{Services: server.Services{None: true}, Caps: server.Caps{IdleTimeout: 300 * time.Millisecond}})
	c := s.session(t)
	_, _, err := c.ws.Read(c.ctx)
	var ce websocket.CloseError
	if !asClose(err, &ce) || ce.Code != 4000 || !strings.Contains(ce.Reason, "no request for 300ms") {
		t.Errorf("idle session: %v, want close 4000 saying so", err)
	}

	s = start(t, server.Config{Services: server.Services{None: true}, Caps: server.Caps{MaxAge: 700 * time.Millisecond, IdleTimeout: 300 * time.Millisecond}})
	c = s.session(t)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			c.ws.Write(c.ctx, websocket.MessageText, []byte(`{"op":"close","sock":9}`))
		}
	})
	for {
		if _, _, err = c.ws.Read(c.ctx); err != nil {
			break
		}
	}
	close(stop)
	wg.Wait()
	if !asClose(err, &ce) || ce.Code != 4001 || !strings.Contains(ce.Reason, "at most 700ms") {
		t.Errorf("old session: %v, want close 4001 saying so", err)
	}
}

func asClose(err error, ce *websocket.CloseError) bool { return errors.As(err, ce) }

// TestMessageRate: requests beyond the rate are refused with "limit" and
// not carried out; the session goes on.
func TestMessageRate(t *testing.T) {
	s := start(t, server.Config{Services: server.Services{None: true}, Caps: server.Caps{MessageRate: 5}})
	c := s.session(t)
	const n = 40
	for i := range n {
		c.send(fmt.Sprintf(`{"id":"m%d","op":"close","sock":99}`, i))
	}
	limited, done := 0, 0
	for done+limited < n {
		e := c.next()
		switch {
		case e.Type == "error" && e.Code == "limit" && strings.Contains(e.Message, "per second"):
			limited++
		case e.Type == "error" && strings.HasPrefix(e.ID, "m"):
			done++
		}
	}
	// The burst is 10 at 5 a second: at most a few more get through while
	// the 40 are read.
	if done < 10 || limited == 0 || done > 20 {
		t.Errorf("%d carried out and %d refused, want the burst of 10 (and a few) carried out", done, limited)
	}
	time.Sleep(400 * time.Millisecond) // two tokens' worth
	c.n = 100
	if e := c.do(`{"op":"close","sock":99}`); e.Code == "limit" {
		t.Errorf("a request after a pause was refused: %+v", e)
	}
}

// TestLogInjection: a host name with a newline in it makes one JSON log
// record, not two, and the payload is never logged.
func TestLogInjection(t *testing.T) {
	for _, format := range []struct {
		name   string
		new    func(io.Writer) slog.Handler
		record func(string) bool // whether a line is a whole record
	}{
		{"json", func(w io.Writer) slog.Handler {
			return slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug})
		}, func(line string) bool { return json.Valid([]byte(line)) }},
		{"text", func(w io.Writer) slog.Handler {
			return slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug})
		}, func(line string) bool { return strings.HasPrefix(line, "time=") && strings.HasSuffix(line, "\n") }},
	} {
		t.Run(format.name, func(t *testing.T) {
			var buf syncBuffer
			s := start(t, server.Config{Services: server.Services{None: true}, Logger: slog.New(format.new(&buf))})
			c := s.session(t)
			e := c.do(`{"op":"connect","host":"bad\nFORGED level=ERROR msg=pwned","port":80}`)
			if e.Type != "error" {
				t.Fatalf("connect to a name with a newline: %+v", e)
			}
			bound := mustOK(t, "bind", c.do(`{"op":"bind","host":"127.0.0.1","port":0}`))
			_, port, _ := net.SplitHostPort(bound.Local)
			mustOK(t, "sendto", c.do(fmt.Sprintf(`{"op":"sendto","sock":%d,"host":"127.0.0.1","port":%s,"data":{"text":"SECRET-PAYLOAD"}}`, bound.Sock, port)))
			c.until(func(e ev) bool { return e.Type == "data" })
			c.ws.Write(c.ctx, websocket.MessageText, []byte(`{"op":"end"}`))
			eventually(t, "the session's end in the log", func() bool { return strings.Contains(buf.String(), "session ended") })
			forged := 0
			for line := range strings.Lines(buf.String()) {
				if !format.record(line) {
					t.Errorf("a log line is not a whole record: %q", line)
				}
				if strings.Contains(line, "FORGED") {
					forged++
				}
				if strings.Contains(line, "SECRET-PAYLOAD") {
					t.Errorf("a payload was logged: %s", line)
				}
			}
			if forged != 1 {
				t.Errorf("%d log records name the host with a newline, want exactly 1:\n%s", forged, buf.String())
			}
		})
	}
}

// TestMetricsAndReadiness: /metrics in local mode on the main address, in
// hosted mode only on the metrics address; /readyz answers.
func TestMetricsAndReadiness(t *testing.T) {
	s := start(t, server.Config{Services: server.Services{None: true}})
	c := s.session(t)
	mustOK(t, "bind", c.do(`{"op":"bind","host":"127.0.0.1","port":0}`))
	if n := metric(t, s.base+"/metrics", `playground_sockets{kind="udp"}`); n != 1 {
		t.Errorf("%v UDP sockets counted, want 1", n)
	}
	for _, path := range []string{"/readyz", "/healthz"} {
		resp, err := http.Get(s.base + path)
		if err != nil || resp.StatusCode != 200 {
			t.Errorf("%s: %v %v", path, err, resp)
		}
		resp.Body.Close()
	}

	cfg := hosted(24180)
	cfg.MetricsAddr = "127.0.0.1:0"
	h := start(t, cfg)
	resp, err := http.Get(h.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("hosted /metrics on the public address: %d, want 404", resp.StatusCode)
	}
	if n := metric(t, h.metrics, "playground_sessions"); n != 0 {
		t.Errorf("%v sessions", n)
	}
}

// syncBuffer is a bytes.Buffer safe for the logger and the test at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
