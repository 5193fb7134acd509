package bridge

import (
	"bytes"
	"context"
	"crypto/subtle"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/socketplayground/playground/internal/learn"
	"github.com/socketplayground/playground/internal/session"
)

// Sharing limits (docs/protocol.md §15.4).
const (
	// MaxLinks is the most watch links a session may have open at once.
	MaxLinks = 8
	// maxLinksEver bounds the links a session makes in its life, revoked
	// and expired ones included, since each is remembered until it ends.
	maxLinksEver = 64
	// DefaultLinkLife is how long a watch link lasts when the owner does
	// not say; MaxLinkLife is the longest it may.
	DefaultLinkLife = time.Hour
	MaxLinkLife     = 24 * time.Hour
	// tombLife is how long the server remembers why a session or a link
	// went, and maxTombs how many such reasons it keeps.
	tombLife = time.Hour
	maxTombs = 10000
)

// entry is a live session and who is connected to it: at most one owner,
// any number of watchers. It lives from the first owner connection until
// the session ends: by its owner (end), by a limit, when the owner stays
// away longer than the grace period, or when the server stops.
type entry struct {
	h       *Handler
	sess    *session.Session
	key     string // the owner key: control of the session
	start   time.Time
	release func() // gives back the session's admission
	log     *slog.Logger
	lastReq atomic.Int64 // when the owner last sent a request, Unix ns
	unbase  func() bool  // stops ending the session with the server

	// The lesson tracker sees every event once, whichever owner connection
	// delivers it (learn.Tracker).
	trackMu sync.Mutex
	tracker *learn.Tracker
	tracked uint64 // the last seq the tracker saw

	wire wireCache // events as watchers are sent them, encoded once

	mu       sync.Mutex // guards everything below
	owner    *conn
	grace    *time.Timer // running while the owner is away
	watchers map[*conn]struct{}
	links    []*link // every link made, in order
	ended    bool
	why      string // why it ended, or is ending (then no owner may attach)
}

// link is a watch link (§15.4). Its fields are guarded by its entry's mu.
type link struct {
	e        *entry
	id       string // "w1": names the link to its owner
	secret   string // lets watchers in
	expires  time.Time
	timer    *time.Timer
	revoked  bool
	watchers int
}

// closedWhy says why l lets nobody in at now, or "" if it does.
func (l *link) closedWhy(now time.Time) string {
	switch {
	case l.revoked:
		return "the owner revoked this watch link"
	case !now.Before(l.expires):
		return "this watch link expired at " + l.expires.UTC().Format("15:04:05 UTC")
	}
	return ""
}

func (h *Handler) newEntry(sess *session.Session, release func()) *entry {
	e := &entry{h: h, sess: sess, key: newID(), start: time.Now(), release: release,
		log: h.opts.Logger.With("session", sess.ID()), watchers: map[*conn]struct{}{}}
	e.lastReq.Store(e.start.UnixNano())
	log := sess.Log()
	e.tracker = learn.NewTracker(func(before uint64) []*session.Event {
		evs := log.Snapshot(0)
		n := 0
		for n < len(evs) && evs[n].Seq < before {
			n++
		}
		return evs[:n]
	})
	h.mu.Lock()
	h.sessions[sess.ID()] = e
	h.wg.Add(1) // done when the session ends
	h.mu.Unlock()
	h.opts.Metrics.SessionStarted(e, log.Pending)
	e.mu.Lock()
	e.unbase = context.AfterFunc(h.base, func() { e.end("the server is shutting down") })
	e.mu.Unlock()
	return e
}

// attach makes c the session's owner connection, and returns the one it
// replaces, if any; or why it cannot (the session ended).
func (e *entry) attach(c *conn) (old *conn, why string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ended || e.why != "" {
		return nil, "the session ended: " + e.why
	}
	if e.grace != nil {
		e.grace.Stop()
		e.grace = nil
	}
	old, e.owner = e.owner, c
	return old, ""
}

