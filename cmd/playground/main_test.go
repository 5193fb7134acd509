package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// startProgram runs the real program in-process, as `go run` would, and
// returns its base URL and a function that stops it and returns run's error.
func startProgram(t testing.TB, args ...string) (string, func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := run(ctx, args, func(string) string { return "" }, pw, io.Discard)
		pw.CloseWithError(err)
		done <- err
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		cancel()
		t.Fatalf("program printed no URL: %v", err)
	}
	go io.Copy(io.Discard, pr)
	m := regexp.MustCompile(`http://\S+/`).FindString(line)
	if m == "" {
		cancel()
		t.Fatalf("first line %q has no URL", line)
	}
	stopped := false
	stop := func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(15 * time.Second):
			t.Fatal("run did not return within 15s of cancellation")
			return nil
		}
	}
	t.Cleanup(func() { stop() })
	return strings.TrimSuffix(m, "/"), stop
}

func get(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// TestProgram drives the real program end to end: routes, a session that
// talks to the built-in echo, and a graceful shutdown that tells the
// browser why, closes the session's sockets and leaves no goroutine.
func TestProgram(t *testing.T) {
	base, stop := startProgram(t, "-addr", "127.0.0.1:0", "-services", "free")
	if resp, body := get(t, base+"/healthz"); resp.StatusCode != 200 || body != "ok\n" {
		t.Fatalf("/healthz: %d %q", resp.StatusCode, body)
	}
	resp, page := get(t, base+"/")
	if resp.StatusCode != 200 || !strings.Contains(page, "Built-in services") || !strings.Contains(page, "echo") {
		t.Fatalf("/ does not show the services: %d\n%s", resp.StatusCode, page)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
		t.Fatalf("/ has CSP %q", csp)
	}
	asset := regexp.MustCompile(`/static/[0-9a-f]+/js/app\.js`).FindString(page)
	if asset == "" {
		t.Fatal("the page links no versioned script")
	}
	resp, js := get(t, base+asset)
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Cache-Control"), "immutable") ||
		!strings.Contains(resp.Header.Get("Content-Type"), "javascript") || !strings.Contains(js, "import ") {
		t.Fatalf("%s: %d %v", asset, resp.StatusCode, resp.Header)
	}
	if resp, _ := get(t, base+"/static/000000000000/js/app.js"); resp.StatusCode != 404 {
		t.Fatalf("a stale asset version is served: %d", resp.StatusCode)
	}
	if resp, _ := get(t, base+"/static/"+strings.Split(asset, "/")[2]+"/embed.go"); resp.StatusCode != 404 {
		t.Fatalf("Go source is served as a static asset: %d", resp.StatusCode)
	}

	// A session with a TCP connection to the built-in echo.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/ws", &websocket.DialOptions{Subprotocols: []string{"socket-playground.v1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	var hello struct {
		Type     string
		Services []struct{ Name, Proto, Addr string }
	}
	readJSON(t, ctx, ws, &hello)
	var echo string
	for _, s := range hello.Services {
		if s.Name == "echo" && s.Proto == "tcp" && strings.HasPrefix(s.Addr, "127.0.0.1:") {
			echo = s.Addr
		}
	}
	if hello.Type != "hello" || echo == "" {
		t.Fatalf("hello %+v announces no IPv4 TCP echo", hello)
	}
	host, p, _ := net.SplitHostPort(echo)
	ws.Write(ctx, websocket.MessageText, []byte(`{"id":"c","op":"connect","host":"`+host+`","port":`+p+`}`))
	var local string
	for local == "" {
		var e struct{ Type, ID, Local, Code string }
		readJSON(t, ctx, ws, &e)
		if e.ID == "c" && e.Type == "error" {
			t.Fatalf("connect to the echo failed: %+v", e)
		}
		if e.ID == "c" && e.Type == "result" {
			local = e.Local
		}
	}

	// A browser keeps reading; it is told the server is going away.
	closed := make(chan error, 1)
	go func() {
		for {
			if _, _, err := ws.Read(ctx); err != nil {
				closed <- err
				return
			}
		}
	}()
	if err := stop(); err != nil {
		t.Fatalf("run returned %v after a graceful shutdown", err)
	}
	if err := <-closed; websocket.CloseStatus(err) != websocket.StatusGoingAway {
		t.Fatalf("WebSocket ended with %v, want 1001 going away", err)
	}
	// goleak (TestMain) checks that no session, socket or service goroutine
	// outlived run.
}

