package bridge

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/socketplayground/playground/internal/session"
)

// Connection roles (docs/protocol.md §15.1).
const (
	roleOwner   = "owner"
	roleWatcher = "watcher"
)

// conn is one WebSocket connection to a session: its owner's, which drives
// it, or a watcher's, which follows it read-only.
type conn struct {
	h    *Handler
	e    *entry
	ws   *websocket.Conn
	sess *session.Session
	role string
	link *link  // a watcher's way in
	id   uint64 // the Origin of events this connection's requests cause
	log  *slog.Logger

	wmu sync.Mutex // one writer at a time: events, and messages that are not events

	ctx context.Context // the connection's lifetime, set by run before ready

	kmu      sync.Mutex     // guards kicked, done, endWhy, ready, sharing, resend
	kicked   bool           // a close was started
	done     bool           // run has returned: nothing more to close
	endWhy   string         // set when this connection ends the session on purpose
	ready    bool           // the hello is out, and ctx set: other messages may follow
	sharing  bool           // shares are being sent
	resend   bool           // and changed again meanwhile
	kickWait sync.WaitGroup // kicks and shares in the background
}

func (e *entry) newConn(ws *websocket.Conn, role string) *conn {
	c := &conn{h: e.h, e: e, ws: ws, sess: e.sess, role: role, id: e.h.nextID.Add(1)}
	c.log = e.log.With("conn", c.id, "role", role)
	return c
}

// kick closes the connection with code and why, once; later kicks do
// nothing. It does not wait for the closing handshake.
func (c *conn) kick(code websocket.StatusCode, why string) {
	c.kmu.Lock()
	defer c.kmu.Unlock()
	if c.kicked || c.done {
		return
	}
	c.kicked = true
	c.kickWait.Add(1)
	go func() {
		defer c.kickWait.Done()
		c.ws.Close(code, why)
	}()
}

// closing reports whether a close was started.
func (c *conn) closing() bool {
	c.kmu.Lock()
	defer c.kmu.Unlock()
	return c.kicked
}

// endSession closes the owner's connection with code and why and ends the
// session at once, without a grace period: the owner asked to (end), or
// reached a limit. No owner can come back to it from now on; it ends when
// this connection has closed.
func (c *conn) endSession(code websocket.StatusCode, why, sessionWhy string) {
	c.kmu.Lock()
	if c.endWhy == "" {
		c.endWhy = sessionWhy
	}
	c.kmu.Unlock()
	c.e.ending(sessionWhy)
	c.kick(code, why)
}

// final says whether the connection ended its session on purpose, and why.
func (c *conn) final() (bool, string) {
	c.kmu.Lock()
	defer c.kmu.Unlock()
	return c.endWhy != "", c.endWhy
}

// sharesChanged sends the owner its shares, now that they changed: in the
// background, so a watcher coming or going never waits for its owner's
// connection. Changes that come while one is being sent coalesce.
func (c *conn) sharesChanged() {
	c.kmu.Lock()
	defer c.kmu.Unlock()
	if c.done || c.sharing || !c.ready {
		c.resend = c.sharing || !c.ready
		return
	}
	c.sharing = true
	c.kickWait.Add(1)
	go func() {
		defer c.kickWait.Done()
		for {
			c.writeMsg(c.ctx, c.e.shares(""))
			c.kmu.Lock()
			again := c.resend && !c.done
			c.resend = false
			c.sharing = again
			c.kmu.Unlock()
			if !again {
				return
			}
		}
	}()
}

// run serves the connection from event seq from until the client leaves,
// it is kicked, or the server stops.
func (c *conn) run(from uint64, resumed bool) error {
	// The connection's own lifetime: the server stopping closes the
	// WebSocket with "going away" instead, so the client is told why.
	ctx, cancel := context.WithCancel(context.WithoutCancel(c.h.base))
	defer cancel()
	c.ctx = ctx
	stop := context.AfterFunc(c.h.base, func() {
		c.kick(websocket.StatusGoingAway, "the server is shutting down")
	})
	defer func() {
		stop()
		c.kmu.Lock()
		c.done = true
		c.kmu.Unlock()
		c.kickWait.Wait()
		c.ws.CloseNow()
	}()

	if err := c.hello(ctx, from == 1 && !resumed && c.role == roleOwner, resumed); err != nil {
		return err
	}
	var wg sync.WaitGroup
	writeErr := make(chan error, 1)
	wg.Go(func() {
		err := c.writeLoop(ctx, from)
		// A dead writer ends the reader too: cancelling it closes the
		// WebSocket at once. When the session ended, and its log with it,
		// the connection is being closed with why: the closing handshake
		// ends the reader instead, so the close frame goes out first.
		if !errors.Is(err, session.ErrLogClosed) || !c.closing() {
			cancel()
		}
		writeErr <- err
	})
	c.startPings(ctx, &wg)
	if c.role == roleOwner {
		c.startLife(ctx, &wg)
		c.kmu.Lock()
		c.ready = true
		pending := c.resend
		c.resend = false
		c.kmu.Unlock()
		if pending || c.e.shared() {
			c.sharesChanged()
		}
	}
	err := c.readLoop(ctx)
	cancel()
	wg.Wait()
	werr := <-writeErr
	if isNormal(err) {
		err = werr
	}
	if isNormal(err) {
		return nil
	}
	return err
}

