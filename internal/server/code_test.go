package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/socketplayground/playground/internal/export"
	"github.com/socketplayground/playground/internal/server"
	"github.com/socketplayground/playground/internal/session"
)

// TestCodeRoutes checks GET /session/{id}/code.json, session.py and
// session.go: a session's calls in both languages and its downloads, with
// their headers; an id that names no session is 404, and so is the id of
// a session that has ended.
func TestCodeRoutes(t *testing.T) {
	s := start(t, server.Config{})
	cookie, token := s.page(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*patience)
	defer cancel()
	ws, _, err := s.dial(ctx, s.browserHeaders(cookie), "?token="+token)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	_, hello, err := ws.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var id struct {
		Session string `json:"session"`
		Key     string `json:"key"`
	}
	if err := json.Unmarshal(hello, &id); err != nil || len(id.Session) < 16 {
		t.Fatalf("the hello names no session: %s (%v)", hello, err)
	}
	c := &client{t: t, ctx: ctx, ws: ws}
	if err := json.Unmarshal(hello, &c.hello); err != nil {
		t.Fatal(err)
	}
	conn := mustOK(t, "connect", c.connect(c.service("echo", "tcp")))
	mustOK(t, "send", c.do(fmt.Sprintf(`{"op":"send","sock":%d,"data":{"text":"hi\u0000"}}`, conn.Sock)))
	// The echo's answer is part of the program (a read of 3 bytes): wait for
	// it, so the session's calls are the same for every fetch below.
	c.until(func(e ev) bool { return e.Type == "data" && e.Sock == conn.Sock })

	get := func(path string) (*http.Response, string) {
		t.Helper()
		resp, err := http.Get(s.base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp, string(body)
	}
	base := "/session/" + id.Session
	key := "?key=" + id.Key
	resp, body := get(base + "/code.json" + key)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("code.json: HTTP %d, %q", resp.StatusCode, resp.Header)
	}
	var code struct {
		Calls []struct {
			Seq    uint64 `json:"seq"`
			Sock   int    `json:"sock"`
			Op     string `json:"op"`
			Status string `json:"status"`
			Python string `json:"python"`
			Go     string `json:"go"`
		} `json:"calls"`
		Total  int    `json:"total"`
		Python string `json:"python"`
		Go     string `json:"go"`
	}
	if err := json.Unmarshal([]byte(body), &code); err != nil {
		t.Fatalf("code.json: %v\n%s", err, body)
	}
	if code.Total != 2 || len(code.Calls) != 2 {
		t.Fatalf("code.json has %d calls of %d, want the connect and the send:\n%s", len(code.Calls), code.Total, body)
	}
	send := code.Calls[1]
	if send.Op != "send" || send.Sock != conn.Sock || send.Status != "ok" ||
		send.Python != fmt.Sprintf(`s%d.sendall(b"hi\x00")`, conn.Sock) || send.Go != fmt.Sprintf(`_, err = s%d.Write([]byte("hi\x00"))`, conn.Sock) {
		t.Errorf("the send's snippet: %+v", send)
	}
	if !strings.HasPrefix(code.Python, "#!/usr/bin/env python3\n") || !strings.Contains(code.Go, "package main\n") {
		t.Errorf("code.json's programs:\n%s\n%s", code.Python, code.Go)
	}

	for file, want := range map[string]string{"session.py": code.Python, "session.go": code.Go} {
		resp, body := get(base + "/" + file + key)
		h := resp.Header
		if resp.StatusCode != http.StatusOK || h.Get("Content-Type") != "text/plain; charset=utf-8" || h.Get("Cache-Control") != "no-store" ||
			h.Get("Content-Disposition") != `attachment; filename="`+file+`"` || h.Get("Content-Security-Policy") == "" {
			t.Errorf("%s: HTTP %d, %q", file, resp.StatusCode, h)
		}
		// The kernel's samples may add events between two fetches: the
		// programs are the same but for the range of events they name.
		if sameProgram(body) != sameProgram(want) {
			t.Errorf("%s differs from code.json's program:\n%s\n---\n%s", file, body, want)
		}
	}

	// The session's log, to save and replay (§13, §15.6).
	resp, body = get(base + "/log.jsonl" + key)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/x-ndjson" ||
		resp.Header.Get("Content-Disposition") != `attachment; filename="session-`+id.Session[:8]+`.jsonl"` {
		t.Fatalf("log.jsonl: HTTP %d, %q", resp.StatusCode, resp.Header)
	}
	h, evs, err := export.ReadLog(strings.NewReader(body))
	if err != nil || h.Session != id.Session || h.First != 0 || len(evs) == 0 || evs[0].Seq != 1 {
		t.Fatalf("log.jsonl: header %+v, %d events, %v", h, len(evs), err)
	}
	var echoed []byte
	for _, e := range evs {
		if e.Type == "data" && e.Sock == conn.Sock {
			echoed = append(echoed, e.Data...)
		}
	}
	if string(echoed) != "hi\x00" {
		t.Errorf("log.jsonl has the echo as %q", echoed)
	}

	// The capture, for Wireshark (§15.7); internal/export tests its packets.
	resp, body = get(base + "/capture.pcapng" + key)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(body, "\x0a\x0d\x0d\x0a") ||
		resp.Header.Get("Content-Disposition") != `attachment; filename="session-`+id.Session[:8]+`.pcapng"` {
		t.Fatalf("capture.pcapng: HTTP %d, %q, starts %q", resp.StatusCode, resp.Header, body[:min(8, len(body))])
	}
	_, body = get(base + "/log.jsonl" + key)

	// A replayed log's code is rendered the same way (POST /replay/code.json).
	post := func(body string) (int, string) {
		t.Helper()
		resp, err := http.Post(s.base+"/replay/code.json", "application/x-ndjson", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	_, live := get(base + "/code.json" + key)
	if status, replayed := post(body); status != http.StatusOK || sameProgram(replayed) != sameProgram(live) {
		t.Errorf("POST /replay/code.json: HTTP %d\n%s\nwant\n%s", status, replayed, live)
	}
	capture := func(body string) string {
		t.Helper()
		resp, err := http.Post(s.base+"/replay/capture.pcapng", "application/x-ndjson", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	_, liveCapture := get(base + "/capture.pcapng" + key)
	if got := capture(body); got != liveCapture {
		t.Errorf("POST /replay/capture.pcapng of the log differs from the live capture (%d and %d bytes)", len(got), len(liveCapture))
	}
	if status, text := post("{\"format\":\"something else\"}\n"); status != http.StatusBadRequest || !strings.Contains(text, "not a session log") {
		t.Errorf("POST /replay/code.json of another format: HTTP %d %q", status, text)
	}

	// Only the owner key, or a watch link valid now, reads the session.
	shares := c.do(`{"op":"share","expires_s":60}`)
	if shares.Type != "shares" || len(shares.Links) != 1 {
		t.Fatalf("share: %+v", shares)
	}
	if resp, _ := get(base + "/log.jsonl?key=" + shares.Links[0].Watch); resp.StatusCode != http.StatusOK {
		t.Errorf("log.jsonl with a watch link: HTTP %d", resp.StatusCode)
	}
	if e := c.do(`{"op":"unshare","link":"` + shares.Links[0].Link + `"}`); e.Type != "shares" {
		t.Fatalf("unshare: %+v", e)
	}
	for _, path := range []string{"/session/0123456789abcdef0123456789abcdef/code.json" + key, "/session/x/session.py", base + "/session.txt" + key,
		base + "/code.json", base + "/log.jsonl", base + "/session.py?key=" + id.Session, base + "/log.jsonl?key=" + shares.Links[0].Watch} {
		if resp, _ := get(path); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: HTTP %d, want 404", path, resp.StatusCode)
		}
	}

	// Once the session ends, so does its code. The client sees nothing of
	// that end: ask until it shows.
	c.ws.Write(ctx, websocket.MessageText, []byte(`{"op":"end"}`))
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if resp, _ := get(base + "/code.json" + key); resp.StatusCode == http.StatusNotFound {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the code of an ended session is still served")
		case <-tick.C:
		}
	}
}

// madeFrom is the line of a generated program that names the events it
// was made from.
var madeFrom = regexp.MustCompile(`Made from events \d+ to \d+`)

// sameProgram is a program without the range of events it was made from.
func sameProgram(code string) string {
	return madeFrom.ReplaceAllString(code, "Made from events …")
}

// TestLogWhileTrimming downloads the log of a session whose history is
// being trimmed as it streams: every file starts where its header says,
// with the state of the sockets just before (§15.6), never with a gap
// between the two.
func TestLogWhileTrimming(t *testing.T) {
	s := start(t, server.Config{Limits: session.Limits{History: 16 << 10}})
	c := s.session(t)
	bound := mustOK(t, "bind", c.do(`{"op":"bind","host":"127.0.0.1","port":0}`))
	pc, err := net.Dial("udp", bound.Local)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	// The page reads every event, so the history is trimmed as it goes,
	// and a peer sends small datagrams as fast as it can: many events.
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	wg.Go(func() {
		for ctx.Err() == nil {
			if _, _, err := c.ws.Read(ctx); err != nil {
				return
			}
		}
	})
	wg.Go(func() {
		for ctx.Err() == nil {
			pc.Write([]byte("0123456789abcdef"))
		}
	})

	u := fmt.Sprintf("%s/session/%s/log.jsonl?key=%s", s.base, c.hello.Session, c.hello.Key)
	// A client whose every connection goes with the test, spare ones
	// included: the server's shutdown would wait for one it never read a
	// request on.
	var conns conns
	defer conns.close()
	hc := &http.Client{Transport: &http.Transport{DialContext: conns.dial, MaxIdleConnsPerHost: 8}}
	errs := make(chan error, 8)
	for range cap(errs) {
		go func() {
			errs <- func() error {
				for i := range 50 {
					resp, err := hc.Get(u)
					if err != nil {
						return err
					}
					h, evs, err := export.ReadLog(resp.Body)
					resp.Body.Close()
					if err != nil || len(evs) == 0 {
						return fmt.Errorf("download %d: %d events, %v", i, len(evs), err)
					}
					if want := max(h.First, 1); evs[0].Seq != want {
						return fmt.Errorf("download %d: the header says the file starts at %d (%d sockets before it); its first event is %d", i, h.First, len(h.Sockets), evs[0].Seq)
					}
				}
				return nil
			}()
		}()
	}
	for range cap(errs) {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// conns keeps every connection it dials until close, and closes any that
// comes after.
type conns struct {
	mu     sync.Mutex
	all    []net.Conn
	closed bool
}

func (cs *conns) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.closed {
		c.Close()
		return nil, net.ErrClosed
	}
	cs.all = append(cs.all, c)
	return c, nil
}

func (cs *conns) close() {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	cs.closed = true
	for _, c := range cs.all {
		c.Close()
	}
}
