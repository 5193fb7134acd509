package bridge_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/socketplayground/playground/internal/bridge"
	"github.com/socketplayground/playground/internal/session"
)

// resumeURL is the URL an owner comes back to its session with (§15.1).
func resumeURL(base string, hello Ev, from uint64) string {
	return fmt.Sprintf("%s?session=%s&key=%s&from=%d", base, hello.Session, url.QueryEscape(hello.Key), from)
}

func watchURL(base, secret string, from uint64) string {
	return fmt.Sprintf("%s?watch=%s&from=%d", base, url.QueryEscape(secret), from)
}

// closed dials u and returns how the server closes the connection, which
// it must do before any hello.
func closed(t *testing.T, u string) (websocket.StatusCode, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, u, &websocket.DialOptions{Subprotocols: []string{bridge.Subprotocol}})
	if err != nil {
		t.Fatalf("dial %s: %v", u, err)
	}
	defer ws.CloseNow()
	_, msg, err := ws.Read(ctx)
	if err == nil {
		t.Fatalf("%s: got %s, want the connection closed", u, msg)
	}
	return closeOf(t, err)
}

// closeOf returns the close code and reason err carries.
func closeOf(t testing.TB, err error) (websocket.StatusCode, string) {
	t.Helper()
	var ce websocket.CloseError
	if !errors.As(err, &ce) {
		t.Fatalf("the connection ended without a close frame: %v", err)
	}
	return ce.Code, ce.Reason
}

// closedWith reads c until the server closes it, and returns how.
func (c *Client) closedWith() (websocket.StatusCode, string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	for {
		if _, _, err := c.ws.Read(ctx); err != nil {
			return closeOf(c.t, err)
		}
	}
}

const patience = 10 * time.Second

// readAll reads n bytes from the peer.
func readN(t *testing.T, r io.Reader, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		t.Fatalf("read %d bytes: %v", n, err)
	}
	return string(b)
}

// dataOf waits until the data events of sock carry want, and returns them
// joined.
func (c *Client) dataOf(sock int, want string) {
	c.t.Helper()
	var got []byte
	for !bytes.Equal(got, []byte(want)) {
		e := c.Wait("data for socket "+fmt.Sprint(sock), func(e Ev) bool { return e.Type == "data" && e.Sock == sock })
		got = append(got, e.Data...)
		if len(got) > len(want) || !bytes.HasPrefix([]byte(want), got) {
			c.t.Fatalf("socket %d received %q, want %q", sock, got, want)
		}
	}
}

// TestResume drops the owner's WebSocket without a close, lets the peer
// send while the owner is away, and comes back: the socket is still open,
// the events continue from where the client asked with none missing or
// repeated, and the socket still sends.
func TestResume(t *testing.T) {
	base := startServer(t, bridge.Options{})
	owner := dial(t, base)
	h := owner.Hello
	if h.Role != "owner" || len(h.Key) != 26 || h.Resumed || h.GraceMS != bridge.DefaultGrace.Milliseconds() || h.First != 1 || h.Next != 1 {
		t.Fatalf("a new session's hello: %v (key %q)", h, h.Key)
	}
	sock, p := connectPeer(t, owner, "")
	owner.Send(`{"id":"s1","op":"send","sock":%d,"data":{"text":"one"}}`, sock)
	owner.OK("s1")
	if got := readN(t, p, 3); got != "one" {
		t.Fatalf("the peer read %q", got)
	}
	last := owner.Seen[len(owner.Seen)-1].Seq
	owner.ws.CloseNow() // a dropped network: no close frame

	// While the owner is away, the peer sends: the session logs it.
	if _, err := p.Write([]byte("while away")); err != nil {
		t.Fatal(err)
	}
	back := dial(t, resumeURL(base, h, last+1))
	if b := back.Hello; b.Role != "owner" || !b.Resumed || b.Key != "" || b.Session != h.Session {
		t.Fatalf("a resumed hello: %v (key %q)", b, b.Key)
	}
	back.dataOf(sock, "while away")
	if first := back.Seen[0].Seq; first != last+1 {
		t.Fatalf("after resuming from %d the first event is %d: %v", last+1, first, back.Seen[0])
	}
	back.Send(`{"id":"s2","op":"send","sock":%d,"data":{"text":"two"}}`, sock)
	back.OK("s2")
	if got := readN(t, p, 3); got != "two" {
		t.Fatalf("after resuming, the peer read %q", got)
	}

	// A reload asks for everything again: the same events, from 1.
	back.ws.CloseNow()
	again := dial(t, resumeURL(base, h, 1))
	again.Wait("the second send", func(e Ev) bool { return e.ID == "s2" && e.Type == "sent" })
	all := append(append([]Ev{}, owner.Seen...), back.Seen...)
	for i, e := range again.Seen {
		if i >= len(all) {
			break
		}
		if e.Seq != all[i].Seq || e.Type != all[i].Type || e.ID != all[i].ID {
			t.Fatalf("event %d after a reload is %v, it was %v", i, e, all[i])
		}
	}
}

