package bridge

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/socketplayground/playground/internal/learn"
	"github.com/socketplayground/playground/internal/metrics"
	"github.com/socketplayground/playground/internal/session"
)

var errTooBig = errors.New("a message over the discard limit: closed with 1009")

// Options configure a Handler.
type Options struct {
	// Mode is announced to clients ("local" or "hosted").
	Mode string
	// Session is the template for every new session; ID and Logger are
	// filled in per session.
	Session session.Options
	// MaxMessage is the largest WebSocket message read, in bytes. A larger
	// one is discarded and answered with a "too_large" error event; the
	// session carries on. Zero means DefaultMaxMessage.
	MaxMessage int
	// Services are announced to every new session.
	Services []Service
	// Logger receives diagnostics. Nil discards them.
	Logger *slog.Logger
	// PingInterval is how often the server pings each client, and
	// PingTimeout how long it waits for the pong before it drops the
	// connection (and with it the session and its sockets): a browser that
	// vanished without closing, or stopped reading, does not hold sockets
	// for ever. Zero means DefaultPingInterval and DefaultPingTimeout; a
	// negative interval turns pings off.
	PingInterval, PingTimeout time.Duration
	// WriteTimeout bounds how long a batch of events may take to reach the
	// browser: one that stops reading is dropped after it, and its session
	// ends. Zero means DefaultWriteTimeout.
	WriteTimeout time.Duration
	// IdleTimeout ends a session whose client sent no request for that long
	// (close code CloseIdle). Zero means never.
	IdleTimeout time.Duration
	// MaxAge ends a session that long after it started (close code
	// CloseMaxAge). Zero means never.
	MaxAge time.Duration
	// MessageRate is how many requests per second one connection may send,
	// with a burst of twice that (at least 10); a request beyond it is
	// refused with a "limit" error event and not carried out. Zero means
	// no limit.
	MessageRate float64
	// DiscardLimit is the largest message the bridge reads and discards
	// with a "too_large" error event; a larger one closes the connection
	// with 1009 (message too big), as reading it would cost the server
	// that much. Zero means four times MaxMessage.
	DiscardLimit int64
	// OriginChecked says the caller has already checked the request's
	// Origin (the server does, with its own rules); otherwise the
	// WebSocket library allows only pages from the request's own host.
	OriginChecked bool
	// Metrics counts sessions and their queues. Nil counts nothing.
	Metrics *metrics.Metrics
}

// DefaultMaxMessage leaves room for a 1 MiB payload spelled in hex.
const DefaultMaxMessage = 3 << 20

// Liveness defaults.
const (
	DefaultPingInterval = 30 * time.Second
	DefaultPingTimeout  = 30 * time.Second
	DefaultWriteTimeout = 30 * time.Second
)

// Close codes the server ends a session with, besides the standard ones
// (docs/protocol.md §10). The close reason says the limit in words.
const (
	CloseIdle   websocket.StatusCode = 4000 // no request for IdleTimeout
	CloseMaxAge websocket.StatusCode = 4001 // the session reached MaxAge
)

// Handler serves the protocol on WebSocket upgrades: each connection gets a
// new session that lives as long as the connection.
type Handler struct {
	opts   Options
	base   context.Context // the server's lifetime; cancelling it ends every session
	nextID atomic.Uint64

	mu       sync.Mutex // guards closed, wg.Add and sessions
	closed   bool
	wg       sync.WaitGroup
	sessions map[string]*session.Session // live sessions by id
}

// Session returns the live session with the given id, if there is one.
// A session's id is an unguessable 128-bit secret its page learns from the
// hello message: knowing it is what lets a request read the session.
func (h *Handler) Session(id string) (*session.Session, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	s, ok := h.sessions[id]
	return s, ok
}