// detach is called when owner connection c has ended with err: unless it
// ended the session on purpose, or the server is stopping, the session
// waits the grace period for its owner to come back.
func (e *entry) detach(c *conn, err error) {
	final, why := c.final()
	e.mu.Lock()
	if e.owner != c {
		e.mu.Unlock()
		if final {
			// It ended the session (end, a limit) as another connection
			// took over: no owner may come back to it, so it ends now.
			e.end(why)
		}
		return // another connection took over
	}
	e.owner = nil
	if !final && !e.ended && e.h.base.Err() == nil {
		grace := e.h.opts.Grace
		e.grace = time.AfterFunc(grace, func() {
			e.end(fmt.Sprintf("its page was away for more than %v, so its sockets were closed", grace))
		})
		e.mu.Unlock()
		e.log.Info("owner away: waiting for it", "grace", grace, "reason", err)
		return
	}
	e.mu.Unlock()
	if why == "" {
		why = "the server is shutting down"
	}
	e.end(why)
}

// end ends the session: its connections are closed with why, its sockets
// closed, and why it ended is remembered for a while. It is safe to call
// more than once; the first call's why stands.
func (e *entry) end(why string) {
	e.mu.Lock()
	if e.ended {
		e.mu.Unlock()
		return
	}
	e.ended = true
	if e.why == "" {
		e.why = why
	}
	why = e.why
	if e.grace != nil {
		e.grace.Stop()
	}
	for _, l := range e.links {
		l.timer.Stop()
	}
	owner := e.owner
	conns := make([]*conn, 0, len(e.watchers))
	for w := range e.watchers {
		conns = append(conns, w)
	}
	links := slices.Clone(e.links)
	unbase := e.unbase
	e.mu.Unlock()

	h := e.h
	h.mu.Lock()
	delete(h.sessions, e.sess.ID())
	h.tombs.add("s:"+e.sess.ID(), e.key, "the session ended: "+why)
	for _, l := range links {
		delete(h.links, l.secret)
		h.tombs.add("w:"+l.secret, "", "the session ended: "+why)
	}
	h.mu.Unlock()

	code, reason := CloseEnded, "the session ended: "+why
	if h.base.Err() != nil {
		// The server is stopping: every client is told so alike (§10).
		code, reason = websocket.StatusGoingAway, "the server is shutting down"
	}
	for _, w := range conns {
		w.kick(code, reason)
	}
	if owner != nil {
		owner.kick(code, reason)
	}
	e.sess.Close()
	unbase()
	e.release()
	h.opts.Metrics.SessionEnded(e)
	e.log.Info("session ended", "why", why)
	h.wg.Done()
}

// ending marks the session as ending for why: no owner may come back to
// it, and the connection that ends it ends it when it has closed.
func (e *entry) ending(why string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.why == "" {
		e.why = why
	}
}

// observe runs the lesson tracker on evs, skipping what it has seen.
func (e *entry) observe(evs []*session.Event) {
	e.trackMu.Lock()
	defer e.trackMu.Unlock()
	i := 0
	for i < len(evs) && evs[i].Seq <= e.tracked {
		i++
	}
	if i == len(evs) {
		return
	}
	e.tracked = evs[len(evs)-1].Seq
	if p := e.tracker.Observe(evs[i:]); p != nil {
		e.sess.LessonProgress(p)
	}
}

// addWatcher lets watcher c in through its link, or says why not.
func (e *entry) addWatcher(c *conn) (websocket.StatusCode, string) {
	e.mu.Lock()
	switch {
	case e.ended:
		e.mu.Unlock()
		return CloseEnded, "the session ended: " + e.why
	case c.link.closedWhy(time.Now()) != "":
		e.mu.Unlock()
		return CloseLink, c.link.closedWhy(time.Now())
	case len(e.watchers) >= e.h.opts.MaxWatchers:
		e.mu.Unlock()
		return websocket.StatusTryAgainLater, fmt.Sprintf("this session has as many watchers as it may (%d); try again later", e.h.opts.MaxWatchers)
	}
	e.watchers[c] = struct{}{}
	c.link.watchers++
	e.mu.Unlock()
	e.changed()
	return 0, ""
}

