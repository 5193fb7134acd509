package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/cookiejar"
	"net/netip"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/coder/websocket"
)

const (
	// payloadSize is the bytes each round sends to the echo and waits for.
	payloadSize = 64
	// stepTimeout bounds every wait of a round (a connect, the echo, a
	// close) and opening a session; past it the session counts as failed.
	stepTimeout = 30 * time.Second
	// readLimit bounds one message from the server: a hello or an event
	// about 64 bytes is far smaller.
	readLimit = 1 << 20
	// policyBackoff is the pause after the policy refused a connect, instead
	// of the usual one: the limit it hit is per minute.
	policyBackoff = 5 * time.Second
)

// configScript finds the page's configuration (templ.JSONScript).
var configScript = regexp.MustCompile(`(?s)<script[^>]*\bid="playground-config"[^>]*>(.*?)</script>`)

// pageConfig is what the load test reads of the page's configuration.
type pageConfig struct {
	WSPath string `json:"ws_path"`
	Token  string `json:"token"`
}

// person is one simulated person with one session: a page load, a
// WebSocket, and rounds against the TCP echo. Owned by its goroutine.
type person struct {
	n    int // its number, from 0
	f    *fleet
	ws   *websocket.Conn
	echo netip.AddrPort

	lat []roundTimes // of completed rounds, merged into the fleet's at the end
}

// open loads the page as a browser does, keeping its cookie, opens the
// WebSocket with the page's token and reads the hello.
func (p *person) open(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	jar, err := cookiejar.New(nil)
	if err != nil {
		return err
	}
	page := p.f.base.JoinPath("/")
	hc := &http.Client{Transport: p.f.pageTransport, Jar: jar}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, page.String(), nil)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("GET /: %w", err)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	resp.Body.Close()
	if err != nil {
		return fmt.Errorf("GET /: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET /: %s", resp.Status)
	}
	m := configScript.FindSubmatch(body)
	if m == nil {
		return errors.New("GET /: the page has no playground-config script")
	}
	var pc pageConfig
	if err := json.Unmarshal(m[1], &pc); err != nil {
		return fmt.Errorf("GET /: the page's configuration: %w", err)
	}
	if pc.Token == "" || !strings.HasPrefix(pc.WSPath, "/") {
		return fmt.Errorf("GET /: the page's configuration has token %t, ws_path %q", pc.Token != "", pc.WSPath)
	}
	var cookie string
	for _, c := range jar.Cookies(page) {
		if c.Name == cookieName {
			cookie = c.String()
		}
	}
	if cookie == "" {
		return fmt.Errorf("GET /: no %q cookie was set", cookieName)
	}

	u := url.URL{Scheme: "ws", Host: p.f.host, Path: pc.WSPath, RawQuery: url.Values{"token": {pc.Token}}.Encode()}
	ws, resp, err := websocket.Dial(ctx, u.String(), &websocket.DialOptions{
		HTTPClient:   &http.Client{Transport: p.f.wsTransport},
		HTTPHeader:   http.Header{"Origin": {"http://" + p.f.host}, "Cookie": {cookie}},
		Subprotocols: []string{subprotocol},
	})
	if err != nil {
		if resp != nil {
			return fmt.Errorf("WebSocket: %s: %w", resp.Status, err)
		}
		return fmt.Errorf("WebSocket: %w", err)
	}
	if ws.Subprotocol() != subprotocol {
		ws.CloseNow()
		return fmt.Errorf("WebSocket: the server chose subprotocol %q", ws.Subprotocol())
	}
	ws.SetReadLimit(readLimit)
	p.ws = ws
	if err := p.readHello(ctx); err != nil {
		ws.CloseNow()
		return err
	}
	return nil
}

// readHello reads the hello and finds the TCP echo on 127.0.0.1.
func (p *person) readHello(ctx context.Context) error {
	typ, msg, err := p.ws.Read(ctx)
	if err != nil {
		return fmt.Errorf("hello: %w", err)
	}
	var h hello
	if typ != websocket.MessageText {
		return errors.New("hello: the first message is binary")
	}
	if err := json.Unmarshal(msg, &h); err != nil {
		return fmt.Errorf("hello: %w", err)
	}
	if h.Type != "hello" || h.Protocol != protocol {
		return fmt.Errorf("hello: type %q, protocol %q; want hello, %s", h.Type, h.Protocol, protocol)
	}
	for _, s := range h.Services {
		if s.Name != "echo" || s.Proto != "tcp" {
			continue
		}
		if ap, err := netip.ParseAddrPort(s.Addr); err == nil && ap.Addr() == netip.AddrFrom4([4]byte{127, 0, 0, 1}) {
			p.echo = ap
			return nil
		}
	}
	return fmt.Errorf("hello: no TCP echo service on 127.0.0.1 among %d services", len(h.Services))
}