// NewHandler returns a Handler whose sessions end when base is cancelled.
func NewHandler(base context.Context, opts Options) *Handler {
	if opts.MaxMessage <= 0 {
		opts.MaxMessage = DefaultMaxMessage
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Mode == "" {
		opts.Mode = "local"
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = DefaultWriteTimeout
	}
	if opts.DiscardLimit <= 0 {
		opts.DiscardLimit = 4 * int64(opts.MaxMessage)
	}
	return &Handler{opts: opts, base: base}
}

// Wait stops new sessions and waits until every session has ended. Cancel
// the base context first, or Wait waits for every client to leave.
func (h *Handler) Wait() {
	h.mu.Lock()
	h.closed = true
	h.mu.Unlock()
	h.wg.Wait()
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		http.Error(w, "the server is shutting down", http.StatusServiceUnavailable)
		return
	}
	h.wg.Add(1)
	h.mu.Unlock()
	defer h.wg.Done()

	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{
		Subprotocols:       []string{Subprotocol},
		InsecureSkipVerify: h.opts.OriginChecked,
	})
	if err != nil {
		h.opts.Logger.Info("websocket upgrade refused", "err", err, "remote", r.RemoteAddr)
		return // Accept has written the HTTP error.
	}
	if c.Subprotocol() != Subprotocol {
		c.Close(websocket.StatusPolicyViolation, "offer the WebSocket subprotocol "+Subprotocol)
		return
	}
	// The bridge enforces its own message limit so an oversized message is
	// an error event, not a closed connection.
	c.SetReadLimit(-1)

	sopts := h.opts.Session
	sopts.ID = newID()
	sopts.Logger = h.opts.Logger
	sopts.Metrics = h.opts.Metrics
	sess := session.New(sopts)
	log := h.opts.Logger.With("session", sess.ID())
	client, _ := r.Context().Value(clientKey{}).(string)
	if client == "" {
		client = r.RemoteAddr
	}
	log.Info("session started", "client", client)

	cn := &conn{h: h, ws: c, sess: sess, id: h.nextID.Add(1), log: log}
	h.opts.Metrics.SessionStarted(cn, sess.Log().Pending)
	h.mu.Lock()
	if h.sessions == nil {
		h.sessions = map[string]*session.Session{}
	}
	h.sessions[sess.ID()] = sess
	h.mu.Unlock()
	err = cn.run()
	h.mu.Lock()
	delete(h.sessions, sess.ID())
	h.mu.Unlock()
	h.opts.Metrics.SessionEnded(cn)
	log.Info("session ended", "reason", err)
}

type clientKey struct{}

// WithClient records in ctx whom a request is from (the person's address,
// as the server worked it out behind its proxies), for the session's log.
func WithClient(ctx context.Context, client string) context.Context {
	return context.WithValue(ctx, clientKey{}, client)
}

// conn is one WebSocket connection and the session it drives.
type conn struct {
	h    *Handler
	ws   *websocket.Conn
	sess *session.Session
	id   uint64 // the Origin of events this connection's requests cause
	log  *slog.Logger

	lastReq atomic.Int64 // when the client last sent a request, Unix ns
}

// run serves the connection until the client leaves or the server stops.
func (c *conn) run() error {
	// The connection's own lifetime: the server stopping closes the
	// WebSocket with "going away" instead, so the client is told why.
	ctx, cancel := context.WithCancel(context.WithoutCancel(c.h.base))
	defer cancel()
	goingAway := make(chan struct{})
	stop := context.AfterFunc(c.h.base, func() {
		defer close(goingAway)
		c.ws.Close(websocket.StatusGoingAway, "the server is shutting down")
	})
	defer func() {
		if !stop() {
			<-goingAway
		}
	}()

	if err := c.hello(ctx); err != nil {
		c.sess.Close()
		c.ws.CloseNow()
		return err
	}
	writeErr := make(chan error, 1)
	go func() {
		err := c.writeLoop(ctx)
		cancel() // a dead writer ends the reader too
		writeErr <- err
	}()
	pinged := make(chan struct{})
	go func() {
		defer close(pinged)
		c.pingLoop(ctx)
	}()
	aged := make(chan struct{})
	go func() {
		defer close(aged)
		c.lifeLoop(ctx)
	}()
	err := c.readLoop(ctx)
	cancel()
	c.sess.Close() // closes every socket and waits for its goroutines
	<-pinged
	<-aged
	werr := <-writeErr
	c.ws.CloseNow()
	if isNormal(err) {
		err = werr
	}
	if isNormal(err) {
		return nil
	}
	return err
}

