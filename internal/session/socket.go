package session

import (
	"context"
	"crypto/tls"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"time"

	"github.com/socketplayground/playground/internal/services/badnet"
)

// Socket is one socket of a session: a TCP connection, a TCP listener or a
// UDP socket. Its operations run one after another on the socket's own
// worker, in the order they were asked for, so a send is never overtaken by a
// later shutdown; the worker exists only while there is work.
type Socket struct {
	id     int
	kind   string
	parent int
	ctx    context.Context // cancelled when the socket is closed
	cancel context.CancelFunc
	// live is cancelled when the socket leaves live mode (or ends): live
	// mode's accept and read loops run under it.
	live     context.Context
	stopLive context.CancelFunc

	mu      sync.Mutex // guards everything below
	state   string
	rdShut  bool // read side finished: EOF from the peer, or shutdown(read)
	wrShut  bool // write side finished: shutdown(write)
	tcp     *net.TCPConn
	tls     *tls.Conn // a TLS connection over tcp (tls.go): sends, reads, shutdown and close go through it
	ln      *net.TCPListener
	udp     *net.UDPConn
	proxy   *badnet.Proxy
	local   netip.AddrPort
	remote  netip.AddrPort
	queue   []func()
	queued  int64  // payload bytes of sends waiting in queue
	running bool   // a worker goroutine is draining queue
	held    uint16 // the port the policy reserved for this socket, released when it ends

	liveDone chan struct{} // closed when live mode's loop for this socket returns; nil if none ran
	closing  bool          // step mode: close was asked for; a call that would block is interrupted instead
	drained  bool          // the session's byte quota stopped this socket's reading

	// Step mode (step.go).
	step    bool        // calls are made one at a time by the person
	fd      stepConn    // the kernel socket step calls use: an *os.File, or the live socket's net object
	family  string      // "ip4" or "ip6"
	tmode   timeoutMode // blocking, non-blocking or with a timeout
	timeout time.Duration
	blocked *blockedCall // the call waiting in the kernel, if any

	groups []membership // multicast groups joined (multicast.go)

	rep *repeat // the repeat running on this socket, if any (repeat.go)
}

// rawConn returns the kernel socket behind sk for system calls, or nil.
// sk.mu must be held.
func (sk *Socket) rawConnLocked() syscall.RawConn {
	var (
		rc  syscall.RawConn
		err error
	)
	switch {
	case sk.fd != nil:
		rc, err = sk.fd.SyscallConn()
	case sk.tcp != nil:
		rc, err = sk.tcp.SyscallConn()
	case sk.ln != nil:
		rc, err = sk.ln.SyscallConn()
	case sk.udp != nil:
		rc, err = sk.udp.SyscallConn()
	default:
		return nil
	}
	if err != nil {
		return nil
	}
	return rc
}

// isDone reports whether the socket has ended (closed or failed).
func (sk *Socket) isDone() bool {
	sk.mu.Lock()
	defer sk.mu.Unlock()
	return sk.doneLocked()
}

// kindNow returns sk's kind, which a step-mode listen changes.
func (sk *Socket) kindNow() string {
	sk.mu.Lock()
	defer sk.mu.Unlock()
	return sk.kind
}

// isStep reports whether sk is in step mode.
func (sk *Socket) isStep() bool {
	sk.mu.Lock()
	defer sk.mu.Unlock()
	return sk.step
}

func (sk *Socket) doneLocked() bool { return sk.state == StateClosed || sk.state == StateFailed }

// stateEvent returns a state event describing sk now. sk.mu must be held.
func (sk *Socket) stateEvent(state, reason string) *Event {
	sk.state = state
	e := &Event{Type: TypeState, Sock: sk.id, Kind: sk.kind, Parent: sk.parent, State: state, Reason: reason}
	if sk.step {
		e.Mode = "step"
	}
	if sk.local.IsValid() {
		e.Local = sk.local.String()
	}
	if sk.remote.IsValid() {
		e.Remote = sk.remote.String()
	}
	return e
}

// conn returns whichever kernel socket sk holds, or nil.
func (sk *Socket) conn() interface{ Close() error } {
	switch {
	case sk.tcp != nil:
		return sk.tcp
	case sk.ln != nil:
		return sk.ln
	case sk.udp != nil:
		return sk.udp
	case sk.proxy != nil:
		return sk.proxy
	case sk.fd != nil:
		return sk.fd
	}
	return nil
}