// TestResumeRefused: a wrong key, an unknown session, and a session its
// owner ended are closed with 4002 and a reason; a second owner connection
// takes over from the first with 4003.
func TestResumeRefused(t *testing.T) {
	base := startServer(t, bridge.Options{})
	owner := dial(t, base)
	h := owner.Hello

	wrong := h
	wrong.Key = strings.Repeat("A", 26)
	if code, why := closed(t, resumeURL(base, wrong, 1)); code != bridge.CloseEnded || why != "no such session here" {
		t.Fatalf("a wrong key: %d %q", code, why)
	}
	unknown := h
	unknown.Session = strings.Repeat("B", 26)
	if code, why := closed(t, resumeURL(base, unknown, 1)); code != bridge.CloseEnded || why != "no such session here" {
		t.Fatalf("an unknown session: %d %q", code, why)
	}

	second := dial(t, resumeURL(base, h, 1))
	if code, why := owner.closedWith(); code != bridge.CloseTakenOver || !strings.Contains(why, "took over") {
		t.Fatalf("the first owner connection: %d %q", code, why)
	}
	second.Send(`{"id":"end","op":"end"}`)
	if code, why := second.closedWith(); code != websocket.StatusNormalClosure || why != "the session ended" {
		t.Fatalf("end: %d %q", code, why)
	}
	if code, why := closed(t, resumeURL(base, h, 1)); code != bridge.CloseEnded || why != "the session ended: ended by its owner" {
		t.Fatalf("resuming an ended session: %d %q", code, why)
	}
}

// TestGraceEnds: an owner that does not come back within the grace period
// loses its session: its sockets close (the peer sees the end of the
// stream) and a late resume is told why.
func TestGraceEnds(t *testing.T) {
	base := startServer(t, bridge.Options{Grace: 300 * time.Millisecond})
	owner := dial(t, base)
	if owner.Hello.GraceMS != 300 {
		t.Fatalf("grace_ms %d, want 300", owner.Hello.GraceMS)
	}
	_, p := connectPeer(t, owner, "")
	owner.ws.CloseNow()
	p.SetReadDeadline(time.Now().Add(patience))
	if n, err := p.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("the peer read %d bytes, %v; want the end of the stream once the grace period is over", n, err)
	}
	code, why := closed(t, resumeURL(base, owner.Hello, 1))
	if code != bridge.CloseEnded || why != "the session ended: its page was away for more than 300ms, so its sockets were closed" {
		t.Fatalf("a resume after the grace period: %d %q", code, why)
	}
}

// share makes a watch link and returns it.
func (c *Client) share(id string, extra string) bridge.ShareLink {
	c.t.Helper()
	c.Send(`{"id":%q,"op":"share"%s}`, id, extra)
	m := c.Wait("the shares answering "+id, func(e Ev) bool { return e.Type == "shares" && e.ID == id })
	if len(m.Links) == 0 {
		c.t.Fatalf("share %s: no link in %v", id, m)
	}
	return m.Links[len(m.Links)-1]
}