// pingLoop pings the client every PingInterval and drops the connection
// when a pong does not come back within PingTimeout. The pong is read by
// readLoop, which pauses while the client leaves events unread (§9 of the
// protocol): a client that reads nothing for PingTimeout is dropped too.
func (c *conn) pingLoop(ctx context.Context) {
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
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		pctx, cancel := context.WithTimeout(ctx, wait)
		err := c.ws.Ping(pctx)
		cancel()
		if err != nil {
			if ctx.Err() == nil {
				c.log.Info("no pong from the client: dropping the connection", "err", err, "timeout", wait)
				c.ws.CloseNow()
			}
			return
		}
	}
}

// lifeLoop ends the session when its client has sent no request for
// IdleTimeout, or when it reaches MaxAge, closing the WebSocket with a code
// and a reason that say which.
func (c *conn) lifeLoop(ctx context.Context) {
	idle, maxAge := c.h.opts.IdleTimeout, c.h.opts.MaxAge
	if idle <= 0 && maxAge <= 0 {
		return
	}
	start := time.Now()
	c.lastReq.Store(start.UnixNano())
	for {
		// The next moment either limit could be reached.
		next := time.Duration(1<<63 - 1)
		if maxAge > 0 {
			next = time.Until(start.Add(maxAge))
		}
		if idle > 0 {
			next = min(next, time.Until(time.Unix(0, c.lastReq.Load()).Add(idle)))
		}
		if next > 0 {
			t := time.NewTimer(next)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			continue
		}
		code, why := CloseIdle, fmt.Sprintf("the session ended: no request for %v", idle)
		if maxAge > 0 && time.Since(start) >= maxAge {
			code, why = CloseMaxAge, fmt.Sprintf("the session ended: sessions here last at most %v", maxAge)
		}
		c.log.Info("closing the session", "why", why)
		c.ws.Close(code, why)
		return
	}
}

func (c *conn) hello(ctx context.Context) error {
	lim := c.sess.Limits()
	hello := Hello{Type: "hello", Protocol: Protocol, Session: c.sess.ID(), Mode: c.h.opts.Mode,
		Services: c.h.opts.Services, Limits: HelloLimit{MaxSockets: lim.MaxSockets, MaxSend: lim.MaxSend,
			SendQueue: lim.SendQueue, MaxMessage: c.h.opts.MaxMessage}}
	if hello.Services == nil {
		hello.Services = []Service{}
	}
	var buf bytes.Buffer
	if err := encodeJSON(&buf, hello); err != nil {
		return err
	}
	return c.ws.Write(ctx, websocket.MessageText, buf.Bytes())
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
		// A client that sends faster than it reads events is paused here,
		// so the log never outgrows the window.
		if err := c.sess.Log().WaitRoom(ctx); err != nil {
			return err
		}
		typ, r, err := c.ws.Reader(ctx)
		if err != nil {
			return err
		}
		c.lastReq.Store(time.Now().UnixNano())
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
				c.sess.Reject(session.Req{Origin: c.id}, "", 0, session.Errorf(session.CodeTooLarge,
					"message too large: the most one message may be is %d bytes; it was discarded", max))
			}
		case !bucket.take():
			c.sess.Reject(session.Req{Origin: c.id}, "", 0, session.Errorf(session.CodeLimit,
				"too many requests: at most %g per second; this one was not carried out", c.h.opts.MessageRate))
		default:
			c.handle(typ == websocket.MessageBinary, buf.Bytes())
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
func (c *conn) handle(binaryMsg bool, msg []byte) {
	r, rerr := Decode(binaryMsg, msg)
	if rerr != nil {
		c.sess.Reject(session.Req{ID: rerr.ID, Origin: c.id}, rerr.Op, rerr.Sock, rerr.Err)
		return
	}
	req := session.Req{ID: r.ID, Origin: c.id}
	s := c.sess
	switch r.Op {
	case "connect":
		if r.Sock != 0 {
			s.StepConnect(req, r.Sock, session.ConnectArgs{Host: r.Host, Port: r.Port})
			return
		}
		s.Connect(req, session.ConnectArgs{Host: r.Host, Port: r.Port, Family: r.Family, Timeout: r.Timeout})
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
		s.Send(req, r.Sock, r.Data)
	case "sendto":
		s.SendTo(req, r.Sock, session.SendToArgs{Host: r.Host, Port: r.Port, Family: r.Family, Data: r.Data})
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
	}
}