// loop runs rounds until stop, pausing about a second between them, and
// returns an error only if the WebSocket failed.
func (p *person) loop(ctx context.Context, stop time.Time) error {
	for k := 1; time.Now().Before(stop); k++ {
		pause := p.f.pause + rand.N(p.f.pause/4+1)
		ok, refused, err := p.round(ctx, k)
		if err != nil {
			return err
		}
		if ok {
			p.f.stats.roundDone(p.f.rampEnd, stop)
		} else {
			p.f.stats.roundFailed()
		}
		if refused {
			pause = policyBackoff
		}
		if time.Until(stop) < pause {
			pause = time.Until(stop)
		}
		if pause > 0 {
			t := time.NewTimer(pause)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return nil
			}
		}
		if ctx.Err() != nil {
			return nil
		}
	}
	return nil
}

// round connects to the echo, sends payloadSize bytes, waits for the same
// bytes back, closes the socket and waits for the close's result. ok says
// it went through; refused that the policy refused the connect; err that
// the WebSocket failed (the session cannot go on).
func (p *person) round(ctx context.Context, k int) (ok, refused bool, err error) {
	id := strconv.Itoa(k)
	start := time.Now()

	// connect → result (or error).
	if err := p.send(ctx, request{ID: "c" + id, Op: "connect", Host: p.echo.Addr().String(), Port: int(p.echo.Port())}); err != nil {
		return false, false, err
	}
	var sock int
	err = p.await(ctx, "connect result", func(ev event, _ []byte) (bool, error) {
		if ev.ID != "c"+id {
			return false, nil
		}
		switch ev.Type {
		case "result":
			sock = ev.Sock
			return true, nil
		case "error":
			refused = ev.Code == "policy"
			return true, nil
		}
		return false, nil
	})
	if err != nil || sock == 0 {
		return false, refused, err
	}
	connected := time.Now()

	// send → the same bytes back in data events.
	payload := fmt.Sprintf("session %05d round %06d ", p.n, k)
	payload += strings.Repeat(".", payloadSize-len(payload))
	if err := p.send(ctx, request{ID: "s" + id, Op: "send", Sock: sock, Data: &text{Text: payload}}); err != nil {
		return false, false, err
	}
	var got []byte
	ended, failed := false, false
	err = p.await(ctx, "echo", func(ev event, b []byte) (bool, error) {
		switch {
		case ev.Type == "data" && ev.Sock == sock:
			got = append(got, b...)
			return len(got) >= payloadSize, nil
		case ev.Type == "error" && ev.ID == "s"+id:
			failed = true
			return true, nil
		case ev.Type == "state" && ev.Sock == sock && (ev.State == "closed" || ev.State == "failed"):
			ended, failed = true, true
			return true, nil
		}
		return false, nil
	})
	if err != nil {
		return false, false, err
	}
	echoed := time.Now()
	if !failed && string(got) != payload {
		p.f.stats.mismatch(fmt.Sprintf("session %d round %d: sent %q, got back %q", p.n, k, payload, got))
		failed = true
	}
	if ended {
		p.f.stats.mismatch(fmt.Sprintf("session %d round %d: socket %d ended before the echo came back (%d of %d bytes)", p.n, k, sock, len(got), payloadSize))
		return false, false, nil
	}

	// close → result.
	if err := p.send(ctx, request{ID: "x" + id, Op: "close", Sock: sock}); err != nil {
		return false, false, err
	}
	closed := false
	err = p.await(ctx, "close result", func(ev event, _ []byte) (bool, error) {
		if ev.ID != "x"+id || (ev.Type != "result" && ev.Type != "error") {
			return false, nil
		}
		closed = ev.Type == "result"
		return true, nil
	})
	if err != nil || failed || !closed {
		return false, false, err
	}
	end := time.Now()
	p.lat = append(p.lat, roundTimes{total: end.Sub(start), connect: connected.Sub(start), echo: echoed.Sub(connected), close: end.Sub(echoed)})
	return true, false, nil
}

// send writes one request as a text message.
func (p *person) send(ctx context.Context, r request) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	if err := p.ws.Write(ctx, websocket.MessageText, b); err != nil {
		return fmt.Errorf("write %s: %w", r.Op, err)
	}
	return nil
}

// await reads events until done says so, within stepTimeout. Every error
// event read is counted, whichever wait reads it.
func (p *person) await(ctx context.Context, what string, done func(event, []byte) (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	for {
		typ, msg, err := p.ws.Read(ctx)
		if err != nil {
			if errors.Is(err, context.DeadlineExceeded) {
				return fmt.Errorf("no %s within %v", what, stepTimeout)
			}
			return fmt.Errorf("waiting for the %s: %w", what, err)
		}
		ev, payload, err := decodeEvent(typ, msg)
		if err != nil {
			return err
		}
		if ev.Type == "error" {
			p.f.stats.errorEvent(ev.Code, ev.Message)
		}
		if ok, err := done(ev, payload); ok || err != nil {
			return err
		}
	}
}

// close ends the session at once, as the page's End session does (a
// WebSocket merely closed would keep it for its grace period), and waits
// for the server's normal closure (1000).
func (p *person) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := p.ws.Write(ctx, websocket.MessageText, []byte(`{"op":"end"}`)); err != nil {
		return fmt.Errorf("end the session: %w", err)
	}
	for {
		if _, _, err := p.ws.Read(ctx); err != nil {
			if websocket.CloseStatus(err) != websocket.StatusNormalClosure {
				return fmt.Errorf("end the session: %w", err)
			}
			return nil
		}
	}
}