// TestWatch: a watcher sees the owner's events from the start and then
// live, in the same order, with the bytes of the owner's sends; the owner
// sees it counted; what the watcher sends is refused to it alone and the
// session is not touched; a revoked link closes the watcher and lets
// nobody in again.
func TestWatch(t *testing.T) {
	base := startServer(t, bridge.Options{})
	owner := dial(t, base)
	sock, p := connectPeer(t, owner, "")
	owner.Send(`{"id":"s1","op":"send","sock":%d,"data":{"text":"before"}}`, sock)
	owner.OK("s1")
	readN(t, p, 6)

	l := owner.share("sh", `,"expires_s":600`)
	if l.Link != "w1" || len(l.Watch) != 26 || l.Watchers != 0 {
		t.Fatalf("the link: %+v", l)
	}
	if left := time.Until(time.UnixMicro(l.Expires)); left < 590*time.Second || left > 600*time.Second {
		t.Fatalf("the link expires in %v, want about 10 min", left)
	}
	w := dial(t, watchURL(base, l.Watch, 1))
	if h := w.Hello; h.Role != "watcher" || h.Key != "" || h.Session != owner.Hello.Session {
		t.Fatalf("a watcher's hello: %v (key %q)", h, h.Key)
	}
	owner.Wait("one watcher", func(e Ev) bool { return e.Type == "shares" && e.ID == "" && e.Watchers == 1 })

	owner.Send(`{"id":"s2","op":"send","sock":%d,"data":{"text":"live"}}`, sock)
	sent := owner.OK("s2")
	if sent.Binary {
		t.Fatalf("the owner's own sent carries its bytes back: %v", sent)
	}
	wsent := w.Wait("the owner's second send", func(e Ev) bool { return e.ID == "s2" && e.Type == "sent" })
	if string(wsent.Data) != "live" {
		t.Fatalf("the watcher's copy of the owner's send carries %q", wsent.Data)
	}
	readN(t, p, 4)
	for i, e := range w.Seen {
		if o := owner.Seen[i]; e.Seq != o.Seq || e.Type != o.Type || e.Op != o.Op || e.Sock != o.Sock || e.ID != o.ID {
			t.Fatalf("event %d: the watcher saw %v, the owner %v", i, e, o)
		}
	}

	// A watcher's request is refused to it alone.
	w.Send(`{"id":"w-send","op":"send","sock":%d,"data":{"text":"sneaky"}}`, sock)
	ref := w.Wait("the refusal", func(e Ev) bool { return e.ID == "w-send" })
	if ref.Type != "error" || ref.Code != "read_only" || ref.Op != "send" || ref.Seq != 0 || ref.Message == "" {
		t.Fatalf("a watcher's send: %v", ref)
	}
	w.Send(`{"id":"w-end","op":"end"}`)
	if ref := w.Wait("the refusal of end", func(e Ev) bool { return e.ID == "w-end" }); ref.Code != "read_only" {
		t.Fatalf("a watcher's end: %v", ref)
	}
	w.Send(`not json`)
	if ref := w.Wait("the refusal of junk", func(e Ev) bool { return e.Type == "error" && e.ID == "" }); ref.Code != "bad_request" || ref.Seq != 0 {
		t.Fatalf("a watcher's junk: %v", ref)
	}
	owner.Send(`{"id":"s3","op":"send","sock":%d,"data":{"text":"after"}}`, sock)
	owner.OK("s3")
	if got := readN(t, p, 5); got != "after" {
		t.Fatalf("the peer read %q: the watcher's send reached it", got)
	}
	for _, e := range owner.Seen {
		if strings.HasPrefix(e.ID, "w-") || (e.Type == "error" && e.ID == "") {
			t.Fatalf("the owner's log has the watcher's request: %v", e)
		}
	}

	owner.Send(`{"id":"un","op":"unshare","link":%q}`, l.Link)
	if m := owner.Wait("the shares after unshare", func(e Ev) bool { return e.Type == "shares" && e.ID == "un" }); len(m.Links) != 0 {
		t.Fatalf("after unshare: %v", m)
	}
	if code, why := w.closedWith(); code != bridge.CloseLink || why != "the owner revoked this watch link" {
		t.Fatalf("the watcher of a revoked link: %d %q", code, why)
	}
	if code, why := closed(t, watchURL(base, l.Watch, 1)); code != bridge.CloseLink || why != "the owner revoked this watch link" {
		t.Fatalf("a revoked link: %d %q", code, why)
	}
	if code, why := closed(t, watchURL(base, strings.Repeat("C", 26), 1)); code != bridge.CloseLink || why != "no such watch link" {
		t.Fatalf("an unknown link: %d %q", code, why)
	}

	// When the session ends, so does watching.
	l2 := owner.share("sh2", "")
	w2 := dial(t, watchURL(base, l2.Watch, 1))
	owner.Send(`{"id":"end","op":"end"}`)
	if code, why := w2.closedWith(); code != bridge.CloseEnded || why != "the session ended: ended by its owner" {
		t.Fatalf("a watcher when the session ends: %d %q", code, why)
	}
	if code, why := closed(t, watchURL(base, l2.Watch, 1)); code != bridge.CloseEnded || why != "the session ended: ended by its owner" {
		t.Fatalf("the link of an ended session: %d %q", code, why)
	}
}

