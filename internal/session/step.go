package session

import (
	"fmt"
	"syscall"
	"time"
)

// Step mode (docs/protocol.md §4.14): the socket API one call at a time.
// Every call is one system call on the socket's kernel socket, made the way
// a program's blocking, non-blocking or timed-out socket would make it.
// This file holds what is the same on every system; step_linux.go makes
// the calls, and step_other.go refuses them elsewhere.

// stepConn is the kernel socket behind a step-mode socket: an *os.File for
// one made by socket() or accept() and for a listener switched from live
// mode, or the net package's connection for a connection switched from
// live mode. Deadlines are how a blocked call is woken: by its timeout, by
// cancel, or by close.
type stepConn interface {
	SyscallConn() (syscall.RawConn, error)
	SetReadDeadline(time.Time) error
	SetWriteDeadline(time.Time) error
	Close() error
}

// timeoutMode is what settimeout chose: Python's None, 0, or a number.
type timeoutMode uint8

const (
	modeBlocking    timeoutMode = iota // settimeout(None): wait as long as it takes
	modeNonBlocking                    // settimeout(0): EAGAIN instead of waiting
	modeTimeout                        // settimeout(t): wait at most t
)

// blockedCall is a step-mode call waiting in the kernel.
type blockedCall struct {
	op        string
	since     time.Time
	cancelled bool   // by cancel
	wake      func() // makes the wait return now
}

// SocketArgs are the arguments of Socket.
type SocketArgs struct {
	Proto  string // "tcp" (SOCK_STREAM) or "udp" (SOCK_DGRAM)
	Family string // "ip4" (the default) or "ip6"
}

// MaxRecv is the most bytes one step-mode recv or recvfrom may ask for.
const MaxRecv = 256 << 10

// DefaultBacklog is listen's backlog when the request names none, as
// Python's socket.listen() uses (capped by net.core.somaxconn).
const DefaultBacklog = 128

// MaxBacklog is the largest backlog a listen may ask for.
const MaxBacklog = 4096

// Sockopts are the options setsockopt takes, with the values each allows.
var Sockopts = map[string]struct{ Min, Max int }{
	"SO_REUSEADDR": {0, 1},
	"SO_REUSEPORT": {0, 1},
	"SO_BROADCAST": {0, 1},
	"SO_KEEPALIVE": {0, 1},
	"SO_RCVBUF":    {1, 16 << 20},
	"SO_SNDBUF":    {1, 16 << 20},
	"TCP_NODELAY":  {0, 1},
	"IP_TTL":       {1, 255},
	"SO_LINGER":    {-1, 60},

	// Multicast (protocol.md §16.5); IP_MULTICAST_IF takes an interface name.
	"IP_MULTICAST_TTL":  {0, 255},
	"IP_MULTICAST_LOOP": {0, 1},
	"IP_MULTICAST_IF":   {0, 0},
}

// seconds formats d for a person: "2.4 s", "150 ms".
func seconds(d time.Duration) string {
	if d < time.Second {
		return fmt.Sprintf("%d ms", d.Milliseconds())
	}
	return fmt.Sprintf("%.1f s", d.Seconds())
}

// Cancel interrupts the call blocked on socket sock; that call's answer is
// a "cancelled" error.
func (s *Session) Cancel(req Req, sock int) {
	s.log.Append(&Event{Type: TypeCall, Op: "cancel", Sock: sock, ID: req.ID, Origin: req.Origin})
	sk, err := s.lookup(sock)
	if err != nil {
		s.fail(req, "cancel", sock, err)
		return
	}
	sk.mu.Lock()
	defer sk.mu.Unlock()
	b := sk.blocked
	if b == nil || b.cancelled {
		s.fail(req, "cancel", sock, Errorf(CodeBadState, "nothing is blocked on socket %d: cancel interrupts a step-mode call that is waiting", sock))
		return
	}
	s.log.Append(&Event{Type: TypeResult, Op: "cancel", Sock: sock, ID: req.ID, Origin: req.Origin})
	b.cancelled = true
	b.wake()
}

// stepLookup finds socket sock for a step-mode call op.
func (s *Session) stepLookup(op string, sock int) (*Socket, *Error) {
	sk, err := s.lookup(sock)
	if err != nil {
		return nil, err
	}
	sk.mu.Lock()
	step := sk.step
	sk.mu.Unlock()
	if !step {
		return nil, Errorf(CodeBadState, "socket %d is in live mode: %s is a step-mode call (switch it with step, or make a step-mode socket with socket)", sock, op)
	}
	return sk, nil
}
