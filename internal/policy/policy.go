package policy

import (
	"context"
	"fmt"
	"net/netip"
	"time"
)

// Op names the socket operation being checked.
type Op string

const (
	OpConnect Op = "connect" // dial Addr
	OpListen  Op = "listen"  // listen on Addr
	OpAccept  Op = "accept"  // accept a connection from Addr
	OpBind    Op = "bind"    // bind a UDP socket to Addr
	OpSend    Op = "send"    // send Bytes on a connected socket to Addr
	OpSendTo  Op = "sendto"  // send one datagram of Bytes to Addr
	OpRecv    Op = "recv"    // Bytes were received on a socket (counted for quotas; never refused retroactively)

	OpSocket     Op = "socket"     // create a step-mode socket (no address)
	OpSetsockopt Op = "setsockopt" // set Option on a socket (no address)
	OpJoin       Op = "join"       // join or leave the multicast group Addr (its port 0) on a UDP socket
)

// Action is one operation a session wants to perform.
type Action struct {
	Session string         // the session's id
	Op      Op             // what it wants to do
	Addr    netip.AddrPort // the resolved address involved; may be invalid for OpRecv
	// Host is the name the person typed, when Addr came from resolving it;
	// "" when they typed a literal address. Hosted mode's host-name
	// allowlist rules match it.
	Host  string
	Bytes int // payload size, for send, sendto and recv
	// Option is the socket option OpSetsockopt sets, as its C name
	// ("SO_REUSEADDR").
	Option string
}

// Denied is the error returned for a refused action.
type Denied struct {
	Action Action
	// Rule is a stable snake_case key naming the rule that refused, for
	// metrics and tests: "private", "connect_rate", "outside_pool" and so
	// on (doc.go lists them all).
	Rule string
	// Reason is written for the person whose action was refused: it names
	// the address and says why, and what is allowed instead.
	Reason string
	// RetryAfter is, for a rate refusal, how long until the same action
	// would pass the rate; 0 for every other refusal.
	RetryAfter time.Duration
}

func (d *Denied) Error() string {
	if !d.Action.Addr.IsValid() {
		return fmt.Sprintf("policy: %s refused: %s", d.Action.Op, d.Reason)
	}
	return fmt.Sprintf("policy: %s %s refused: %s", d.Action.Op, d.Action.Addr, d.Reason)
}

// Policy is the set of rules a server runs with. The zero value allows every
// action, which is what local mode means: the person owns the machine.
// Hosted returns the policy for a server open to strangers.
//
// All methods are safe for concurrent use.
type Policy struct {
	// Name is shown to people ("local", "hosted").
	Name string

	h *hosted // nil in local mode
}

// Local returns the permissive policy for a person's own machine.
func Local() *Policy { return &Policy{Name: "local"} }

// Hosted reports whether p enforces hosted mode's rules.
func (p *Policy) Hosted() bool { return p.h != nil }

// Check reports whether the action is allowed, or a *Denied saying why not.
// It is called for every operation and every datagram; in hosted mode it
// also counts the action against the session's rates and byte quota.
//
// Local mode refuses only an action without an address (other than send
// and recv, whose address is optional); everything else is allowed.
func (p *Policy) Check(a Action) error {
	if p.h != nil {
		if d := p.h.check(a); d != nil {
			return d
		}
		return nil
	}
	if !a.Addr.IsValid() && !addressless(a.Op) {
		return &Denied{Action: a, Rule: "no_address", Reason: "no address"}
	}
	return nil
}

// Reserve is asked before a listen or bind (a.Op is OpListen or OpBind),
// before the socket exists, and returns the address to use. Local mode
// returns a.Addr unchanged. Hosted mode hands out loopback ports from the
// listener pool: port 0 means any free pool port; the port is then held by
// a.Session until Release or End. A session may reserve a port it already
// holds again (its TCP listener and UDP socket on one port); every
// successful Reserve is given back by one Release, and the port is free
// once the last is.
func (p *Policy) Reserve(a Action) (netip.AddrPort, error) {
	if p.h == nil {
		return a.Addr, nil
	}
	ap, d := p.h.reserve(a)
	if d != nil {
		return netip.AddrPort{}, d
	}
	return ap, nil
}

// CheckName is asked before a name is resolved, with the name in a.Host.
// Local mode resolves any name. Hosted mode resolves only "localhost" and
// the names of the allowlist's host rules, refused with Rule "name"
// otherwise: the server's resolver may know names inside its own network,
// and what they resolve to is shown to the person even when the address
// is then refused.
func (p *Policy) CheckName(a Action) error {
	if p.h == nil {
		return nil
	}
	host := normHost(a.Host)
	if host == "localhost" {
		return nil
	}
	for _, r := range p.h.allow {
		if r.host != "" && r.host == host {
			return nil
		}
	}
	return deny(a, "name", fmt.Sprintf("hosted mode resolves only localhost and the names on the operator's allowlist, not %q; %s",
		a.Host, p.h.reachText()))
}

// Release gives back one reservation of port by session, when the socket
// that held it ends (or never came to be); the port is free when the
// session's last reservation of it is given back. Releasing a port the
// session does not hold does nothing.
func (p *Policy) Release(session string, port uint16) {
	if p.h != nil {
		p.h.release(session, port)
	}
}

// Wait blocks until n more bytes fit the session's byte rate (both
// directions share it), or ctx ends, when it returns ctx.Err(). A payload
// larger than the bucket's burst waits only for a full bucket and leaves the
// rest as debt that the session's next Wait pays, so any size passes
// eventually. Local mode returns at once.
func (p *Policy) Wait(ctx context.Context, session string, n int) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if p.h == nil {
		return nil
	}
	return p.h.wait(ctx, session, n)
}

// End forgets a session that ended: its counters go and its pool ports are
// freed.
func (p *Policy) End(session string) {
	if p.h != nil {
		p.h.end(session)
	}
}

// Pool returns hosted mode's listener port range, inclusive; local mode has
// no pool and returns 0, 0.
func (p *Policy) Pool() (first, last uint16) {
	if p.h == nil {
		return 0, 0
	}
	return p.h.first, p.h.last
}

// Limits returns the limits in force, with defaults filled in. Local mode
// has no limits and returns the zero Limits.
func (p *Policy) Limits() Limits {
	if p.h == nil {
		return Limits{}
	}
	return p.h.limits
}

// addressless reports whether op is checked without an address.
func addressless(op Op) bool {
	return op == OpSend || op == OpRecv || op == OpSocket || op == OpSetsockopt
}