// TestWatchExpires: a link that expires closes its watchers and lets
// nobody in.
func TestWatchExpires(t *testing.T) {
	base := startServer(t, bridge.Options{})
	owner := dial(t, base)
	l := owner.share("sh", `,"expires_s":1`)
	w := dial(t, watchURL(base, l.Watch, 1))
	code, why := w.closedWith()
	if code != bridge.CloseLink || !strings.HasPrefix(why, "this watch link expired at ") {
		t.Fatalf("the watcher of an expired link: %d %q", code, why)
	}
	if code, why2 := closed(t, watchURL(base, l.Watch, 1)); code != bridge.CloseLink || why2 != why {
		t.Fatalf("an expired link: %d %q", code, why2)
	}
	owner.Wait("no watchers and no links", func(e Ev) bool { return e.Type == "shares" && e.Watchers == 0 && len(e.Links) == 0 })
}

// TestShareRequests: bad share requests get error events naming what was
// wrong, and a session has at most MaxLinks links at once.
func TestShareRequests(t *testing.T) {
	base := startServer(t, bridge.Options{})
	owner := dial(t, base)
	owner.Send(`{"id":"z","op":"share","expires_s":0}`)
	if e := owner.Fails("z", "bad_field"); !strings.Contains(e.Message, "expires_s") {
		t.Fatalf("expires_s 0: %v", e)
	}
	owner.Send(`{"id":"big","op":"share","expires_s":86401}`)
	owner.Fails("big", "bad_field")
	owner.Send(`{"id":"str","op":"share","expires_s":"soon"}`)
	owner.Fails("str", "bad_field")
	owner.Send(`{"id":"nolink","op":"unshare","link":"w9"}`)
	if e := owner.Fails("nolink", "bad_field"); !strings.Contains(e.Message, `"w9"`) {
		t.Fatalf("unshare w9: %v", e)
	}
	owner.Send(`{"id":"nofield","op":"unshare"}`)
	owner.Fails("nofield", "missing_field")
	for i := range bridge.MaxLinks {
		owner.share(fmt.Sprint("ok", i), "")
	}
	owner.Send(`{"id":"many","op":"share"}`)
	owner.Fails("many", "limit")
	owner.Send(`{"id":"list","op":"shares"}`)
	if m := owner.Wait("shares", func(e Ev) bool { return e.Type == "shares" && e.ID == "list" }); len(m.Links) != bridge.MaxLinks {
		t.Fatalf("shares lists %d links, want %d", len(m.Links), bridge.MaxLinks)
	}
	// The session carries on.
	owner.Send(`{"id":"l","op":"listen","host":"127.0.0.1","port":0}`)
	owner.OK("l")
}

