package server

import (
	"log/slog"
	"net"
	"net/netip"
	"time"

	"github.com/socketplayground/playground/internal/policy"

	"github.com/socketplayground/playground/internal/session"
)

// Config is everything the playground runs with. cmd/playground fills it
// from flags and the environment; tests fill it directly.
type Config struct {
	// Addr is the TCP address to serve HTTP on. Empty means DefaultAddr,
	// which only this machine can reach. An address such as 0.0.0.0:8080
	// lets anyone who can reach the host open sockets on it: only do that
	// inside a container or behind hosted mode's policy.
	Addr string
	// Hosts are the host names a request's Host header may name (without
	// the port), so that a DNS-rebinding page — a site whose name suddenly
	// resolves to 127.0.0.1 — cannot reach the playground from a browser.
	// Nil means DefaultHosts. "*" allows any host: never use it where a
	// browser on this machine visits other sites.
	Hosts []string
	// Mode is ModeLocal (the default: a person's own machine, every target
	// allowed) or ModeHosted (a public demo: the strict policy, caps and
	// checks of docs/deploy.md).
	Mode string
	// Policy holds hosted mode's rules: the operator's allowlist, the
	// listener pool and the per-session rates and quotas. Services' addresses
	// are filled in by Run. Ignored in local mode.
	Policy policy.Config
	// Caps bound sessions and their connections; zero fields take the
	// mode's defaults (DefaultCaps).
	Caps Caps
	// TrustedProxies are the peers whose X-Forwarded-For and
	// X-Forwarded-Proto are believed (a TLS-terminating proxy in front).
	// From any other peer those headers are ignored.
	TrustedProxies []netip.Prefix
	// Origins, if set, are the exact origins (scheme://host[:port]) whose
	// pages may open the WebSocket. Nil means the page's own origin.
	Origins []string
	// MetricsAddr, if set, serves /metrics on a separate listener (keep it
	// private). Otherwise local mode serves /metrics on Addr and hosted
	// mode does not serve it at all.
	MetricsAddr string
	// Services says which built-in practice services run, and on which
	// loopback ports. The zero value runs them all on their default ports
	// (services.Defaults).
	Services Services
	// Limits bound each session; zero fields take session.DefaultLimits.
	Limits session.Limits
	// MaxMessage is the largest WebSocket message accepted, in bytes. Zero
	// means bridge.DefaultMaxMessage (3 MiB) in local mode and
	// HostedMaxMessage (256 KiB) in hosted mode.
	MaxMessage int
	// Resolver resolves host names for sessions. Nil means the system's.
	Resolver session.Resolver
	// TLSCA names a PEM file of CA certificates that sessions' TLS connects
	// trust besides the system's roots: for devices whose certificates a
	// private CA issued (docs/protocol.md §16.4). Run reads it at start; a
	// file that cannot be read, or holds anything but certificates, stops
	// it. Empty means the system's roots only.
	TLSCA string
	// Logger receives the server's log. Nil discards it.
	Logger *slog.Logger
	// Version is shown on the page. Empty means "dev".
	Version string
	// TokenKey signs the page tokens. Nil means a random key per process.
	TokenKey []byte
}

// Modes.
const (
	ModeLocal  = "local"
	ModeHosted = "hosted"
)

// Caps bound sessions and their WebSocket connections. A zero field takes
// the mode's default; a negative one means no limit.
type Caps struct {
	// SessionsPerIP is how many sessions one client address (IPv6: one
	// /64) may have open at once; one more gets HTTP 429.
	SessionsPerIP int
	// Sessions is how many sessions may be open at once in all.
	Sessions int
	// MessageRate is how many requests per second one connection may send.
	MessageRate float64
	// IdleTimeout ends a session whose page sent no request for that long.
	IdleTimeout time.Duration
	// MaxAge ends a session that long after it started.
	MaxAge time.Duration
	// WriteTimeout drops a browser that does not take its events for that
	// long (one that stopped reading). It cannot be turned off: zero or
	// less takes the default.
	WriteTimeout time.Duration
	// PingInterval and PingTimeout: the server pings every client that
	// often, and drops one whose pong does not come within the timeout.
	PingInterval, PingTimeout time.Duration
	// Grace is how long a session waits for its page to come back after
	// its WebSocket goes (docs/protocol.md §15.2); its sockets stay open
	// meanwhile, and it still counts against SessionsPerIP and Sessions.
	Grace time.Duration
	// Watchers is how many watchers may be connected in all,
	// WatchersPerIP how many from one client address (IPv6: one /64), and
	// WatchersPerSession how many to one session. A watcher does not count
	// as a session of its address: a class behind one address can watch.
	Watchers, WatchersPerIP, WatchersPerSession int
}