func (e *entry) removeWatcher(c *conn) {
	e.mu.Lock()
	_, ok := e.watchers[c]
	if ok {
		delete(e.watchers, c)
		c.link.watchers--
	}
	last := len(e.watchers) == 0
	e.mu.Unlock()
	if last {
		e.wire.drop()
	}
	if ok {
		e.changed()
	}
}

// isOwner reports whether c is the session's owner connection now.
func (e *entry) isOwner(c *conn) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.owner == c
}

// changed tells the owner, if connected, that its shares changed.
func (e *entry) changed() {
	e.mu.Lock()
	owner := e.owner
	e.mu.Unlock()
	if owner != nil {
		owner.sharesChanged()
	}
}

// share makes a watch link that lasts life (0: the default).
func (e *entry) share(life time.Duration) *session.Error {
	if life == 0 {
		life = DefaultLinkLife
	}
	now := time.Now()
	expires := now.Add(life)
	if max := e.h.opts.MaxAge; max > 0 && expires.After(e.start.Add(max)) {
		expires = e.start.Add(max) // the session ends then anyway
	}
	e.mu.Lock()
	if e.ended || e.why != "" {
		e.mu.Unlock()
		return session.Errorf(session.CodeBadState, "the session is ending: it makes no more watch links")
	}
	open := 0
	for _, l := range e.links {
		if l.closedWhy(now) == "" {
			open++
		}
	}
	if open >= MaxLinks {
		e.mu.Unlock()
		return session.Errorf(session.CodeLimit, "too many watch links: a session may have %d at once; revoke one first", MaxLinks)
	}
	if len(e.links) >= maxLinksEver {
		e.mu.Unlock()
		return session.Errorf(session.CodeLimit, "too many watch links: a session may make %d in all", maxLinksEver)
	}
	l := &link{e: e, id: "w" + strconv.Itoa(len(e.links)+1), secret: newID(), expires: expires}
	l.timer = time.AfterFunc(time.Until(expires), func() { e.expired(l) })
	e.links = append(e.links, l)
	// Under e.mu, so end, which lets go of e.links, cannot come between.
	e.h.mu.Lock()
	e.h.links[l.secret] = l
	e.h.mu.Unlock()
	e.mu.Unlock()
	e.log.Info("watch link made", "link", l.id, "expires", expires)
	return nil
}

// unshare revokes the link named id: its watchers are closed.
func (e *entry) unshare(id string) *session.Error {
	e.mu.Lock()
	i := slices.IndexFunc(e.links, func(l *link) bool { return l.id == id })
	if i < 0 {
		e.mu.Unlock()
		return session.Errorf(session.CodeBadField, "there is no watch link %q in this session", id)
	}
	l := e.links[i]
	l.revoked = true
	l.timer.Stop()
	gone := e.watchersOf(l)
	e.mu.Unlock()
	for _, w := range gone {
		w.kick(CloseLink, "the owner revoked this watch link")
	}
	e.log.Info("watch link revoked", "link", id)
	return nil
}

// expired closes the watchers of l, whose time is up.
func (e *entry) expired(l *link) {
	e.mu.Lock()
	why := l.closedWhy(time.Now())
	gone := e.watchersOf(l)
	e.mu.Unlock()
	for _, w := range gone {
		w.kick(CloseLink, why)
	}
	e.changed()
}

// watchersOf lists the watchers that came through l. e.mu must be held.
func (e *entry) watchersOf(l *link) []*conn {
	var out []*conn
	for w := range e.watchers {
		if w.link == l {
			out = append(out, w)
		}
	}
	return out
}

