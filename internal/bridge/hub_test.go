package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// These tests put a session in the state a race between two connections
// leaves it in, which no client can bring about at will: the close
// handshake that ends a connection discards the requests that follow it,
// so the interleavings below happen only when a request is read in the
// moment before.

// serve serves h on loopback and returns its ws:// URL.
func serve(t *testing.T, h *Handler, cancel context.CancelFunc) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		cancel()
		h.Wait()
		srv.Close()
	})
	return "ws" + strings.TrimPrefix(srv.URL, "http") + "/"
}

// wsDial opens a WebSocket to u and reads its hello.
func wsDial(t *testing.T, u string) (*websocket.Conn, Hello) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, u, &websocket.DialOptions{Subprotocols: []string{Subprotocol}})
	if err != nil {
		t.Fatalf("dial %s: %v", u, err)
	}
	t.Cleanup(func() { ws.CloseNow() })
	_, b, err := ws.Read(ctx)
	if err != nil {
		t.Fatalf("hello: %v", err)
	}
	var h Hello
	if err := json.Unmarshal(b, &h); err != nil || h.Type != "hello" {
		t.Fatalf("hello: %s, %v", b, err)
	}
	return ws, h
}

// closeCode reads ws until it is closed, and returns the close code and
// reason.
func closeCode(t *testing.T, ws *websocket.Conn) (websocket.StatusCode, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		if _, _, err := ws.Read(ctx); err != nil {
			var ce websocket.CloseError
			if !errors.As(err, &ce) {
				t.Fatalf("closed without a close frame: %v", err)
			}
			return ce.Code, ce.Reason
		}
	}
}

// entryOf returns the live session with id.
func entryOf(h *Handler, id string) *entry {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.sessions[id]
}

// ownerOf returns e's owner connection.
func ownerOf(e *entry) *conn {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.owner
}

// TestEndAfterTakeover: an owner connection asks to end the session just
// as another takes it over. The session must end at once (§15.4), not
// stay half-ended, refusing every resume while the new owner goes on.
func TestEndAfterTakeover(t *testing.T) {
	base, cancel := context.WithCancel(context.Background())
	h := NewHandler(base, Options{})
	u := serve(t, h, cancel)
	ws1, hello := wsDial(t, u)
	e := entryOf(h, hello.Session)
	first := ownerOf(e)
	ws2, _ := wsDial(t, u+"?session="+hello.Session+"&key="+hello.Key+"&from=1")

	// The "end" the first connection read before its close went out.
	first.handle(context.Background(), false, []byte(`{"op":"end"}`))
	closeCode(t, ws1)
	if code, why := closeCode(t, ws2); code != CloseEnded || why != "the session ended: ended by its owner" {
		t.Fatalf("the owner connection that took over: %d %q", code, why)
	}
}

// TestShareAfterEnd: a share request that comes in as the session ends
// makes no link: one made after the session let go of its links would
// stay in the handler, with the whole session, for good.
func TestShareAfterEnd(t *testing.T) {
	base, cancel := context.WithCancel(context.Background())
	h := NewHandler(base, Options{})
	u := serve(t, h, cancel)
	ws, hello := wsDial(t, u)
	e := entryOf(h, hello.Session)
	owner := ownerOf(e)
	e.end("ended by a test")
	closeCode(t, ws)

	owner.handle(context.Background(), false, []byte(`{"op":"share"}`))
	h.mu.Lock()
	n := len(h.links)
	h.mu.Unlock()
	if n != 0 {
		t.Fatalf("after the session ended, a share request left %d links in the handler", n)
	}
}