func readJSON(t *testing.T, ctx context.Context, ws *websocket.Conn, v any) {
	t.Helper()
	for {
		typ, b, err := ws.Read(ctx)
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		if typ == websocket.MessageText {
			if err := json.Unmarshal(b, v); err != nil {
				t.Fatalf("%s: %v", b, err)
			}
			return
		}
	}
}

func TestFlagsAndEnvironment(t *testing.T) {
	env := map[string]string{"PLAYGROUND_ADDR": "127.0.0.1:0", "PLAYGROUND_SERVICES": "none"}
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, nil, func(k string) string { return env[k] }, pw, io.Discard)
		pw.Close()
	}()
	line, _ := bufio.NewReader(pr).ReadString('\n')
	go io.Copy(io.Discard, pr)
	if !strings.Contains(line, "http://127.0.0.1:") {
		t.Errorf("PLAYGROUND_ADDR not used: %q", line)
	}
	resp, page := get(t, strings.TrimSpace(line[strings.Index(line, "http"):]))
	if resp.StatusCode != 200 || !strings.Contains(page, "No built-in services") {
		t.Errorf("PLAYGROUND_SERVICES=none not used: the page lists services")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	for _, args := range [][]string{{"-mode", "public"}, {"-log-level", "loud"}, {"stray"}, {"-nope"}, {"-services", "nope=1"}, {"-services", "echo=x"}, {"-services", "echo=70000"}, {"-services", "echo"}, {"-lossy-rate", "1.5"}, {"-lossy-rate", "0"},
		{"-allow", "example.com"}, {"-allow", "10.0.0.0/33:80"}, {"-pool", "5-1"}, {"-pool", "30000"}, {"-trusted-proxies", "proxy"},
		{"-origins", "ftp://x"}, {"-origins", "https://x/path"}, {"-log-format", "xml"}} {
		if err := run(context.Background(), args, func(string) string { return "" }, io.Discard, io.Discard); err == nil {
			t.Errorf("run(%q) succeeded, want an error", args)
		}
	}
	// A bad value in the environment is an error too, never the default.
	for name, v := range map[string]string{"PLAYGROUND_IDLE_TIMEOUT": "15", "PLAYGROUND_MAX_SOCKETS": "many", "PLAYGROUND_NO_SERVICES": "maybe"} {
		err := run(context.Background(), nil, func(k string) string { return map[string]string{name: v}[k] }, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s=%q: %v, want an error naming it", name, v, err)
		}
	}
}

// TestHostAllowlist: a request naming another host in its Host header — a
// DNS-rebinding page's — is refused, page and WebSocket alike; the names
// this machine goes by are allowed, and -hosts adds more.
func TestHostAllowlist(t *testing.T) {
	base, _ := startProgram(t, "-addr", "127.0.0.1:0", "-services", "none", "-hosts", "playground.test")
	port := base[strings.LastIndexByte(base, ':')+1:]
	for _, tc := range []struct {
		host string
		want int
	}{
		{"127.0.0.1:" + port, 200},
		{"localhost:" + port, 200},
		{"LOCALHOST:" + port, 200},
		{"[::1]:" + port, 200},
		{"playground.test:" + port, 200},
		{"playground.test", 200},
		{"rebind.attacker.example:" + port, 403},
		{"127.0.0.1.attacker.example", 403},
	} {
		for _, path := range []string{"/", "/ws"} {
			req, err := http.NewRequest("GET", base+path, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Host = tc.host
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			got := resp.StatusCode
			if path == "/ws" && got != 403 {
				got = 200 // not refused for its host; a plain GET is no WebSocket handshake
			}
			if got != tc.want {
				t.Errorf("GET %s with Host %q: %d %q, want %d", path, tc.host, resp.StatusCode, body, tc.want)
			}
		}
	}
}
