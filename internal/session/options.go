package session

import (
	"context"
	"crypto/x509"
	"log/slog"
	"net"
	"net/netip"
	"time"

	"github.com/socketplayground/playground/internal/metrics"
	"github.com/socketplayground/playground/internal/policy"
)

// Limits bound what one session may hold. A zero field takes its default
// (DefaultLimits); no zero field means "unlimited".
type Limits struct {
	// MaxSockets is the most sockets a session may have open at once,
	// listeners and accepted connections included. Default 64.
	MaxSockets int
	// MaxSend is the largest payload of one send or sendto, in bytes.
	// Default 1 MiB.
	MaxSend int
	// SendQueue is how many bytes of sends may wait on one socket (say, for
	// a peer that does not read); a send beyond that is refused with code
	// "limit". Default 4 MiB.
	SendQueue int64
	// Window is how many bytes of events may be outstanding to the owner
	// before the session stops reading its sockets. Default 1 MiB.
	Window int64
	// History is how many bytes of delivered events the log keeps for
	// replay. Undelivered events are always kept. Default 4 MiB.
	History int64
	// ConnectTimeout is used when a connect names no timeout. Default 10s.
	ConnectTimeout time.Duration
}

// DefaultLimits are the limits for a zero Limits field.
var DefaultLimits = Limits{
	MaxSockets:     64,
	MaxSend:        1 << 20,
	SendQueue:      4 << 20,
	Window:         1 << 20,
	History:        4 << 20,
	ConnectTimeout: 10 * time.Second,
}

// WithDefaults returns l with every zero field set to its default.
func (l Limits) WithDefaults() Limits { return l.Or(DefaultLimits) }

// Or returns l with every field that is zero (or less) taken from d.
func (l Limits) Or(d Limits) Limits {
	if l.MaxSockets > 0 {
		d.MaxSockets = l.MaxSockets
	}
	if l.MaxSend > 0 {
		d.MaxSend = l.MaxSend
	}
	if l.SendQueue > 0 {
		d.SendQueue = l.SendQueue
	}
	if l.Window > 0 {
		d.Window = l.Window
	}
	if l.History > 0 {
		d.History = l.History
	}
	if l.ConnectTimeout > 0 {
		d.ConnectTimeout = l.ConnectTimeout
	}
	return d
}

// Resolver turns host names into addresses. *net.Resolver is one.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

var _ Resolver = (*net.Resolver)(nil)

// Policy decides whether an action is allowed, hands out the addresses a
// session may listen on, and paces its bytes. *policy.Policy is one; see
// package policy for what each method means.
type Policy interface {
	// Check is asked before every operation and every datagram.
	Check(policy.Action) error
	// CheckName is asked before a name (Action.Host) is resolved.
	CheckName(policy.Action) error
	// Reserve is asked before a listen or bind, and returns the address to
	// use (hosted mode gives out ports from a pool).
	Reserve(policy.Action) (netip.AddrPort, error)
	// Release gives back a port Reserve gave, when its socket ends.
	Release(session string, port uint16)
	// Wait blocks until n more bytes fit the session's byte rate.
	Wait(ctx context.Context, session string, n int) error
	// End forgets a session that ended.
	End(session string)
}

var _ Policy = (*policy.Policy)(nil)

// Options configure a new Session.
type Options struct {
	ID     string // shown in logs and events; required
	Limits Limits
	// Policy is asked before every operation. Nil means policy.Local().
	Policy Policy
	// Resolver resolves host names. Nil means net.DefaultResolver.
	Resolver Resolver
	// Logger receives diagnostics, never payload bytes. Nil discards them.
	Logger *slog.Logger
	// Metrics counts sockets, bytes, errors and refusals. Nil counts nothing.
	Metrics *metrics.Metrics
	// TLSRoots are the certificate authorities a TLS connect trusts besides
	// the system's roots (the server's -tls-ca file: devices with a private
	// CA). Nil means the system's roots only.
	TLSRoots *x509.CertPool
}

// Req identifies the request an operation answers: ID is echoed in the
// events it causes, Origin names the connection it came from.
type Req struct {
	ID     string
	Origin uint64

	// For one send of a repeat (repeat.go): the send's number, which its
	// sent event carries, and the repeat, which takes the send's failure
	// as its own answer instead of the send logging it.
	iter int
	rep  *repeat
}