// writeMsg writes one message that is not an event.
func (c *conn) writeMsg(ctx context.Context, v any) error {
	var buf bytes.Buffer
	if err := encodeJSON(&buf, v); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, c.h.opts.WriteTimeout)
	defer cancel()
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.ws.Write(ctx, websocket.MessageText, buf.Bytes())
}

// startPings pings the client every PingInterval and drops the connection
// when a pong does not come back within PingTimeout. The pong is read by
// readLoop, which pauses while the client leaves events unread (§9 of the
// protocol): a client that reads nothing for PingTimeout is dropped too.
func (c *conn) startPings(ctx context.Context, wg *sync.WaitGroup) {
	every, wait := c.h.opts.PingInterval, c.h.opts.PingTimeout
	if every < 0 {
		return
	}
	if every == 0 {
		every = DefaultPingInterval
	}
	if wait <= 0 {
		wait = DefaultPingTimeout
	}
	timerLoop(ctx, wg, every, func() time.Duration {
		pctx, cancel := context.WithTimeout(ctx, wait)
		err := c.ws.Ping(pctx)
		cancel()
		if err != nil {
			if ctx.Err() == nil {
				c.log.Info("no pong from the client: dropping the connection", "err", err, "timeout", wait)
				c.ws.CloseNow()
			}
			return 0
		}
		return every
	})
}