// TestSync: a client that asks for events no longer kept gets the state of
// the sockets before the first one kept, then every event from there.
func TestSync(t *testing.T) {
	base := startServer(t, bridge.Options{Session: session.Options{Limits: session.Limits{History: 32 << 10}}})
	owner := dial(t, base)
	owner.Send(`{"id":"l","op":"listen","host":"127.0.0.1","port":0}`)
	ln := owner.OK("l")
	sock, p := connectPeer(t, owner, "")
	chunk := strings.Repeat("x", 1000)
	for i := range 200 {
		owner.Send(`{"id":"s%d","op":"send","sock":%d,"data":{"text":%q}}`, i, sock, chunk)
		owner.OK(fmt.Sprint("s", i))
	}
	readN(t, p, 200*len(chunk))

	l := owner.share("sh", "")
	for _, c := range []*Client{dial(t, watchURL(base, l.Watch, 1)), dial(t, resumeURL(base, owner.Hello, 1))} {
		s := c.Wait("sync", func(e Ev) bool { return e.Type == "sync" })
		if s.First <= 1 || len(c.Seen) > 0 && c.Seen[0].Seq < s.First {
			t.Fatalf("sync first %d, the events start at %v", s.First, c.Seen)
		}
		socks := map[int]session.SockState{}
		for _, x := range s.Sockets {
			socks[x.Sock] = x
		}
		if x := socks[ln.Sock]; x.Kind != "tcp-listener" || x.State != "listening" || x.Local != ln.Local {
			t.Fatalf("the listener in sync: %+v", x)
		}
		if x := socks[sock]; x.Kind != "tcp" || x.State != "established" || x.Remote == "" {
			t.Fatalf("the connection in sync: %+v", x)
		}
		first := c.Wait("the first event kept", func(e Ev) bool { return e.Seq != 0 })
		if first.Seq != s.First {
			t.Fatalf("after sync at %d the first event is %v", s.First, first)
		}
	}
}

// TestSlowWatcher: a watcher that reads nothing does not hold the owner
// back; the owner receives a stream bigger than every buffer on the way.
func TestSlowWatcher(t *testing.T) {
	base := startServer(t, bridge.Options{WriteTimeout: time.Second})
	owner := dial(t, base)
	sock, p := connectPeer(t, owner, "")
	l := owner.share("sh", "")
	stuck := dial(t, watchURL(base, l.Watch, 1)) // and never read again
	_ = stuck
	const total = 16 << 20
	go func() {
		buf := bytes.Repeat([]byte("y"), 64<<10)
		for sent := 0; sent < total; sent += len(buf) {
			if _, err := p.Write(buf); err != nil {
				return
			}
		}
	}()
	got := 0
	for got < total {
		e := owner.Wait("data", func(e Ev) bool { return e.Type == "data" && e.Sock == sock })
		got += len(e.Data)
		owner.Seen = owner.Seen[:0] // keep memory flat
	}
}

// TestSyncLeavesClosedOut: a request naming a socket already closed gets a
// call event with that socket's id (§5.4); once those events are no
// longer kept, sync must still leave the socket out, as the page, applying
// every event, still has it closed (§15.3).
func TestSyncLeavesClosedOut(t *testing.T) {
	base := startServer(t, bridge.Options{Session: session.Options{Limits: session.Limits{History: 32 << 10}}})
	owner := dial(t, base)
	gone, _ := connectPeer(t, owner, "")
	owner.Send(`{"id":"c1","op":"close","sock":%d}`, gone)
	owner.Wait("the socket closed", func(e Ev) bool { return e.Type == "state" && e.Sock == gone && e.State == "closed" })
	owner.Send(`{"id":"c2","op":"close","sock":%d}`, gone)
	owner.Fails("c2", "bad_state")
	owner.Send(`{"id":"s0","op":"send","sock":%d,"data":{"text":"late"}}`, gone)
	owner.Fails("s0", "bad_state")

	// Enough traffic that those events are no longer kept.
	sock, p := connectPeer(t, owner, "")
	chunk := strings.Repeat("x", 1000)
	for i := range 100 {
		owner.Send(`{"id":"s%d","op":"send","sock":%d,"data":{"text":%q}}`, i+1, sock, chunk)
		owner.OK(fmt.Sprint("s", i+1))
	}
	readN(t, p, 100*len(chunk))

	back := dial(t, resumeURL(base, owner.Hello, 1))
	s := back.Wait("sync", func(e Ev) bool { return e.Type == "sync" })
	for _, x := range s.Sockets {
		if x.Sock == gone {
			t.Fatalf("sync lists socket %d, closed before it: %+v", gone, x)
		}
	}
}

