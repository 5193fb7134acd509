package learn

import (
	"bytes"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/socketplayground/playground/internal/session"
)

// The lessons, in the order the page lists them: each makes one idea of a
// first course on sockets happen on a real kernel. Their checks judge the
// built-in services by what they do (the echo sends back what it got, the
// http service answers "HTTP/1."), never by their ports, and never assume
// a port of the learner's: hosted mode gives listeners ports from a pool.
//
// The kernel's TCP states (kernel events) exist on Linux only, as does
// step mode; a check that reads them cannot pass elsewhere.
func init() {
	lessons = []*Lesson{
		endpoint,
		handshake,
		accepting,
		byteCount,
		stream,
		refused,
		halfClose,
		backlog,
		blocking,
		datagrams,
		httpByHand,
		chat,
	}
}

// endpoint: an endpoint is an IP address and a port. Bind a TCP socket,
// listen, see the kernel put it in LISTEN, and name its port.
var endpoint = &Lesson{
	ID:       "endpoint",
	Steps:    []Step{{Hints: 2}, {Hints: 1}, {Ask: "number", Hints: 1}},
	Concepts: []string{"socket", "endpoint", "port", "bind", "listen"},
	Check: func(v *View) []session.LessonStep {
		out := make([]session.LessonStep, 3)
		for _, s := range v.Socks() {
			if s.Kind != session.KindTCPListener && s.Mode != "step" {
				continue
			}
			bound, ok := firstState(s, v.Start, session.StateBound, session.StateListening)
			if !ok || s.Local == "" {
				continue
			}
			out[0] = doneAt(bound, true)
			listen, ok := Saw(s.TCP, v.Start, "LISTEN")
			if !ok {
				listen, ok = Saw(s.States, v.Start, session.StateListening)
			}
			if !ok {
				continue
			}
			out[1] = doneAt(listen, true)
			if a := v.Answer(3); a != nil && answerIsPort(a.Lesson.Answer, s.Local) {
				out[2] = done(a)
			}
			break
		}
		return out
	},
}

// firstState returns the first of the socket's states after start that is
// one of want.
func firstState(s *Sock, start uint64, want ...string) (Mark, bool) {
	for _, m := range s.States {
		if m.Seq > start && slices.Contains(want, m.Value) {
			return m, true
		}
	}
	return Mark{}, false
}

// port returns the port of an address such as "127.0.0.1:5000" or
// "[::1]:5000", or 0.
func port(addr string) int {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return 0
	}
	return int(ap.Port())
}

// answerIsPort reports whether the learner's answer names addr's port.
func answerIsPort(answer, addr string) bool {
	n, ok := number(answer)
	return ok && n > 0 && n == port(addr)
}

// number reads a learner's answer as a whole number.
func number(answer string) (int, bool) {
	n, err := strconv.Atoi(strings.TrimSpace(answer))
	return n, err == nil
}

// better returns whichever progress has more steps done, a on a tie: a
// check that tries several sockets reports the one that got furthest.
func better(a, b []session.LessonStep) []session.LessonStep {
	if doneCount(b) > doneCount(a) {
		return b
	}
	return a
}

func doneCount(steps []session.LessonStep) int {
	n := 0
	for _, s := range steps {
		if s.Done {
			n++
		}
	}
	return n
}

// isClient reports whether s is a TCP socket of the session's own that is
// not an accepted connection: one that connects (or may).
func isClient(s *Sock) bool { return s.Kind == session.KindTCP && s.Parent == 0 }

// reaches reports whether a connection to remote arrives at a socket bound
// to local: the same port, and the same address or local's wildcard.
func reaches(remote, local string) bool {
	r, err := netip.ParseAddrPort(remote)
	if err != nil {
		return false
	}
	l, err := netip.ParseAddrPort(local)
	if err != nil || l.Port() != r.Port() {
		return false
	}
	return l.Addr().IsUnspecified() || l.Addr().Unmap() == r.Addr().Unmap()
}

// listenerAt returns the session's listener that a connection to remote
// reaches, or nil.
func listenerAt(v *View, remote string) *Sock {
	for _, s := range v.Socks() {
		if s.Kind == session.KindTCPListener && reaches(remote, s.Local) {
			return s
		}
	}
	return nil
}

// peerOf returns the session's socket at the other end of s's connection,
// or nil: the session holds both ends when it connected to itself.
func peerOf(v *View, s *Sock) *Sock {
	if s.Local == "" || s.Remote == "" {
		return nil
	}
	for _, p := range v.Socks() {
		if p != s && p.Kind == session.KindTCP && p.Local == s.Remote && p.Remote == s.Local {
			return p
		}
	}
	return nil
}

// failed returns the first error after the start with the given errno
// whose operation is one of ops.
func failed(v *View, errno string, ops ...string) *session.Event {
	return v.Find(func(e *session.Event) bool {
		return e.Type == session.TypeError && e.Errno == errno && slices.Contains(ops, e.Op)
	})
}

// asked returns the seq of the call that e answers, or e's own if there is
// none (View.Call).
func asked(v *View, e *session.Event) uint64 {
	if c := v.Call(e); c != nil {
		return c.Seq
	}
	return e.Seq
}

// of returns socket sock's events of type typ after seq, in order.
func of(v *View, sock int, typ session.Type, after uint64) []*session.Event {
	return v.FindAll(func(e *session.Event) bool { return e.Sock == sock && e.Type == typ && e.Seq > after })
}

// streamUntil returns TCP socket sock's event of type typ (sent or data)
// at which the bytes it sent or received after seq first satisfy ok, or
// nil. TCP delivers a stream, so what a check looks for may arrive in
// pieces.
//
// ok must hold of any bytes that contain bytes it holds of (as "contains
// this line" does): then the whole stream since the start tells at once
// whether any part of it will do, and the event that did it is found by
// halving, a few looks however many pieces the stream came in.
func streamUntil(v *View, sock int, typ session.Type, after uint64, ok func(b []byte) bool) *session.Event {
	s := v.Sock(sock)
	if s == nil {
		return nil
	}
	whole := s.Received
	if typ == session.TypeSent {
		whole = s.Sent
	}
	if !ok(whole) {
		return nil
	}
	evs := of(v, sock, typ, after)
	var b []byte
	ends := make([]int, len(evs)) // the bytes up to and including each event
	for i, e := range evs {
		b = appendCapped(b, e.Data)
		ends[i] = len(b)
	}
	if len(evs) == 0 || !ok(b) {
		return nil
	}
	return evs[sort.Search(len(evs), func(i int) bool { return ok(b[:ends[i]]) })]
}

// contains returns a predicate for streamUntil: the bytes hold want.
func contains(want []byte) func([]byte) bool {
	return func(b []byte) bool { return bytes.Contains(b, want) }
}