// timerLoop runs f after first, then again after each duration f returns,
// until f returns 0 or ctx ends. No goroutine waits in between: f runs in
// its timer's own goroutine, so an idle connection costs no stack for it.
// wg counts the armed timer and a run of f under way; both end soon after
// ctx does.
func timerLoop(ctx context.Context, wg *sync.WaitGroup, first time.Duration, f func() time.Duration) {
	var (
		mu sync.Mutex // guards t's rearming against its stopping
		t  *time.Timer
	)
	run := func() {
		defer wg.Done()
		next := f()
		mu.Lock()
		defer mu.Unlock()
		if next > 0 && ctx.Err() == nil {
			wg.Add(1)
			t.Reset(next)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	wg.Add(1)
	t = time.AfterFunc(first, run)
	context.AfterFunc(ctx, func() {
		mu.Lock()
		defer mu.Unlock()
		if t.Stop() {
			wg.Done()
		}
	})
}

// startLife ends the session when its client has sent no request for
// IdleTimeout, or when it reaches MaxAge, closing the WebSocket with a code
// and a reason that say which.
func (c *conn) startLife(ctx context.Context, wg *sync.WaitGroup) {
	idle, maxAge := c.h.opts.IdleTimeout, c.h.opts.MaxAge
	if idle <= 0 && maxAge <= 0 {
		return
	}
	start := c.e.start
	// next is how long until either limit could be reached.
	next := func() time.Duration {
		d := time.Duration(1<<63 - 1)
		if maxAge > 0 {
			d = time.Until(start.Add(maxAge))
		}
		if idle > 0 {
			d = min(d, time.Until(time.Unix(0, c.e.lastReq.Load()).Add(idle)))
		}
		return d
	}
	timerLoop(ctx, wg, max(next(), time.Nanosecond), func() time.Duration {
		if d := next(); d > 0 {
			return d
		}
		if ctx.Err() != nil {
			return 0
		}
		code, why := CloseIdle, fmt.Sprintf("no request for %v", idle)
		if maxAge > 0 && time.Since(start) >= maxAge {
			code, why = CloseMaxAge, fmt.Sprintf("sessions here last at most %v", maxAge)
		}
		c.log.Info("closing the session", "why", why)
		c.endSession(code, "the session ended: "+why, why)
		return 0
	})
}

func (c *conn) hello(ctx context.Context, withKey, resumed bool) error {
	lim := c.sess.Limits()
	first, next := c.sess.Log().Bounds()
	hello := Hello{Type: "hello", Protocol: Protocol, Session: c.sess.ID(), Mode: c.h.opts.Mode,
		Services: c.h.opts.Services, Limits: HelloLimit{MaxSockets: lim.MaxSockets, MaxSend: lim.MaxSend,
			SendQueue: lim.SendQueue, MaxMessage: c.h.opts.MaxMessage},
		Role: c.role, Resumed: resumed, GraceMS: c.h.opts.Grace.Milliseconds(), First: first, Next: next}
	if withKey {
		hello.Key = c.e.key
	}
	if hello.Services == nil {
		hello.Services = []Service{}
	}
	if hello.Mode != "hosted" {
		hello.Interfaces = session.Interfaces() // protocol.md §16.5; hosted mode tells strangers nothing of its network
	}
	return c.writeMsg(ctx, hello)
}

func isNormal(err error) bool {
	s := websocket.CloseStatus(err)
	return err == nil || s == websocket.StatusNormalClosure || s == websocket.StatusGoingAway ||
		errors.Is(err, context.Canceled) || errors.Is(err, session.ErrLogClosed)
}

// msgBufs holds the buffers requests are read into. They are shared by all
// connections, so an idle session holds none; a buffer that grew past
// maxPooledBuf (a rare huge message) is left to the garbage collector.
var msgBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

const maxPooledBuf = 1 << 20

// readLoop is the connection's only reader: one message, one request.
func (c *conn) readLoop(ctx context.Context) error {
	max := int64(c.h.opts.MaxMessage)
	bucket := newBucket(c.h.opts.MessageRate)
	for {
		// An owner that sends faster than it reads events is paused here,
		// so the log never outgrows the window.
		if c.role == roleOwner {
			if err := c.sess.Log().WaitRoom(ctx); err != nil {
				return err
			}
		}
		typ, r, err := c.ws.Reader(ctx)
		if err != nil {
			return err
		}
		if c.role == roleOwner {
			c.e.lastReq.Store(time.Now().UnixNano())
		}
		buf := msgBufs.Get().(*bytes.Buffer)
		buf.Reset()
		n, err := buf.ReadFrom(io.LimitReader(r, max+1))
		switch {
		case err != nil:
		case n > max:
			var rest int64
			rest, err = io.Copy(io.Discard, io.LimitReader(r, c.h.opts.DiscardLimit-n+1))
			if err == nil && n+rest > c.h.opts.DiscardLimit {
				c.ws.Close(websocket.StatusMessageTooBig, fmt.Sprintf("a message over %d bytes", c.h.opts.DiscardLimit))
				err = errTooBig
			} else if err == nil {
				c.reject(ctx, session.Req{}, "", 0, session.Errorf(session.CodeTooLarge,
					"message too large: the most one message may be is %d bytes; it was discarded", max))
			}
		case !bucket.take():
			c.reject(ctx, session.Req{}, "", 0, session.Errorf(session.CodeLimit,
				"too many requests: at most %g per second; this one was not carried out", c.h.opts.MessageRate))
		default:
			c.handle(ctx, typ == websocket.MessageBinary, buf.Bytes())
		}
		if buf.Cap() <= maxPooledBuf {
			msgBufs.Put(buf)
		}
		if err != nil {
			return err
		}
	}
}

// handle decodes one message and starts the operation it asks for.
func (c *conn) handle(ctx context.Context, binaryMsg bool, msg []byte) {
	r, rerr := Decode(binaryMsg, msg)
	if rerr != nil {
		c.reject(ctx, session.Req{ID: rerr.ID}, rerr.Op, rerr.Sock, rerr.Err)
		return
	}
	req := session.Req{ID: r.ID, Origin: c.id}
	if c.role != roleOwner {
		c.reject(ctx, req, r.Op, r.Sock, session.Errorf(session.CodeReadOnly,
			"this connection watches the session: it cannot change it (%s was not carried out)", r.Op))
		return
	}
	s := c.sess
	switch r.Op {
	case "connect":
		if r.Sock != 0 {
			s.StepConnect(req, r.Sock, session.ConnectArgs{Host: r.Host, Port: r.Port})
			return
		}
		s.Connect(req, session.ConnectArgs{Host: r.Host, Port: r.Port, Family: r.Family, Timeout: r.Timeout, TLS: r.TLS})
	case "listen":
		if r.Sock != 0 {
			s.StepListen(req, r.Sock, r.Backlog)
			return
		}
		s.Listen(req, session.ListenArgs{Host: r.Host, Port: r.Port, Family: r.Family})
	case "bind":
		if r.Sock != 0 {
			s.StepBind(req, r.Sock, session.ListenArgs{Host: r.Host, Port: r.Port})
			return
		}
		s.Bind(req, session.ListenArgs{Host: r.Host, Port: r.Port, Family: r.Family})
	case "socket":
		s.Socket(req, session.SocketArgs{Proto: r.Proto, Family: r.Family})
	case "setsockopt":
		if r.Option == "IP_MULTICAST_IF" {
			s.SetMulticastIf(req, r.Sock, r.Iface)
			return
		}
		s.SetSockOpt(req, r.Sock, r.Option, r.Value)
	case "settimeout":
		var t *time.Duration
		if r.HasTimeout {
			t = &r.Timeout
		}
		s.SetTimeout(req, r.Sock, t)
	case "accept":
		s.Accept(req, r.Sock)
	case "recv":
		s.Recv(req, r.Sock, r.N)
	case "recvfrom":
		s.RecvFrom(req, r.Sock, r.N)
	case "cancel":
		s.Cancel(req, r.Sock)
	case "step":
		s.Step(req, r.Sock)
	case "send":
		if r.Template != nil {
			s.SendTemplate(req, r.Sock, r.Template)
			return
		}
		s.Send(req, r.Sock, r.Data)
	case "sendto":
		a := session.SendToArgs{Host: r.Host, Port: r.Port, Family: r.Family, Data: r.Data}
		if r.Template != nil {
			s.SendToTemplate(req, r.Sock, a, r.Template)
			return
		}
		s.SendTo(req, r.Sock, a)
	case "repeat":
		t := r.Template
		if t == nil {
			t = session.Literal(r.Data)
		}
		s.Repeat(req, r.Sock, session.RepeatArgs{Data: t, Count: r.Count, Interval: r.Interval,
			Host: r.Host, Port: r.Port, Family: r.Family})
	case "stop":
		s.Stop(req, r.Sock)
	case "respond":
		s.Respond(req, r.Sock, r.Rule)
	case "unrespond":
		s.Unrespond(req, r.Sock, r.RuleNum)
	case "join", "leave":
		s.JoinGroup(req, r.Op, r.Sock, session.GroupArgs{Group: r.Group, Iface: r.Iface})
	case "shutdown":
		s.Shutdown(req, r.Sock, r.How)
	case "close":
		s.CloseSocket(req, r.Sock, r.Now)
	case "proxy":
		s.Proxy(req, session.ProxyArgs{Proto: r.Proto, Host: r.Host, Port: r.Port, Family: r.Family,
			TargetHost: r.TargetHost, TargetPort: r.TargetPort, Knobs: r.Knobs})
	case "proxy_set":
		s.ProxySet(req, r.Sock, r.Knobs)
	case "proxy_reset":
		s.ProxyReset(req, r.Sock)
	case "lesson":
		s.StartLesson(req, r.Lesson)
	case "answer":
		s.Answer(req, r.Lesson, r.Step, r.Answer)
	case "share":
		if err := c.e.share(r.Expires); err != nil {
			s.Reject(req, r.Op, 0, err)
			return
		}
		c.writeMsg(ctx, c.e.shares(r.ID))
	case "unshare":
		if err := c.e.unshare(r.Link); err != nil {
			s.Reject(req, r.Op, 0, err)
			return
		}
		c.writeMsg(ctx, c.e.shares(r.ID))
	case "shares":
		c.writeMsg(ctx, c.e.shares(r.ID))
	case "end":
		c.endSession(websocket.StatusNormalClosure, "the session ended", "ended by its owner")
	}
}

// ErrorMsg is an error sent to one connection alone, not logged: a
// watcher's refused request (docs/protocol.md §15.5).
type ErrorMsg struct {
	Type    string       `json:"type"` // "error"
	ID      string       `json:"id,omitempty"`
	Op      string       `json:"op,omitempty"`
	Sock    int          `json:"sock,omitempty"`
	Code    session.Code `json:"code"`
	Message string       `json:"message"`
}

// reject answers a request that is not carried out: in the session's log
// for its owner, to the connection alone for a watcher, who must not be
// able to write in the owner's log.
func (c *conn) reject(ctx context.Context, req session.Req, op string, sock int, err *session.Error) {
	if c.role == roleOwner {
		req.Origin = c.id
		c.sess.Reject(req, op, sock, err)
		return
	}
	c.writeMsg(ctx, ErrorMsg{Type: "error", ID: req.ID, Op: op, Sock: sock, Code: err.Code, Message: err.Message})
}

// writeLoop sends the session's events in order from seq from. For the
// owner it also runs the lesson tracker and tells the log what was
// delivered, which is what lets socket readers go on; a watcher reads at
// its own pace and never holds the owner back (§15.5).
func (c *conn) writeLoop(ctx context.Context, from uint64) error {
	log := c.sess.Log()
	batch := make([]*session.Event, 64)
	if c.role == roleWatcher {
		batch = make([]*session.Event, 512)
	}
	_, next := log.Bounds()
	next = min(max(from, 1), next)
	if c.role == roleOwner && next > 1 {
		// The owner has the events before next (it says so): they no
		// longer hold the window, even if no new event comes to say so.
		log.Delivered(next - 1)
	}
	buf := encBufs.Get().(*bytes.Buffer)
	defer encBufs.Put(buf)
	for {
		evs, err := log.Next(ctx, next, batch)
		if errors.Is(err, session.ErrTrimmed) {
			if next, evs, err = c.resync(ctx, batch); err != nil {
				return err
			}
			if len(evs) == 0 {
				continue
			}
		} else if err != nil {
			return err
		}
		// Only the owner connection delivers and checks lessons: one that
		// was taken over goes on writing until its close is done.
		owner := c.role == roleOwner && c.e.isOwner(c)
		if owner {
			// Before writing: a batch a drop cuts short is checked all the
			// same, and a resume past it does not skip a lesson's step.
			c.e.observe(evs)
		}
		if err := c.writeBatch(ctx, evs, buf); err != nil {
			return err
		}
		next = evs[len(evs)-1].Seq + 1
		if owner {
			log.Delivered(next - 1)
		} else if c.role == roleWatcher {
			if err := pause(ctx, watchPace); err != nil {
				// A watcher takes what came meanwhile in one go: it leaves
				// the machine to the owner first (§15.5).
				return err
			}
		}
		if buf.Cap() > maxPooledBuf {
			buf = new(bytes.Buffer) // do not keep a rare huge event's buffer
		}
	}
}

// resync sends the state the events no longer kept left the sockets in
// (§15.3), and returns the first event that is kept and up to len(dst)
// events from it on, to send next: taken with the state, so that none is
// trimmed in between and the sync is followed by its first event.
func (c *conn) resync(ctx context.Context, dst []*session.Event) (uint64, []*session.Event, error) {
	first, socks, evs := c.sess.Log().Base(dst)
	return first, evs, c.writeMsg(ctx, Sync{Type: "sync", First: first, Sockets: socks})
}

// watchPace is the least time between two batches of events to a watcher.
// Watchers are people looking at a page: a few milliseconds are nothing to
// them, and batching what comes meanwhile leaves the owner's events to go
// out first on a busy machine.
const watchPace = 5 * time.Millisecond

// pause waits d, or until ctx is done.
func pause(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Sync is the state of the session's sockets before the first event a
// connection is sent, when the events it asked for are no longer kept.
type Sync struct {
	Type    string              `json:"type"` // "sync"
	First   uint64              `json:"first"`
	Sockets []session.SockState `json:"sockets"`
}

// writeBatch writes evs within WriteTimeout: a browser that stops reading
// is dropped then, rather than holding its session's sockets for ever.
func (c *conn) writeBatch(ctx context.Context, evs []*session.Event, buf *bytes.Buffer) error {
	ctx, cancel := context.WithTimeout(ctx, c.h.opts.WriteTimeout)
	defer cancel()
	c.wmu.Lock()
	defer c.wmu.Unlock()
	for _, e := range evs {
		var msg []byte
		var bin bool
		if c.role == roleOwner {
			buf.Reset()
			var err error
			if bin, err = encode(buf, e, c.id); err != nil {
				return err
			}
			msg = buf.Bytes()
		} else {
			var err error
			if bin, msg, err = c.e.wire.get(e, buf); err != nil {
				return err
			}
		}
		typ := websocket.MessageText
		if bin {
			typ = websocket.MessageBinary
		}
		if err := c.ws.Write(ctx, typ, msg); err != nil {
			if errors.Is(err, context.DeadlineExceeded) {
				c.log.Info("the client stopped reading: dropping the connection", "timeout", c.h.opts.WriteTimeout)
			}
			return err
		}
	}
	return nil
}