// TestIdleEndsOnce: a session that ends for a limit says so once, in the
// words of §10, to its owner, to its watchers (§15.5) and to a late resume
// (§15.2).
func TestIdleEndsOnce(t *testing.T) {
	base := startServer(t, bridge.Options{IdleTimeout: time.Second})
	owner := dial(t, base)
	l := owner.share("sh", "")
	w := dial(t, watchURL(base, l.Watch, 1))
	const why = "the session ended: no request for 1s"
	if code, reason := owner.closedWith(); code != bridge.CloseIdle || reason != why {
		t.Fatalf("the owner: %d %q", code, reason)
	}
	if code, reason := w.closedWith(); code != bridge.CloseEnded || reason != why {
		t.Fatalf("the watcher: %d %q", code, reason)
	}
	if code, reason := closed(t, resumeURL(base, owner.Hello, 1)); code != bridge.CloseEnded || reason != why {
		t.Fatalf("a resume: %d %q", code, reason)
	}
}

// TestEndClosesWatchers: when the session ends, every watcher is told so
// with 4002 (§15.5): none is dropped without its close frame because its
// event stream ended first.
func TestEndClosesWatchers(t *testing.T) {
	base := startServer(t, bridge.Options{})
	owner := dial(t, base)
	l := owner.share("sh", "")
	ws := make([]*Client, 20)
	for i := range ws {
		ws[i] = dial(t, watchURL(base, l.Watch, 1))
	}
	owner.Send(`{"id":"end","op":"end"}`)
	owner.closedWith()
	for i, w := range ws {
		if code, why := w.closedWith(); code != bridge.CloseEnded || why != "the session ended: ended by its owner" {
			t.Fatalf("watcher %d: %d %q", i, code, why)
		}
	}
}

// TestSyncOnce: a client that asks for events no longer kept gets one
// sync and then every event from its first (§15.1), even while the
// session streams and the history is trimmed under it.
func TestSyncOnce(t *testing.T) {
	base := startServer(t, bridge.Options{Session: session.Options{Limits: session.Limits{History: 8 << 10}}})
	owner := dial(t, base)
	owner.Send(`{"id":"b","op":"bind","host":"127.0.0.1","port":0}`)
	bound := owner.OK("b")
	l := owner.share("sh", "")
	pc, err := net.Dial("udp", bound.Local)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	// The owner reads every event, so the history is trimmed as it goes,
	// and a peer sends small datagrams as fast as it can: many events.
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	wg.Go(func() {
		for ctx.Err() == nil {
			if _, _, err := owner.Conn().Read(ctx); err != nil {
				return
			}
		}
	})
	wg.Go(func() {
		for ctx.Err() == nil {
			pc.Write([]byte("0123456789abcdef"))
		}
	})

	synced := 0
	for i := range 100 {
		w := dial(t, watchURL(base, l.Watch, 1))
		switch s := w.read(patience); {
		case s.Seq == 1:
			// Nothing was trimmed yet.
		case s.Type != "sync":
			t.Fatalf("watcher %d: after the hello comes %v, want sync", i, s)
		default:
			if e := w.read(patience); e.Seq != s.First {
				t.Fatalf("watcher %d: after sync at %d comes %v", i, s.First, e)
			}
			synced++
		}
		w.ws.Close(websocket.StatusNormalClosure, "")
	}
	if synced == 0 {
		t.Fatal("no watcher got a sync: the history was never trimmed")
	}
}