// writeLoop sends the session's events in order and tells the log what was
// delivered, which is what lets socket readers go on.
func (c *conn) writeLoop(ctx context.Context) error {
	log := c.sess.Log()
	batch := make([]*session.Event, 64)
	next, _ := log.Bounds()
	// The lesson tracker runs the current lesson's check on the events as
	// they go out, and records its progress in the log (learn.Tracker).
	lessons := learn.NewTracker(func(before uint64) []*session.Event {
		evs := log.Snapshot(0)
		n := 0
		for n < len(evs) && evs[n].Seq < before {
			n++
		}
		return evs[:n]
	})
	buf := encBufs.Get().(*bytes.Buffer)
	defer encBufs.Put(buf)
	for {
		evs, err := log.Next(ctx, next, batch)
		if err != nil {
			return err
		}
		if err := c.writeBatch(ctx, evs, buf); err != nil {
			return err
		}
		next = evs[len(evs)-1].Seq + 1
		if p := lessons.Observe(evs); p != nil {
			c.sess.LessonProgress(p)
		}
		log.Delivered(next - 1)
		if buf.Cap() > maxPooledBuf {
			buf = new(bytes.Buffer) // do not keep a rare huge event's buffer
		}
	}
}

// writeBatch writes evs within WriteTimeout: a browser that stops reading
// is dropped then, rather than holding its session's sockets for ever.
func (c *conn) writeBatch(ctx context.Context, evs []*session.Event, buf *bytes.Buffer) error {
	ctx, cancel := context.WithTimeout(ctx, c.h.opts.WriteTimeout)
	defer cancel()
	for _, e := range evs {
		buf.Reset()
		bin, err := encode(buf, e, c.id)
		if err != nil {
			return err
		}
		typ := websocket.MessageText
		if bin {
			typ = websocket.MessageBinary
		}
		if err := c.ws.Write(ctx, typ, buf.Bytes()); err != nil {
			if errors.Is(err, context.DeadlineExceeded) {
				c.log.Info("the client stopped reading: dropping the connection", "timeout", c.h.opts.WriteTimeout)
			}
			return err
		}
	}
	return nil
}

// newID returns an unguessable session id (128 bits).
func newID() string {
	var b [16]byte
	rand.Read(b[:])
	return base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:])
}

// bucket is a token bucket for requests: rate per second, a burst of twice
// that (at least 10). A zero rate never refuses. Only readLoop uses it.
type bucket struct {
	rate, burst, tokens float64
	last                time.Time
}

func newBucket(rate float64) *bucket {
	burst := max(2*rate, 10)
	return &bucket{rate: rate, burst: burst, tokens: burst, last: time.Now()}
}

// take reports whether a request may go now, and counts it.
func (b *bucket) take() bool {
	if b.rate <= 0 {
		return true
	}
	now := time.Now()
	b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
