package bridge

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/socketplayground/playground/internal/session"
)

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
	// OriginPatterns authorise cross-origin pages (see websocket.AcceptOptions).
	// Empty means only pages served from the request's own host.
	// Never use "*": any web page could then drive the person's sockets.
	OriginPatterns []string
	// Logger receives diagnostics. Nil discards them.
	Logger *slog.Logger
	// PingInterval is how often the server pings each client, and
	// PingTimeout how long it waits for the pong before it drops the
	// connection (and with it the session and its sockets): a browser that
	// vanished without closing, or stopped reading, does not hold sockets
	// for ever. Zero means DefaultPingInterval and DefaultPingTimeout; a
	// negative interval turns pings off.
	PingInterval, PingTimeout time.Duration
}

// DefaultMaxMessage leaves room for a 1 MiB payload spelled in hex.
const DefaultMaxMessage = 3 << 20

// Liveness defaults.
const (
	DefaultPingInterval = 30 * time.Second
	DefaultPingTimeout  = 30 * time.Second
)

// Handler serves the protocol on WebSocket upgrades: each connection gets a
// new session that lives as long as the connection.
type Handler struct {
	opts   Options
	base   context.Context // the server's lifetime; cancelling it ends every session
	nextID atomic.Uint64

	mu     sync.Mutex // guards closed and wg.Add
	closed bool
	wg     sync.WaitGroup
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
		Subprotocols:   []string{Subprotocol},
		OriginPatterns: h.opts.OriginPatterns,
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
	sess := session.New(sopts)
	log := h.opts.Logger.With("session", sess.ID())
	log.Info("session started", "remote", r.RemoteAddr)

	cn := &conn{h: h, ws: c, sess: sess, id: h.nextID.Add(1), log: log}
	err = cn.run()
	log.Info("session ended", "reason", err)
}

// conn is one WebSocket connection and the session it drives.
type conn struct {
	h    *Handler
	ws   *websocket.Conn
	sess *session.Session
	id   uint64 // the Origin of events this connection's requests cause
	log  *slog.Logger
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
	err := c.readLoop(ctx)
	cancel()
	c.sess.Close() // closes every socket and waits for its goroutines
	<-pinged
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
		buf := msgBufs.Get().(*bytes.Buffer)
		buf.Reset()
		n, err := buf.ReadFrom(io.LimitReader(r, max+1))
		if err == nil && n > max {
			_, err = io.Copy(io.Discard, r)
			if err == nil {
				c.sess.Reject(session.Req{Origin: c.id}, "", 0, session.Errorf(session.CodeTooLarge,
					"message too large: the most one message may be is %d bytes; it was discarded", max))
			}
		} else if err == nil {
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
		s.Connect(req, session.ConnectArgs{Host: r.Host, Port: r.Port, Family: r.Family, Timeout: r.Timeout})
	case "listen":
		s.Listen(req, session.ListenArgs{Host: r.Host, Port: r.Port, Family: r.Family})
	case "bind":
		s.Bind(req, session.ListenArgs{Host: r.Host, Port: r.Port, Family: r.Family})
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
	}
}

// writeLoop sends the session's events in order and tells the log what was
// delivered, which is what lets socket readers go on.
func (c *conn) writeLoop(ctx context.Context) error {
	log := c.sess.Log()
	batch := make([]*session.Event, 64)
	next, _ := log.Bounds()
	buf := encBufs.Get().(*bytes.Buffer)
	defer encBufs.Put(buf)
	for {
		evs, err := log.Next(ctx, next, batch)
		if err != nil {
			return err
		}
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
				return err
			}
		}
		next = evs[len(evs)-1].Seq + 1
		log.Delivered(next - 1)
		if buf.Cap() > maxPooledBuf {
			buf = new(bytes.Buffer) // do not keep a rare huge event's buffer
		}
	}
}

// newID returns an unguessable session id (128 bits).
func newID() string {
	var b [16]byte
	rand.Read(b[:])
	return base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:])
}