// enqueue runs f on sk's worker after every operation queued before it.
// bytes is the payload f will send, counted against Limits.SendQueue.
func (s *Session) enqueue(sk *Socket, bytes int64, f func()) *Error {
	sk.mu.Lock()
	if bytes > 0 && sk.queued+bytes > s.limits.SendQueue {
		q := sk.queued
		sk.mu.Unlock()
		return Errorf(CodeLimit, "send queue full: %d bytes are already waiting to be sent on socket %d (the peer is not reading fast enough); wait for \"sent\" events before sending more", q, sk.id)
	}
	sk.queue = append(sk.queue, f)
	sk.queued += bytes
	if sk.running {
		sk.mu.Unlock()
		return nil
	}
	sk.running = true
	sk.mu.Unlock()
	if !s.goroutine(func() { s.drain(sk) }) {
		// The session is closing. f is refused; but operations others
		// queued behind it meanwhile (they saw running set, and were told
		// they would run) must still run and answer: a repeat waits for its
		// send, a responder's call for its reply. This goroutine is their
		// worker. f was first in the queue: the queue is empty whenever no
		// worker runs.
		sk.mu.Lock()
		sk.queue[0] = nil
		sk.queue = sk.queue[1:]
		sk.queued -= bytes
		rest := len(sk.queue) > 0
		if !rest {
			sk.running, sk.queue = false, nil
		}
		sk.mu.Unlock()
		if rest {
			s.drain(sk)
		}
		return Errorf(CodeBadState, "the session is closing")
	}
	return nil
}

func (s *Session) drain(sk *Socket) {
	for {
		sk.mu.Lock()
		if len(sk.queue) == 0 {
			sk.running = false
			sk.queue = nil
			sk.mu.Unlock()
			return
		}
		f := sk.queue[0]
		sk.queue[0] = nil
		sk.queue = sk.queue[1:]
		sk.mu.Unlock()
		f()
	}
}

// dequeued returns n bytes of queue allowance once a send has run.
func (sk *Socket) dequeued(n int) {
	sk.mu.Lock()
	sk.queued -= int64(n)
	sk.mu.Unlock()
}

// closeSocket closes sk now: its kernel socket, any call waiting on it, and
// its reader. It logs the close as the result of req's call unless the socket
// had already ended. It reports whether this call closed it.
func (s *Session) closeSocket(sk *Socket, req Req, reason string, auto bool) bool {
	sk.mu.Lock()
	if sk.doneLocked() {
		sk.mu.Unlock()
		return false
	}
	c, tc := sk.conn(), sk.tls
	sk.cancel()
	if c != nil && tc == nil {
		c.Close()
	}
	if tc != nil {
		// Its reader stops now, though the connection stays open for the
		// close_notify below.
		sk.tcp.SetReadDeadline(time.Unix(1, 0))
	}
	s.log.Append(&Event{Type: TypeResult, Op: "close", Sock: sk.id, ID: req.ID, Origin: req.Origin, Auto: auto})
	s.log.Append(sk.stateEvent(StateClosed, reason))
	sk.mu.Unlock()
	if tc != nil {
		s.closeTLS(tc) // its close_notify may wait for the peer: not under sk.mu
	}
	s.forget(sk)
	return true
}

// failSocket ends sk because of err, which the caller has already logged.
func (s *Session) failSocket(sk *Socket, reason string) {
	sk.mu.Lock()
	if sk.doneLocked() {
		sk.mu.Unlock()
		return
	}
	c := sk.conn()
	sk.cancel()
	if c != nil {
		if sk.tcp != nil {
			// The connection is already broken; do not linger on unsent data.
			sk.tcp.SetLinger(0)
		}
		c.Close()
	}
	s.log.Append(sk.stateEvent(StateFailed, reason))
	sk.mu.Unlock()
	s.forget(sk)
}

// Close closes socket sock. Unless now is set, it first lets every send
// queued before it finish, as a program's close() follows its send()s; with
// now, queued sends are abandoned and reported as cancelled.
func (s *Session) CloseSocket(req Req, sock int, now bool) {
	s.log.Append(&Event{Type: TypeCall, Op: "close", Sock: sock, ID: req.ID, Origin: req.Origin, Now: now})
	sk, err := s.lookup(sock)
	if err != nil {
		s.fail(req, "close", sock, err)
		return
	}
	if !now && s.closeBlocked(req, sk) {
		return // a call was blocked on it: closing interrupts that call
	}
	if now {
		if !s.closeSocket(sk, req, "closed by you", false) {
			s.fail(req, "close", sock, Errorf(CodeBadState, "socket %d had already ended", sock))
		}
		return
	}
	if err := s.enqueue(sk, 0, func() {
		if !s.closeSocket(sk, req, "closed by you", false) {
			s.fail(req, "close", sock, Errorf(CodeBadState, "socket %d had already ended", sock))
		}
	}); err != nil {
		s.fail(req, "close", sock, err)
	}
}
