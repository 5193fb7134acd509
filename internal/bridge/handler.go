package bridge

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

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
	// Grace is how long a session waits for its owner to come back after
	// the owner's WebSocket goes (docs/protocol.md §15.2). Zero means
	// DefaultGrace.
	Grace time.Duration
	// MaxWatchers is the most watchers one session may have at once. Zero
	// means DefaultMaxWatchers.
	MaxWatchers int
}

// DefaultMaxMessage leaves room for a 1 MiB payload spelled in hex.
const DefaultMaxMessage = 3 << 20

// Liveness defaults.
const (
	DefaultPingInterval = 30 * time.Second
	DefaultPingTimeout  = 30 * time.Second
	DefaultWriteTimeout = 30 * time.Second
)

// Sharing defaults (docs/protocol.md §15).
const (
	DefaultGrace       = 2 * time.Minute
	DefaultMaxWatchers = 100
)

// Close codes the server ends a connection with, besides the standard ones
// (docs/protocol.md §10 and §15). The close reason says why in words.
const (
	CloseIdle      websocket.StatusCode = 4000 // no request for IdleTimeout
	CloseMaxAge    websocket.StatusCode = 4001 // the session reached MaxAge
	CloseEnded     websocket.StatusCode = 4002 // the session ended, or there is no such session
	CloseTakenOver websocket.StatusCode = 4003 // another owner connection took the session over
	CloseLink      websocket.StatusCode = 4004 // the watch link expired, was revoked, or is unknown
)

// Handler serves the protocol on WebSocket upgrades. A connection without
// a session in its query starts a new session and is its owner; the session
// outlives the connection by the grace period, so its owner can come back,
// and watchers can follow it through share links (docs/protocol.md §15).
type Handler struct {
	opts   Options
	base   context.Context // the server's lifetime; cancelling it ends every session
	nextID atomic.Uint64

	mu       sync.Mutex // guards closed, wg.Add, sessions, links and tombs; taken after an entry's mu, never before
	closed   bool
	wg       sync.WaitGroup    // every connection, and every session until it ends
	sessions map[string]*entry // live sessions by id
	links    map[string]*link  // watch links by secret, until their session ends
	tombs    tombs             // why sessions and links that are gone went
}

// Read returns the live session with the given id if key is its owner key
// or the secret of one of its watch links that is valid now: the reads of
// docs/protocol.md §15.6 (the log, the capture, the code) are allowed to
// whoever may watch the session.
func (h *Handler) Read(id, key string) (*session.Session, bool) {
	h.mu.Lock()
	e := h.sessions[id]
	l := h.links[key]
	h.mu.Unlock()
	if e == nil || key == "" {
		return nil, false
	}
	if same(key, e.key) {
		return e.sess, true
	}
	if l == nil || l.e != e {
		return nil, false
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if why := l.closedWhy(time.Now()); why != "" || e.ended {
		return nil, false
	}
	return e.sess, true
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
	if opts.Grace <= 0 {
		opts.Grace = DefaultGrace
	}
	if opts.MaxWatchers <= 0 {
		opts.MaxWatchers = DefaultMaxWatchers
	}
	return &Handler{opts: opts, base: base, sessions: map[string]*entry{}, links: map[string]*link{}}
}

// Wait stops new sessions and waits until every session has ended. Cancel
// the base context first, or Wait waits for every client to leave and
// every grace period to pass.
func (h *Handler) Wait() {
	h.mu.Lock()
	h.closed = true
	h.mu.Unlock()
	h.wg.Wait()
}

// The kinds of connection a WebSocket's query asks for (§15.1).
const (
	KindNew    = "new"
	KindResume = "resume"
	KindWatch  = "watch"
)

// Kind says which kind of connection an upgrade with query q asks for.
func Kind(q url.Values) string {
	switch {
	case q.Has("watch"):
		return KindWatch
	case q.Has("session"):
		return KindResume
	}
	return KindNew
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// A new session's admission, given back when the session ends (or now,
	// if none starts).
	release := admission(r.Context())
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		release()
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
		release()
		h.opts.Logger.Info("websocket upgrade refused", "err", err, "remote", r.RemoteAddr)
		return // Accept has written the HTTP error.
	}
	if c.Subprotocol() != Subprotocol {
		release()
		c.Close(websocket.StatusPolicyViolation, "offer the WebSocket subprotocol "+Subprotocol)
		return
	}
	// The bridge enforces its own message limit so an oversized message is
	// an error event, not a closed connection.
	c.SetReadLimit(-1)

	client, _ := r.Context().Value(clientKey{}).(string)
	if client == "" {
		client = r.RemoteAddr
	}
	q := r.URL.Query()
	from, _ := strconv.ParseUint(q.Get("from"), 10, 64)
	switch Kind(q) {
	case KindWatch:
		release()
		h.watch(c, q.Get("watch"), from, client)
	case KindResume:
		release()
		h.resume(c, q.Get("session"), q.Get("key"), from, client)
	default:
		h.start(c, release, client)
	}
}

