package server

import (
	"log/slog"
	"net"

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
	// Mode is "local" (the default: a person's own machine). Hosted mode is
	// a later issue and is refused until it exists.
	Mode string
	// Services says which built-in practice services run, and on which
	// loopback ports. The zero value runs them all on their default ports
	// (services.Defaults).
	Services Services
	// Limits bound each session; zero fields take session.DefaultLimits.
	Limits session.Limits
	// MaxMessage is the largest WebSocket message accepted, in bytes. Zero
	// means bridge.DefaultMaxMessage (3 MiB).
	MaxMessage int
	// Resolver resolves host names for sessions. Nil means the system's.
	Resolver session.Resolver
	// Logger receives the server's log. Nil discards it.
	Logger *slog.Logger
	// Version is shown on the page. Empty means "dev".
	Version string
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