// DefaultCaps returns the caps a mode runs with.
func DefaultCaps(mode string) Caps {
	if mode == ModeHosted {
		return Caps{SessionsPerIP: 4, Sessions: 2000, MessageRate: 100, IdleTimeout: 15 * time.Minute,
			MaxAge: 2 * time.Hour, WriteTimeout: 15 * time.Second, PingInterval: 30 * time.Second, PingTimeout: 30 * time.Second,
			Grace: 2 * time.Minute, Watchers: 5000, WatchersPerIP: 200, WatchersPerSession: 100}
	}
	return Caps{SessionsPerIP: -1, Sessions: 20000, MessageRate: -1, IdleTimeout: -1, MaxAge: -1,
		WriteTimeout: 30 * time.Second, PingInterval: 30 * time.Second, PingTimeout: 30 * time.Second,
		Grace: 2 * time.Minute, Watchers: 20000, WatchersPerIP: -1, WatchersPerSession: 200}
}

// withDefaults fills c's zero fields from the mode's defaults, and turns
// "no limit" (negative) into the zero the lower layers read as none.
func (c Caps) withDefaults(mode string) Caps {
	d := DefaultCaps(mode)
	pickI := func(v, def int) int {
		if v == 0 {
			v = def
		}
		return max(v, 0)
	}
	pickD := func(v, def time.Duration) time.Duration {
		if v == 0 {
			v = def
		}
		return max(v, 0)
	}
	c.SessionsPerIP = pickI(c.SessionsPerIP, d.SessionsPerIP)
	c.Sessions = pickI(c.Sessions, d.Sessions)
	if c.MessageRate == 0 {
		c.MessageRate = d.MessageRate
	}
	c.MessageRate = max(c.MessageRate, 0)
	c.IdleTimeout = pickD(c.IdleTimeout, d.IdleTimeout)
	c.MaxAge = pickD(c.MaxAge, d.MaxAge)
	c.WriteTimeout = pickD(c.WriteTimeout, d.WriteTimeout)
	if c.PingInterval == 0 { // negative stays: no pings
		c.PingInterval = d.PingInterval
	}
	c.PingTimeout = pickD(c.PingTimeout, d.PingTimeout)
	if c.Grace <= 0 { // a session always waits a little for its page
		c.Grace = d.Grace
	}
	c.Watchers = pickI(c.Watchers, d.Watchers)
	c.WatchersPerIP = pickI(c.WatchersPerIP, d.WatchersPerIP)
	if c.WatchersPerSession <= 0 {
		c.WatchersPerSession = d.WatchersPerSession
	}
	return c
}

// HostedMaxMessage is hosted mode's largest WebSocket message where the
// Config leaves it zero: room for a 64 KiB send spelled in hex.
const HostedMaxMessage = 256 << 10

// HostedLimits are the per-session limits hosted mode runs with where the
// Config leaves them zero: smaller than local mode's, as strangers share
// the host.
var HostedLimits = session.Limits{
	MaxSockets: 16,
	MaxSend:    64 << 10,
	SendQueue:  256 << 10,
	Window:     256 << 10,
	History:    64 << 10,
}

// Services says which built-in services run, and where.
type Services struct {
	// Ports maps a service name (services.Names) to its port. A service not
	// named takes its default port; 0 turns it off; -1 gives it a free port.
	Ports map[string]int
	// Free gives every service a free port, as tests need when several
	// servers run on one host.
	Free bool
	// None starts no service at all.
	None bool
	// LossRate is the share of datagrams the lossy echo drops, from 0 to 1.
	// Zero means 0.3.
	LossRate float64
}

// DefaultAddr is the HTTP address of a zero Config.
const DefaultAddr = "127.0.0.1:8080"

// DefaultHosts are the names under which this machine reaches itself.
var DefaultHosts = []string{"localhost", "127.0.0.1", "::1"}

var _ session.Resolver = (*net.Resolver)(nil)