// Shares is the owner's view of its watch links (§15.4): a message, not
// an event.
type Shares struct {
	Type     string      `json:"type"` // "shares"
	ID       string      `json:"id,omitempty"`
	Watchers int         `json:"watchers"`
	Links    []ShareLink `json:"links"`
}

// ShareLink is one watch link that lets watchers in.
type ShareLink struct {
	Link     string `json:"link"`
	Watch    string `json:"watch"`
	Expires  int64  `json:"expires"` // µs since the Unix epoch
	Watchers int    `json:"watchers"`
}

func (e *entry) shares(id string) Shares {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := Shares{Type: "shares", ID: id, Watchers: len(e.watchers), Links: []ShareLink{}}
	now := time.Now()
	for _, l := range e.links {
		if l.closedWhy(now) == "" {
			s.Links = append(s.Links, ShareLink{Link: l.id, Watch: l.secret, Expires: l.expires.UnixMicro(), Watchers: l.watchers})
		}
	}
	return s
}

// wireCache keeps the latest events as watchers are sent them, encoded,
// so 50 watchers cost one encoding of each event, not 50. Watchers read at
// about the same place in the log; one far behind encodes for itself. The
// ring is made when the first watcher comes, and holds only small
// messages: a big payload costs a copy either way.
type wireCache struct {
	mu   sync.Mutex
	ring []wireMsg
}

type wireMsg struct {
	seq uint64
	bin bool
	b   []byte
}

const (
	wireRing   = 128
	wireCached = 1 << 10 // the largest message kept: most events are a few hundred bytes
)

// drop lets the ring go: the last watcher left.
func (w *wireCache) drop() {
	w.mu.Lock()
	w.ring = nil
	w.mu.Unlock()
}

// watcherOrigin is the Origin watchers are encoded for: no event's, so
// every "sent" carries its bytes.
const watcherOrigin = ^uint64(0)

// get returns e encoded for watchers, in buf or from the cache. The bytes
// must not be modified, and are valid until buf is next used.
func (w *wireCache) get(e *session.Event, buf *bytes.Buffer) (bool, []byte, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ring == nil {
		w.ring = make([]wireMsg, wireRing)
	}
	m := &w.ring[e.Seq%wireRing]
	if m.seq == e.Seq && m.b != nil {
		return m.bin, m.b, nil
	}
	buf.Reset()
	bin, err := encode(buf, e, watcherOrigin)
	if err != nil || buf.Len() > wireCached {
		return bin, buf.Bytes(), err
	}
	*m = wireMsg{seq: e.Seq, bin: bin, b: bytes.Clone(buf.Bytes())}
	return bin, m.b, nil
}

// shared reports whether the session has made a watch link.
func (e *entry) shared() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.links) > 0
}

// tombs remembers, for a while, why sessions and links went, so a page
// that comes back late is told why rather than "no such session". It is
// guarded by its Handler's mu.
type tombs struct {
	m     map[string]tomb
	order []string
}

type tomb struct {
	key string // the owner key, for a session: only its owner is told
	why string
	at  time.Time
}

func (t *tombs) add(name, key, why string) {
	if t.m == nil {
		t.m = map[string]tomb{}
	}
	now := time.Now()
	for len(t.order) > 0 && (len(t.order) >= maxTombs || now.Sub(t.m[t.order[0]].at) > tombLife) {
		delete(t.m, t.order[0])
		t.order = t.order[1:]
	}
	t.m[name] = tomb{key: key, why: why, at: now}
	t.order = append(t.order, name)
}

// why says why name went, if it is remembered and key is its key.
func (t *tombs) why(name, key string) string {
	tb, ok := t.m[name]
	if !ok || time.Since(tb.at) > tombLife || !same(key, tb.key) {
		return ""
	}
	return tb.why
}

// same compares secrets in constant time.
func same(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