// start serves a new session's first owner connection.
func (h *Handler) start(ws *websocket.Conn, release func(), client string) {
	sopts := h.opts.Session
	sopts.ID = newID()
	sopts.Logger = h.opts.Logger
	sopts.Metrics = h.opts.Metrics
	e := h.newEntry(session.New(sopts), release)
	e.log.Info("session started", "client", client)
	c := e.newConn(ws, roleOwner)
	e.attach(c)
	err := c.run(1, false)
	e.detach(c, err)
}

// resume serves an owner coming back to its session (§15.2).
func (h *Handler) resume(ws *websocket.Conn, id, key string, from uint64, client string) {
	h.mu.Lock()
	e := h.sessions[id]
	why := h.tombs.why("s:"+id, key)
	h.mu.Unlock()
	if e == nil || !same(key, e.key) {
		if why == "" {
			why = "no such session here"
		}
		ws.Close(CloseEnded, why)
		return
	}
	c := e.newConn(ws, roleOwner)
	old, why := e.attach(c)
	if why != "" {
		ws.Close(CloseEnded, why)
		return
	}
	if old != nil {
		old.kick(CloseTakenOver, "another page took over this session")
	}
	e.log.Info("owner back", "client", client, "from", from)
	err := c.run(from, true)
	e.detach(c, err)
}

// watch serves a watcher that came through a watch link (§15.5).
func (h *Handler) watch(ws *websocket.Conn, secret string, from uint64, client string) {
	h.mu.Lock()
	l := h.links[secret]
	why := h.tombs.why("w:"+secret, "")
	h.mu.Unlock()
	if l == nil {
		// A link is remembered as gone only when its session ended.
		if why == "" {
			ws.Close(CloseLink, "no such watch link")
		} else {
			ws.Close(CloseEnded, why)
		}
		return
	}
	e := l.e
	c := e.newConn(ws, roleWatcher)
	c.link = l
	if code, why := e.addWatcher(c); why != "" {
		ws.Close(code, why)
		return
	}
	e.log.Info("watcher joined", "client", client, "link", l.id)
	err := c.run(from, false)
	e.removeWatcher(c)
	e.log.Info("watcher left", "link", l.id, "reason", err)
}

type admissionKey struct{}

// WithAdmission hands the bridge the function that gives back a new
// session's admission (the server's count of sessions per address): the
// bridge calls it once, when the session ends, or at once if the request
// starts no session.
func WithAdmission(ctx context.Context, release func()) context.Context {
	return context.WithValue(ctx, admissionKey{}, release)
}

func admission(ctx context.Context) func() {
	if f, ok := ctx.Value(admissionKey{}).(func()); ok && f != nil {
		return sync.OnceFunc(f)
	}
	return func() {}
}

type clientKey struct{}

// WithClient records in ctx whom a request is from (the person's address,
// as the server worked it out behind its proxies), for the session's log.
func WithClient(ctx context.Context, client string) context.Context {
	return context.WithValue(ctx, clientKey{}, client)
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
