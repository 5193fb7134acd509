package policy

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"
)

// The hosted listener pool when Config leaves it zero.
const (
	DefaultPoolFirst uint16 = 30000
	DefaultPoolLast  uint16 = 31999
)

// minBurst is the smallest token bucket Wait uses, so one large read or
// write never has to be split to pass.
const minBurst = 64 << 10

// Config is hosted mode's configuration. Its zero value is a usable hosted
// policy that reaches nothing but the listener pool: no services, an empty
// allowlist, the default pool and limits, and the host's own addresses read
// from its interfaces.
type Config struct {
	// Services are the built-in services' addresses (loopback, both
	// families); each exact address and port is always reachable. None may
	// use a port inside the pool.
	Services []netip.AddrPort
	// Allow is the operator's allowlist, built with ParseRule. Empty means
	// hosted sessions reach only the services and the pool. A prefix rule
	// that lies entirely inside a private or reserved range (say
	// 10.1.0.0/16:22) opens that range: that is the operator's choice, so
	// write such a rule only for a network strangers may reach.
	Allow []Rule
	// PoolFirst..PoolLast (inclusive) are the loopback ports hosted
	// sessions may listen and bind on. Both zero means DefaultPoolFirst..
	// DefaultPoolLast; otherwise both must be set, first <= last.
	PoolFirst, PoolLast uint16
	// OwnAddrs are this host's own addresses, refused as targets. Nil
	// means read them from the interfaces (net.InterfaceAddrs) once, in
	// Hosted; an empty non-nil slice means none (tests).
	OwnAddrs []netip.Addr
	// Limits are the per-session limits; each zero field takes its value
	// from DefaultHostedLimits, and a negative field means no limit.
	Limits Limits
	// Now tells the time for rates and the byte bucket. Nil means
	// time.Now; tests inject a fake clock.
	Now func() time.Time
}

// Limits bound what one session may do in hosted mode. A negative field
// means no limit; zero means the default (see DefaultHostedLimits).
type Limits struct {
	// ConnectsPerMinute is how many OpConnect checks a session may make in
	// any sliding 60 s, whether the target is then allowed or not.
	ConnectsPerMinute int
	// TargetsPerHour is how many distinct target addresses and ports
	// (connect and sendto, built-in services included) a session may reach
	// in any sliding hour.
	TargetsPerHour int
	// BytesPerSecond paces a session's bytes, both directions, through
	// Wait: a token bucket whose burst is one second's worth, at least
	// 64 KiB.
	BytesPerSecond int64
	// BytesPerSession is how many bytes a session may move in total, both
	// directions.
	BytesPerSession int64
	// ListenersPerSession is how many pool ports one session may hold at
	// once.
	ListenersPerSession int
}

// DefaultHostedLimits are hosted mode's limits where Config.Limits is zero.
var DefaultHostedLimits = Limits{
	ConnectsPerMinute:   60,
	TargetsPerHour:      30,
	BytesPerSecond:      256 << 10,
	BytesPerSession:     64 << 20,
	ListenersPerSession: 4,
}

// Hosted returns the policy for a server open to strangers (Name "hosted").
// It reads the interfaces' addresses when c.OwnAddrs is nil, and does no
// other I/O.
func Hosted(c Config) (*Policy, error) {
	h := &hosted{
		first:        c.PoolFirst,
		last:         c.PoolLast,
		services:     make(map[netip.AddrPort]struct{}),
		servicePorts: make(map[uint16]struct{}),
		own:          make(map[netip.Addr]struct{}),
		limits:       c.Limits.withDefaults(),
		now:          c.Now,
		ports:        make(map[uint16]string),
		sessions:     make(map[string]*sessionState),
	}
	if h.now == nil {
		h.now = time.Now
	}
	switch {
	case h.first == 0 && h.last == 0:
		h.first, h.last = DefaultPoolFirst, DefaultPoolLast
	case h.first == 0 || h.last == 0 || h.first > h.last:
		return nil, fmt.Errorf("policy: listener pool %d-%d: give both ports, first <= last, or neither for the default %d-%d",
			c.PoolFirst, c.PoolLast, DefaultPoolFirst, DefaultPoolLast)
	}
	for _, s := range c.Services {
		if !s.IsValid() || s.Port() == 0 {
			return nil, fmt.Errorf("policy: service address %q needs an address and a port", s)
		}
		ap := netip.AddrPortFrom(s.Addr().Unmap().WithZone(""), s.Port())
		if h.inPool(ap.Port()) {
			return nil, fmt.Errorf("policy: service %s uses a port inside the listener pool %d-%d", ap, h.first, h.last)
		}
		if _, dup := h.services[ap]; !dup { // TCP and UDP share an address
			h.serviceList = append(h.serviceList, ap)
		}
		h.services[ap] = struct{}{}
		if ap.Addr().IsLoopback() {
			h.servicePorts[ap.Port()] = struct{}{}
		}
	}
	for i, r := range c.Allow {
		if len(r.ports) == 0 {
			return nil, fmt.Errorf("policy: allowlist rule %d is empty; build rules with ParseRule", i+1)
		}
		h.allow = append(h.allow, r)
	}
	own := c.OwnAddrs
	if own == nil {
		var err error
		if own, err = interfaceAddrs(); err != nil {
			return nil, fmt.Errorf("policy: reading this host's addresses: %w", err)
		}
	}
	for _, a := range own {
		if a.IsValid() {
			h.own[a.Unmap().WithZone("")] = struct{}{}
		}
	}
	if bps := h.limits.BytesPerSecond; bps > 0 {
		h.burst = max(bps, minBurst)
	}
	h.reach = h.reachText()
	return &Policy{Name: "hosted", h: h}, nil
}

// interfaceAddrs reads the host's addresses from its interfaces: no network
// traffic, only the kernel's tables.
func interfaceAddrs() ([]netip.Addr, error) {
	ifas, err := net.InterfaceAddrs()
	if err != nil {
		return nil, err
	}
	var out []netip.Addr
	for _, ifa := range ifas {
		var ip net.IP
		switch v := ifa.(type) {
		case *net.IPNet:
			ip = v.IP
		case *net.IPAddr:
			ip = v.IP
		}
		if a, ok := netip.AddrFromSlice(ip); ok {
			out = append(out, a.Unmap())
		}
	}
	return out, nil
}

func (l Limits) withDefaults() Limits {
	d := DefaultHostedLimits
	if l.ConnectsPerMinute == 0 {
		l.ConnectsPerMinute = d.ConnectsPerMinute
	}
	if l.TargetsPerHour == 0 {
		l.TargetsPerHour = d.TargetsPerHour
	}
	if l.BytesPerSecond == 0 {
		l.BytesPerSecond = d.BytesPerSecond
	}
	if l.BytesPerSession == 0 {
		l.BytesPerSession = d.BytesPerSession
	}
	if l.ListenersPerSession == 0 {
		l.ListenersPerSession = d.ListenersPerSession
	}
	return l
}

// reachText says, for refusals, what a hosted session can reach.
func (h *hosted) reachText() string {
	var b strings.Builder
	b.WriteString("hosted mode reaches only the built-in services, the listener pool (loopback ports ")
	fmt.Fprintf(&b, "%d–%d) and the operator's allowlist", h.first, h.last)
	if len(h.allow) == 0 {
		b.WriteString(", which is empty on this server")
		return b.String()
	}
	b.WriteString(" (")
	const most = 8
	for i, r := range h.allow {
		if i == most {
			fmt.Fprintf(&b, "; and %d more", len(h.allow)-most)
			break
		}
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(r.String())
	}
	b.WriteString(")")
	return b.String()
}
